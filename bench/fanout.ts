/**
 * What does waiting for the jobs of a fleet cost, in requests and in time?
 *
 *   npx tsx bench/fanout.ts [servers=1000] [runs=3] [jobMs=3000]
 *
 * Each run starts a fresh emulator whose jobs end `jobMs` after they are created, and
 *   - action: runs `node dist/index.js` (Node 24, the runner's environment) with `poll-interval: 1`;
 *   - naive: in this process, the action's own CPH client pushes the same servers, then polls
 *     with one ShowJob per unfinished job per round (4 in flight, 1 s between rounds).
 * Printed: requests by kind, ListJobs calls per poll round, wall time, and how long after the last
 * job ended the run was over. Figures are medians over the runs (min–max beside some).
 *
 * Then the fleet scenario (bench/lib/fleet-scenario.ts): 1,000 servers of 1,200 chosen by name,
 * pre-flight, `rollout: 1%, 10%`. `--fleet` runs only that one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { staticCredentials } from '../src/auth/credentials.js';
import { DEFAULT_RETRY_POLICY } from '../src/http/retry.js';
import { createDispatcher } from '../src/http/transport.js';
import type { ClientContext } from '../src/huawei/context.js';
import { CphClient, type CphTarget } from '../src/huawei/cph.js';
import { jobState } from '../src/jobs/wait.js';
import { Redactor } from '../src/redact.js';
import { chunk, mapPool } from '../src/util/pool.js';
import {
  DEFAULT_CREDENTIALS,
  DEFAULT_PROJECT_ID,
  type Emulator,
  startEmulator,
} from '../test/emulator/index.js';
import { buildTar } from '../test/helpers/tar-builder.js';
import { actionEnv, DIST_ENTRY, emulatorInputs, REPO_ROOT, serverIds } from './lib/action-env.js';
import { fleetScenario, rounds } from './lib/fleet-scenario.js';
import {
  fileId,
  fixed,
  loadNote,
  measure,
  median,
  minMax,
  node24,
  nodeVersion,
  table,
} from './lib/measure.js';

const BUCKET = 'cph-bucket';
const OBJECT = 'releases/fanout.tar';
const POLL_MS = 1000;
const NAIVE_IN_FLIGHT = 4;

interface RunFigures {
  pushes: number;
  listJobs: number;
  showJobs: number;
  other: number;
  rounds: number;
  listPerRoundMax: number;
  listPerRoundMean: number;
  wallS: number;
  /** Last job's end → the run is over (process exit for the action). */
  afterLastEndS: number;
  /** Last job's end → the first poll request of the round that saw it. */
  detectS: number;
  ok: boolean;
}

async function freshEmulator(jobMs: number): Promise<Emulator> {
  const emu = await startEmulator({ defaultJobDurationMs: jobMs, discardObjectData: true });
  emu.obs.putObject(BUCKET, OBJECT, buildTar([{ path: 'data/', type: 'directory' }]));
  return emu;
}

function lastJobEnd(emu: Emulator): number {
  return Math.max(...emu.cph.jobs.map((j) => j.createdAt + j.durationMs));
}

function figures(emu: Emulator, wallMs: number, endedAt: number, ok: boolean): RunFigures {
  const counts = emu.countByOp();
  const polls = rounds(emu.requestsFor(['ListJobs', 'ShowJob']), POLL_MS);
  const listPerRound = polls.map((round) => round.filter((r) => r.op === 'ListJobs').length);
  const end = lastJobEnd(emu);
  const finalRound = polls[polls.length - 1];
  const total = Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
  const pushes = counts.PushShareFiles ?? 0;
  const listJobs = counts.ListJobs ?? 0;
  const showJobs = counts.ShowJob ?? 0;
  return {
    pushes,
    listJobs,
    showJobs,
    other: total - pushes - listJobs - showJobs,
    rounds: polls.length,
    listPerRoundMax: Math.max(0, ...listPerRound),
    listPerRoundMean: listPerRound.length ? listJobs / listPerRound.length : 0,
    wallS: wallMs / 1000,
    afterLastEndS: (endedAt - end) / 1000,
    detectS: finalRound ? (finalRound[0]!.time - end) / 1000 : Number.NaN,
    ok,
  };
}

async function runAction(node: string, servers: string[], jobMs: number): Promise<RunFigures> {
  const emu = await freshEmulator(jobMs);
  const { env, dispose } = actionEnv(
    emulatorInputs(emu, {
      'object-path': OBJECT,
      'server-ids': servers.join(','),
      'poll-interval': String(POLL_MS / 1000),
      'wait-timeout': '300',
    }),
  );
  try {
    const run = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
    const ok = run.code === 0 && emu.cph.jobs.length === servers.length;
    if (!ok) console.error(`action exited with ${run.code}:\n${run.stdout.slice(-2000)}\n${run.stderr}`);
    return figures(emu, run.wallMs, run.exitedAt, ok);
  } finally {
    dispose();
    await emu.close();
  }
}

async function runNaive(servers: string[], jobMs: number): Promise<RunFigures> {
  const emu = await freshEmulator(jobMs);
  const ctx: ClientContext = {
    dispatcher: createDispatcher(),
    credentials: staticCredentials(DEFAULT_CREDENTIALS),
    redactor: new Redactor(),
    timeoutMs: 30_000,
    retry: { ...DEFAULT_RETRY_POLICY, baseDelayMs: 10 },
    userAgent: 'cph-publish-bench/naive',
  };
  const target: CphTarget = { endpoint: new URL(emu.url), projectId: DEFAULT_PROJECT_ID };
  const cph = new CphClient(ctx, target);
  try {
    const started = performance.now();
    const pending = new Set<string>();
    for (const batch of chunk(servers, 100)) {
      const pushed = await cph.pushShareFiles({
        bucket: BUCKET,
        objectPath: OBJECT,
        serverIds: batch,
      });
      for (const job of pushed.jobs) if (job.job_id) pending.add(job.job_id);
    }
    const deadline = Date.now() + 300_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await sleep(POLL_MS);
      await mapPool([...pending], NAIVE_IN_FLIGHT, async (id) => {
        const job = await cph.showJob(id);
        if (jobState(job.status) !== 'running') pending.delete(id);
      });
    }
    const wallMs = performance.now() - started;
    return figures(emu, wallMs, Date.now(), pending.size === 0);
  } finally {
    await ctx.dispatcher.close();
    await emu.close();
  }
}

async function main(): Promise<void> {
  const fleetOnly = process.argv.includes('--fleet');
  const args = process.argv.slice(2).filter((a) => a !== '--fleet');
  const n = Number(args[0] ?? 1000);
  const runs = Number(args[1] ?? 3);
  const jobMs = Number(args[2] ?? 3000);
  const node = node24();
  if (fleetOnly) {
    await fleetScenario(node, runs, jobMs);
    return;
  }
  const servers = serverIds(n);
  console.log(
    `fanout: ${n} servers, jobs end ${jobMs} ms after creation, poll-interval ${POLL_MS / 1000} s, ` +
      `${runs} runs; action on ${nodeVersion(node)}, naive in this process on ${process.version}; ` +
      `dist/index.js ${fileId(DIST_ENTRY)}`,
  );
  console.log(`at the start: ${loadNote()}`);
  const action: RunFigures[] = [];
  const naive: RunFigures[] = [];
  for (let i = 0; i < runs; i++) {
    action.push(await runAction(node, servers, jobMs));
    naive.push(await runNaive(servers, jobMs));
    const a = action[i]!;
    const b = naive[i]!;
    console.log(
      `  run ${i + 1}: action ${fixed(a.wallS, 2)} s (${a.listJobs} ListJobs, ${a.rounds} rounds)` +
        `, naive ${fixed(b.wallS, 2)} s (${b.showJobs} ShowJob, ${b.rounds} rounds)`,
    );
  }
  const row = (name: string, rs: RunFigures[]) => {
    const m = (f: (r: RunFigures) => number, digits = 0) => fixed(median(rs.map(f)), digits);
    return [
      name,
      m((r) => r.pushes),
      m((r) => r.listJobs),
      m((r) => r.showJobs),
      m((r) => r.other),
      m((r) => r.rounds),
      m((r) => r.listPerRoundMax),
      m((r) => r.listPerRoundMean, 1),
      m((r) => r.wallS, 2),
      m((r) => r.detectS, 2),
      m((r) => r.afterLastEndS, 2),
      `${rs.filter((r) => r.ok).length}/${rs.length}`,
    ];
  };
  console.log();
  console.log(
    table([
      [
        'strategy',
        'PushShareFiles',
        'ListJobs',
        'ShowJob',
        'other',
        'rounds',
        'List/round max',
        'List/round mean',
        'wall s',
        'end→last round s',
        'end→done s',
        'ok',
      ],
      row('action', action),
      row(`naive ShowJob ×${NAIVE_IN_FLIGHT}`, naive),
    ]),
  );
  console.log();
  console.log(
    `medians of ${runs} runs; action wall ${minMax(action.map((r) => Math.round(r.wallS * 100) / 100))} s, ` +
      `end→done ${minMax(action.map((r) => Math.round(r.afterLastEndS * 100) / 100))} s. ` +
      '"end" = the last job\'s end (creation + duration, emulator clock); "done" = process exit ' +
      "(action) or the end of the last round (naive); the action's wall time includes Node start-up.",
  );
  console.log(
    'goal: ≤ 10 PushShareFiles and ≤ 10 ListJobs per round for 1,000 servers, done ≤ 2 s after the jobs end',
  );
  await fleetScenario(node, runs, jobMs);
  console.log(`at the end: ${loadNote()}`);
}

await main();
