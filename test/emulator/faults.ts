/**
 * Fault injection: rules consumed in the order they were added, each for a number of matching
 * requests. The server asks `take()` once per request, when the request head arrives.
 */
import type { FaultAction, FaultRule, Op } from './types.js';

/** Replaced by the request's own id when a fault body is sent. */
export const REQUEST_ID_PLACEHOLDER = '{{request_id}}';

interface ActiveRule {
  rule: FaultRule;
  remaining: number;
}

export class Faults {
  private rules: ActiveRule[] = [];

  /** Add a rule; returns `this` so calls chain. */
  add(rule: FaultRule): this {
    const times = rule.times === undefined ? 1 : rule.times === null ? Number.POSITIVE_INFINITY : rule.times;
    if (!(times > 0)) throw new Error(`fault rule times must be > 0, got ${rule.times}`);
    this.rules.push({ rule, remaining: times });
    return this;
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules not yet used up, with how many hits each has left. */
  pending(): Array<FaultRule & { remaining: number }> {
    return this.rules.filter((r) => r.remaining > 0).map((r) => ({ ...r.rule, remaining: r.remaining }));
  }

  /** The action for this request, consuming one hit of the first matching rule. */
  take(op: Op, partNumber: number | undefined): FaultAction | undefined {
    for (const active of this.rules) {
      if (active.remaining <= 0) continue;
      const { rule } = active;
      const ops = rule.op === '*' ? undefined : Array.isArray(rule.op) ? rule.op : [rule.op];
      if (ops && !ops.includes(op)) continue;
      if (rule.partNumber !== undefined && rule.partNumber !== partNumber) continue;
      active.remaining -= 1;
      return rule.action;
    }
    return undefined;
  }
}

export function describeFault(action: FaultAction): string {
  switch (action.kind) {
    case 'status':
      return `status:${action.status}`;
    case 'delay':
      return `delay:${action.ms}`;
    case 'refuse':
    case 'refuse-after':
      return `${action.kind}:${action.ms ?? 'held'}`;
    default:
      return action.kind;
  }
}

const APIG_MESSAGES: Record<string, string> = {
  'APIG.0301': 'Incorrect IAM authentication information: verify aksk signature fail',
  'APIG.0308':
    'The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute',
  'APIG.0201': 'Backend timeout.',
  'APIG.0202': 'Backend unavailable.',
  'APIG.0101': 'The API does not exist or has not been published in the environment.',
};

/** A gateway/CPS-style JSON error answer: `{"error_code","error_msg","request_id"}`. */
export function apigError(status: number, code: string, msg?: string): FaultAction {
  return {
    kind: 'status',
    status,
    body: JSON.stringify({
      error_code: code,
      error_msg: msg ?? APIG_MESSAGES[code] ?? `Emulated error ${code}`,
      request_id: REQUEST_ID_PLACEHOLDER,
    }),
    headers: { 'content-type': 'application/json;charset=UTF-8' },
  };
}

const OBS_MESSAGES: Record<string, string> = {
  InternalError: 'We encountered an internal error. Please try again.',
  ServiceUnavailable: 'Please reduce your request rate.',
  SlowDown: 'Please reduce your request rate.',
  AccessDenied: 'Access Denied',
  RequestTimeout:
    'Your socket connection to the server was not read from or written to within the timeout period.',
};

/** Escape XML text content (quotes stay literal, as in OBS's own `<ETag>"…"</ETag>`). */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function obsErrorXml(code: string, message: string, requestId: string, extra = ''): string {
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${extra}` +
    `<RequestId>${requestId}</RequestId><HostId>emulator-host-id</HostId></Error>`
  );
}

/** An OBS `<Error>` answer; with status 200 it is the "error inside a 200" case (no x-obs-error-code then). */
export function obsError(status: number, code: string, msg?: string): FaultAction {
  const headers: Record<string, string> = { 'content-type': 'application/xml' };
  if (status >= 300) headers['x-obs-error-code'] = code;
  return {
    kind: 'status',
    status,
    body: obsErrorXml(code, msg ?? OBS_MESSAGES[code] ?? `Emulated error ${code}`, REQUEST_ID_PLACEHOLDER),
    headers,
  };
}

/**
 * A CPH list page that ends early: a 200 holding `entries` (none by default) under `list`, and
 * `count` when given — ListCloudPhoneServers' `{"servers": [], "count": 3022}` that once made a run
 * push to 80 of 3,000 servers. Served instead of the real page, for `times` requests of the rule.
 */
export function shortPage(
  list: 'servers' | 'phone_models' | 'jobs',
  options: { count?: number; entries?: unknown[] } = {},
): FaultAction {
  const body: Record<string, unknown> = { request_id: REQUEST_ID_PLACEHOLDER };
  if (options.count !== undefined) body.count = options.count;
  body[list] = options.entries ?? [];
  return {
    kind: 'status',
    status: 200,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json;charset=UTF-8' },
  };
}
