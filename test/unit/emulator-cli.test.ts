import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { apigPrepare, send } from '../emulator/client.js';

describe('emulator CLI', () => {
  const work = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('prints its URL as one JSON line, serves the configured projects and exits on SIGTERM', async () => {
    const config = join(work, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        projects: [{ id: 'a'.repeat(32), name: 'ap-southeast-1' }],
        defaultJobDurationMs: 10,
      }),
    );
    const child = spawn(
      process.execPath,
      ['--import', './test/emulator/register.mjs', 'test/emulator/cli.ts', '--port', '0', '--config', config],
      { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      const ready = JSON.parse(first) as { url: string; projectId: string; region: string };
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(ready).toMatchObject({ projectId: 'a'.repeat(32), region: 'ap-southeast-1' });

      const res = await send(
        apigPrepare(ready.url, { method: 'GET', path: '/v3/projects', query: { name: 'ap-southeast-1' } }),
      );
      expect(res.json<{ projects: Array<{ id: string }> }>().projects.map((p) => p.id)).toEqual([
        'a'.repeat(32),
      ]);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
