/** The run's client context logs retry notices and the like through logSafe: outside text stays on its line. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../../src/http/retry.js';
import { Redactor } from '../../../src/redact.js';
import { clientContext } from '../../../src/run/context.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('clientContext', () => {
  it('logs a message holding a new line and a workflow command as one escaped line', () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    });
    const ctx = clientContext({
      redactor: new Redactor(),
      signal: new AbortController().signal,
      timeoutMs: 1000,
      retry: DEFAULT_RETRY_POLICY,
    });
    ctx.log?.('CPH ListJobs: busy\n::error::x ##[error]y; retrying');
    vi.restoreAllMocks();
    const lines = stdout.split(/\r?\n/).filter(Boolean);
    expect(lines).toEqual(['CPH ListJobs: busy\\n:\\u{3a}error:\\u{3a}x ##\\u{5b}error]y; retrying']);
  });
});
