import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceMappedStack } from '../../../src/util/stack.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cph-stack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A map of a two-line bundle: line 1 col 0 ← src/a.ts 10:4; line 2 col 6 ← webpack://x/./src/b.ts 3:0.
// VLQ: "AASI" = [0,0,9,4]; "MCPJ" = [6,1,-7,-4], relative to the segment before.
const MAP = {
  version: 3,
  file: 'index.js',
  sources: ['../src/a.ts', 'webpack://cph-publish/./src/b.ts'],
  names: [],
  mappings: 'AASI;MCPJ',
};

function bundle(name: string, withMap: boolean): string {
  const file = path.join(dir, name);
  writeFileSync(file, 'x\n      y\n');
  if (withMap) writeFileSync(`${file}.map`, JSON.stringify(MAP));
  return pathToFileURL(file).href;
}

describe('sourceMappedStack', () => {
  it('rewrites the frames that point into the bundle, by URL and by path, and keeps the others', () => {
    const url = bundle('index.js', true);
    const file = new URL(url).pathname;
    const stack = [
      'Error: boom',
      `    at run (${url}:1:1)`,
      `    at ${file}:2:7`,
      '    at node:internal/process/task_queues:95:5',
      '    at other (/elsewhere/lib.js:1:1)',
    ].join('\n');
    expect(sourceMappedStack(stack, url)).toBe(
      [
        'Error: boom',
        '    at run (src/a.ts:10:5)',
        '    at src/b.ts:3:1',
        '    at node:internal/process/task_queues:95:5',
        '    at other (/elsewhere/lib.js:1:1)',
      ].join('\n'),
    );
  });

  it('returns the stack unchanged when the bundle has no map', () => {
    const url = bundle('plain.js', false);
    const stack = `Error: boom\n    at run (${url}:1:1)`;
    expect(sourceMappedStack(stack, url)).toBe(stack);
  });
});
