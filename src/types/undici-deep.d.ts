/**
 * undici's index loads fetch, WebSocket, caches and mocks as well; the action
 * needs only the proxy-aware agent and `request`, so it imports those two
 * modules directly (undici has no `exports` map, so the paths are public
 * files). That halves undici's share of dist/index.js (562 kB → 321 kB).
 */
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  import type { EnvHttpProxyAgent } from 'undici';

  const Agent: typeof EnvHttpProxyAgent;
  export default Agent;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  /** Dispatcher.prototype.request, unbound: call it with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}

declare module 'undici/lib/api/api-connect.js' {
  import type { Dispatcher } from 'undici';

  /** Dispatcher.prototype.connect, unbound (ProxyAgent calls it on its proxy client). */
  function connect(this: Dispatcher, options: Dispatcher.ConnectOptions): Promise<Dispatcher.ConnectData>;
  export default connect;
}

declare module 'undici/lib/dispatcher/dispatcher.js' {
  import type { Dispatcher } from 'undici';

  const DispatcherBase: typeof Dispatcher;
  export default DispatcherBase;
}
