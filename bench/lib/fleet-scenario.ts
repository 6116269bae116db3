/**
 * The fleet scenario of bench/fanout.ts: 1,000 servers in a project of 1,200, chosen by
 * `server-names`, with pre-flight and `rollout: 1%, 10%` (stages of 10, 90 and 900 servers).
 *
 * Printed per run: list calls (goal ≤ 12 ListCloudPhoneServers + 1 ListCloudPhoneModels),
 * PushShareFiles calls, ListJobs calls per poll round (goal ≤ 10), and, for each stage boundary,
 * the time from the stage's last job end to the next stage's first push, both on the emulator's
 * clock (goal ≤ one poll interval + 1 s).
 */
import { planStages } from '../../src/fleet/stages.js';
import { type Emulator, type RecordedRequest, startEmulator } from '../../test/emulator/index.js';
import { makeFleet, PHONE_MODELS } from '../../test/helpers/fleet.js';
import { buildTar } from '../../test/helpers/tar-builder.js';
import { actionEnv, DIST_ENTRY, emulatorInputs, REPO_ROOT } from './action-env.js';
import { fixed, measure, median, table } from './measure.js';

const OBJECT = 'releases/fleet.tar';
const POLL_MS = 1000;
const STAGES = [{ percent: 1 }, { percent: 10 }];

export interface FleetFigures {
  ok: boolean;
  serverLists: number;
  modelLists: number;
  pushes: number;
  listJobs: number;
  listPerRoundMax: number;
  /** Per stage boundary: last job end of stage N → first push of stage N+1, seconds. */
  gapsS: number[];
  wallS: number;
}

/** 1,000 `game-prod-*` servers and 200 others, interleaved, all running with shared storage. */
function project() {
  const prod = makeFleet('game-prod', 1000);
  const other = makeFleet('game-staging', 200);
  return prod.flatMap((s, i) => (i % 5 === 4 ? [s, other[(i - 4) / 5]!] : [s]));
}

/** Poll requests grouped into rounds: a gap of more than half the interval starts a new round. */
export function rounds(requests: RecordedRequest[], pollMs = POLL_MS): RecordedRequest[][] {
  const out: RecordedRequest[][] = [];
  let last = -Infinity;
  for (const r of [...requests].sort((a, b) => a.time - b.time)) {
    if (r.time - last > pollMs / 2) out.push([]);
    out[out.length - 1]!.push(r);
    last = r.time;
  }
  return out;
}

function gaps(emu: Emulator): number[] {
  const stages = planStages(1000, STAGES);
  const stageOf = new Map<string, number>();
  const pushed = emu.cph.pushes.flatMap((p) => p.serverIds);
  for (const stage of stages)
    for (const id of pushed.slice(stage.from, stage.to)) stageOf.set(id, stage.number);
  const timeline = emu.cph.timeline();
  const out: number[] = [];
  for (const stage of stages.slice(0, -1)) {
    const lastEnd = Math.max(
      ...timeline
        .filter((e) => e.kind === 'job-end' && stageOf.get(e.serverId) === stage.number)
        .map((e) => e.at),
    );
    const firstPush = Math.min(
      ...timeline
        .filter((e) => e.kind === 'push' && stageOf.get(e.serverIds[0]!) === stage.number + 1)
        .map((e) => e.at),
    );
    out.push((firstPush - lastEnd) / 1000);
  }
  return out;
}

async function runOnce(node: string, jobMs: number): Promise<FleetFigures> {
  const emu = await startEmulator({
    defaultJobDurationMs: jobMs,
    discardObjectData: true,
    servers: project(),
    phoneModels: PHONE_MODELS,
  });
  emu.obs.putObject('cph-bucket', OBJECT, buildTar([{ path: 'data/', type: 'directory' }]));
  // Durations spread over one poll interval, so a stage's last job does not end in step with the polls.
  for (const [i, s] of emu.servers.entries())
    emu.phones.set(s.server_id, { durationMs: jobMs + ((i * 337) % 1000) });
  const { env, dispose } = actionEnv(
    emulatorInputs(emu, {
      'object-path': OBJECT,
      'server-names': 'game-prod-*',
      preflight: 'true',
      rollout: '1%, 10%',
      'poll-interval': String(POLL_MS / 1000),
      'wait-timeout': '300',
    }),
  );
  try {
    const run = await measure(node, [DIST_ENTRY], { env, cwd: REPO_ROOT });
    const counts = emu.countByOp();
    const perRound = rounds(emu.requestsFor(['ListJobs', 'ShowJob'])).map(
      (round) => round.filter((r) => r.op === 'ListJobs').length,
    );
    const ok = run.code === 0 && emu.cph.jobs.length === 1000;
    if (!ok) console.error(`action exited with ${run.code}:\n${run.stdout.slice(-2000)}\n${run.stderr}`);
    return {
      ok,
      serverLists: counts.ListCloudPhoneServers ?? 0,
      modelLists: counts.ListCloudPhoneModels ?? 0,
      pushes: counts.PushShareFiles ?? 0,
      listJobs: counts.ListJobs ?? 0,
      listPerRoundMax: Math.max(0, ...perRound),
      gapsS: gaps(emu),
      wallS: run.wallMs / 1000,
    };
  } finally {
    dispose();
    await emu.close();
  }
}

export async function fleetScenario(node: string, runs: number, jobMs: number): Promise<void> {
  console.log(
    `\nfleet: 1,000 servers named game-prod-* in a project of 1,200, pre-flight on, rollout 1%, 10% ` +
      `(stages of 10, 90, 900), jobs end ${jobMs}–${jobMs + 999} ms after creation, poll-interval ${POLL_MS / 1000} s, ${runs} runs`,
  );
  const all: FleetFigures[] = [];
  for (let i = 0; i < runs; i++) {
    const f = await runOnce(node, jobMs);
    all.push(f);
    console.log(
      `  run ${i + 1}: ${fixed(f.wallS, 2)} s, gaps ${f.gapsS.map((g) => fixed(g, 2)).join(' / ')} s${f.ok ? '' : ' (FAILED)'}`,
    );
  }
  const m = (f: (r: FleetFigures) => number, digits = 0) => fixed(median(all.map(f)), digits);
  console.log();
  console.log(
    table([
      [
        'ListCloudPhoneServers',
        'ListCloudPhoneModels',
        'PushShareFiles',
        'ListJobs',
        'List/round max',
        'gap 1→2 s',
        'gap 2→3 s',
        'wall s',
        'ok',
      ],
      [
        m((r) => r.serverLists),
        m((r) => r.modelLists),
        m((r) => r.pushes),
        m((r) => r.listJobs),
        m((r) => r.listPerRoundMax),
        m((r) => r.gapsS[0] ?? Number.NaN, 2),
        m((r) => r.gapsS[1] ?? Number.NaN, 2),
        m((r) => r.wallS, 2),
        `${all.filter((r) => r.ok).length}/${all.length}`,
      ],
    ]),
  );
  console.log(
    `medians of ${runs} runs; "gap" = a stage's last job end → the next stage's first push (emulator clock). ` +
      'goal: ≤ 12 server lists + 1 phone-models call, ≤ 10 ListJobs per round, gap ≤ poll interval + 1 s',
  );
}
