/**
 * Helpers shared by the benches: the Node 24 binary the action runs on, a child process measured
 * from spawn to exit with its peak RSS, medians and plain-text tables.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The runtime of `runs.using: node24`: BENCH_NODE, this Node when it is ≥ 24, else Node 24 from npx. */
export function node24(): string {
  if (process.env['BENCH_NODE']) return process.env['BENCH_NODE'];
  if (Number(process.versions.node.split('.')[0]) >= 24) return process.execPath;
  const out = execFileSync('npx', ['-y', '-p', 'node@24', '--', 'node', '-p', 'process.execPath'], {
    encoding: 'utf8',
  });
  return out.trim().split('\n').pop() as string;
}

export function nodeVersion(bin: string): string {
  return execFileSync(bin, ['-v'], { encoding: 'utf8' }).trim();
}

/** GNU time gives the exact ru_maxrss of the child; without it /proc is polled every 50 ms. */
const GNU_TIME = '/usr/bin/time';
export const RSS_METHOD = existsSync(GNU_TIME)
  ? 'ru_maxrss of the child (GNU time %M)'
  : 'max VmHWM of /proc/<pid>/status polled every 50 ms';

export interface Line {
  /** Arrival time of the line at this process (ms since epoch). */
  at: number;
  text: string;
}

export interface Measured {
  code: number | null;
  /** Date.now() just before spawn and at the exit event. */
  spawnedAt: number;
  exitedAt: number;
  /** performance.now() difference between the same two points. */
  wallMs: number;
  peakRssMiB: number;
  /** User + system CPU time of the child (GNU time %U + %S, 10 ms resolution); NaN without GNU time. */
  cpuMs: number;
  stdout: string;
  stderr: string;
  lines: Line[];
}

export interface MeasureOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Called for each stdout line as it arrives. */
  onLine?: (line: Line) => void;
}

function readHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export async function measure(
  command: string,
  args: string[],
  options: MeasureOptions = {},
): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const dir = useTime ? mkdtempSync(join(tmpdir(), 'cph-bench-time-')) : undefined;
  const timeFile = dir ? join(dir, 'rss') : '';
  const [file, argv] = useTime
    ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args]]
    : [command, args];
  const lines: Line[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const child = spawn(file, argv, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let hwm = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        hwm = Math.max(hwm, readHwmKiB(child.pid as number));
      }, 50);
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    const at = Date.now();
    stdout += d;
    const parts = (partial + d).split('\n');
    partial = parts.pop() as string;
    for (const text of parts) {
      const line = { at, text };
      lines.push(line);
      options.onLine?.(line);
    }
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  let exitedAt = 0;
  let wallMs = 0;
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => {
      exitedAt = Date.now();
      wallMs = performance.now() - t0;
      resolve(c);
    });
  });
  // Let the pipes drain before reading the output.
  await new Promise((resolve) =>
    child.stdout.readableEnded ? resolve(null) : child.stdout.once('end', resolve),
  );
  clearTimeout(timer);
  if (poll) clearInterval(poll);
  if (partial) lines.push({ at: exitedAt, text: partial });
  let peakKiB = hwm;
  let cpuMs = Number.NaN;
  if (dir) {
    // With a non-zero exit GNU time writes "Command exited with non-zero status N" first.
    const text = readFileSync(timeFile, 'utf8').trim().split('\n');
    const [maxrss, user, sys] = (text[text.length - 1] ?? '').split(' ').map(Number);
    peakKiB = maxrss ?? Number.NaN;
    cpuMs = ((user ?? Number.NaN) + (sys ?? Number.NaN)) * 1000;
    rmSync(dir, { recursive: true, force: true });
  }
  return { code, spawnedAt, exitedAt, wallMs, peakRssMiB: peakKiB / 1024, cpuMs, stdout, stderr, lines };
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function minMax(values: number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? `${Math.min(...finite)}–${Math.max(...finite)}` : '-';
}

/** A plain-text table: first row is the header, numbers right-aligned. */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i > 0 && /^[-\d.,×%~≤ ]+$/.test(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(fmt)].join('\n');
}

export const fixed = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';

/** Size and short SHA-256 of a file: which bundle a run measured, since dist/ may be rebuilt meanwhile. */
export function fileId(path: string): string {
  const bytes = readFileSync(path);
  return `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;
}

/** The machine is shared: say how busy it was when the figures were taken. */
export function loadNote(): string {
  const [one, five] = loadavg();
  return `load average ${fixed(one ?? 0, 2)} (1 min), ${fixed(five ?? 0, 2)} (5 min) on ${cpus().length} cores`;
}
