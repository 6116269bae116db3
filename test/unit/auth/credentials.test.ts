import { describe, expect, it } from 'vitest';
import { staticCredentials } from '../../../src/auth/credentials.js';

describe('staticCredentials', () => {
  it('hands out the same keys on every call and says they are keys, not temporary', async () => {
    const keys = { accessKeyId: 'AK1', secretAccessKey: 'SK1' };
    const provider = staticCredentials(keys);
    expect(provider.info).toEqual({ method: 'keys', temporary: false });
    expect(await provider.get()).toEqual(keys);
    expect(await provider.get()).toBe(await provider.get());
  });

  it('with a security token the keys are temporary', async () => {
    const keys = { accessKeyId: 'AK1', secretAccessKey: 'SK1', securityToken: 'TOKEN' };
    const provider = staticCredentials(keys);
    expect(provider.info).toEqual({ method: 'keys', temporary: true });
    expect((await provider.get()).securityToken).toBe('TOKEN');
  });
});
