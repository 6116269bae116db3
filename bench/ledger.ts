/**
 * What do the ledger and prune cost at fleet scale?
 *
 *   npx tsx bench/ledger.ts [servers=1000] [runs=5]
 *
 * Printed, from the pure modules the action uses (src/ledger/*):
 *   - DeleteShareFiles calls for `servers` servers that held a mix of previous bundles, against
 *     ⌈servers per path set / batch-size⌉ × ⌈paths / 100⌉ summed over the path sets, for
 *     batch-size 100 and 7;
 *   - the ledger's size at 1,000 / 20,000 servers, and the time to parse, merge and write it;
 *   - the time to diff two 50,000-entry manifests (pruneSet) and to parse one;
 *   - a whole run's ledger traffic for `servers` servers in 3 stages with prune (LedgerSession over
 *     an in-memory bucket and CPH): ledger reads and writes, manifest reads, DeleteShareFiles calls.
 * Times are medians over `runs` (min–max beside them). Not timed assertions: figures to read.
 */
import { performance } from 'node:perf_hooks';
import {
  emptyLedger,
  type Ledger,
  type LedgerEntry,
  mergeLedgers,
  parseLedger,
  recordStage,
  serializeLedger,
} from '../src/ledger/ledger.js';
import {
  type Manifest,
  type ManifestEntry,
  parseManifest,
  serializeManifest,
} from '../src/ledger/manifest.js';
import { deleteCalls, MAX_PATHS_PER_CALL, pruneSet } from '../src/ledger/prune.js';
import { LedgerSession } from '../src/ledger/session.js';
import { fixed, loadNote, median, minMax, table } from './lib/measure.js';

const servers = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);

const sha = (n: number) => n.toString(16).padStart(64, '0');
const serverId = (i: number) => i.toString(16).padStart(32, '0');

/** A bundle of `dirs` directories of `files` files, minus what `drop` says. */
function manifest(dirs: number, files: number, drop: (d: number, f: number) => boolean = () => false) {
  const entries: ManifestEntry[] = [{ path: '/data/game', type: 'dir', size: 0 }];
  for (let d = 0; d < dirs; d++) {
    if (drop(d, -1)) continue;
    entries.push({ path: `/data/game/d${String(d).padStart(4, '0')}`, type: 'dir', size: 0 });
    for (let f = 0; f < files; f++) {
      if (!drop(d, f)) {
        entries.push({
          path: `/data/game/d${String(d).padStart(4, '0')}/f${f}.bin`,
          type: 'file',
          size: 4096,
        });
      }
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function time(fn: () => unknown): { ms: number[]; last: unknown } {
  const ms: number[] = [];
  let last: unknown;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    last = fn();
    ms.push(Math.round((performance.now() - start) * 10) / 10);
  }
  return { ms, last };
}

console.log(`bench/ledger.ts — Node ${process.version}, ${loadNote()}\n`);

// --- DeleteShareFiles calls -----------------------------------------------------------------------
// The new bundle N; previous bundles: v3 on 55 % of the servers (N dropped 250 files of it), v2 on
// 30 % (N dropped 12 whole directories), v1 on 10 % (both), 5 % never published (nothing to delete).
const next = manifest(40, 25);
const previous = {
  v3: manifest(40, 25).concat(
    Array.from({ length: 250 }, (_, i) => ({
      path: `/data/game/d${String(i % 10).padStart(4, '0')}/extra-${i}.bin`,
      type: 'file' as const,
      size: 1,
    })),
  ),
  v2: manifest(52, 25),
  v1: manifest(52, 26),
};
const share = [
  ['v3', 0.55],
  ['v2', 0.3],
  ['v1', 0.1],
] as const;
const perServer = new Map<string, string[]>();
const setSizes = new Map<string, { servers: number; paths: number }>();
let assigned = 0;
for (const [name, fraction] of share) {
  const paths = pruneSet(previous[name], next).delete;
  const count = Math.round(servers * fraction);
  setSizes.set(name, { servers: count, paths: paths.length });
  for (let i = 0; i < count; i++) perServer.set(serverId(assigned++), paths);
}
const rows: (string | number)[][] = [['batch-size', 'path set', 'servers', 'paths', 'formula', 'calls']];
for (const batch of [100, 7]) {
  const calls = deleteCalls(perServer, batch);
  let expected = 0;
  for (const [name, { servers: s, paths: p }] of setSizes) {
    const formula = Math.ceil(s / batch) * Math.ceil(p / MAX_PATHS_PER_CALL);
    expected += formula;
    rows.push([batch, name, s, p, formula, '']);
  }
  rows.push([batch, 'all', assigned, '', expected, calls.length]);
}
console.log(
  `DeleteShareFiles calls for ${servers} servers (${servers - assigned} without a previous bundle: no call)`,
);
console.log(table(rows));

// --- The ledger ------------------------------------------------------------------------------------
function ledgerOf(n: number): Ledger {
  const stamp = { at: '2026-12-03T10:00:00.000Z', run: 'example/game/123456789/1', ref: 'refs/tags/v1.2.3' };
  return recordStage(
    emptyLedger(),
    Array.from({ length: n }, (_, i) => ({ serverId: serverId(i), stale: [] })),
    { object: 'releases/game-1.2.3.tar', sha256: sha(1), size: 734_003_200 },
    stamp,
  );
}
const ledgerRows: (string | number)[][] = [
  ['servers', 'bytes', 'bytes/server', 'parse ms', 'write ms', 'merge ms'],
];
for (const n of [1000, 20_000]) {
  const ledger = ledgerOf(n);
  const text = serializeLedger(ledger);
  const parse = time(() => parseLedger(text, 'ledger.json'));
  const write = time(() => serializeLedger(ledger));
  const theirs = parseLedger(text, 'ledger.json');
  const newer: LedgerEntry = { ...(ledger.servers.get(serverId(0)) as { entry: LedgerEntry }).entry };
  theirs.servers.set(serverId(0), { kind: 'entry', entry: { ...newer, at: '2026-12-03T11:00:00.000Z' } });
  const merge = time(() => mergeLedgers(ledger, theirs));
  ledgerRows.push([
    n,
    text.length,
    fixed(text.length / n, 0),
    `${median(parse.ms)} (${minMax(parse.ms)})`,
    `${median(write.ms)} (${minMax(write.ms)})`,
    `${median(merge.ms)} (${minMax(merge.ms)})`,
  ]);
}
console.log('\nThe ledger (one entry a server, compact JSON)');
console.log(table(ledgerRows));

// --- Diffing two 50,000-entry manifests -------------------------------------------------------------
const big = manifest(500, 99); // 1 + 500 + 49,500 = 50,001 entries
const bigNext = manifest(500, 99, (d, f) => (f < 0 ? d % 50 === 7 : d === 3 && f % 10 === 0));
const diff = time(() => pruneSet(big, bigNext));
const result = diff.last as ReturnType<typeof pruneSet>;
const text = serializeManifest({ format: 1, sha256: sha(2), object: 'o.tar', size: 1, entries: big });
const parse = time(() => parseManifest(text, 'm.json', sha(2)));
console.log(`\nManifests: ${big.length} entries before, ${bigNext.length} after`);
console.log(
  table([
    ['step', 'median ms', 'min–max', 'result'],
    ['pruneSet', median(diff.ms), minMax(diff.ms), `${result.delete.length} paths to delete`],
    ['parseManifest', median(parse.ms), minMax(parse.ms), `${text.length} bytes of JSON`],
  ]),
);

// --- A whole run's ledger traffic ---------------------------------------------------------------------
{
  const key = 'releases/ledger.json';
  const nextManifest: Manifest = {
    format: 1,
    sha256: sha(9),
    object: 'releases/next.tar',
    size: 1,
    entries: next,
  };
  const bucket = new Map<string, string>();
  for (const [name, entries] of Object.entries(previous)) {
    const shaOf = { v3: sha(3), v2: sha(2), v1: sha(1) }[name as 'v1' | 'v2' | 'v3'];
    bucket.set(
      `releases/manifests/${shaOf}.json`,
      serializeManifest({ format: 1, sha256: shaOf, object: `releases/${name}.tar`, size: 1, entries }),
    );
  }
  let ledger = emptyLedger();
  let index = 0;
  for (const [name, fraction] of share) {
    const shaOf = { v3: sha(3), v2: sha(2), v1: sha(1) }[name];
    const ids = Array.from({ length: Math.round(servers * fraction) }, () => ({
      serverId: serverId(index++),
      stale: [],
    }));
    ledger = recordStage(
      ledger,
      ids,
      { object: `releases/${name}.tar`, sha256: shaOf, size: 1 },
      {
        at: '2026-12-01T00:00:00.000Z',
        run: 'example/game/1/1',
        ref: 'refs/tags/v1',
      },
    );
  }
  bucket.set(key, serializeLedger(ledger));
  const counts = { ledgerGet: 0, ledgerPut: 0, manifestGet: 0, deletes: 0 };
  const all = Array.from({ length: servers }, (_, i) => serverId(i));
  const start = performance.now();
  const session = await LedgerSession.open(
    all,
    {
      bucket: 'b',
      key,
      object: 'releases/next.tar',
      sha256: sha(9),
      size: 1,
      skipCurrent: true,
      prune: true,
      batchSize: 100,
      manifest: nextManifest,
      run: 'example/game/2/1',
      ref: 'refs/tags/v2',
    },
    {
      objects: {
        async getObjectText(k) {
          if (k === key) counts.ledgerGet++;
          else counts.manifestGet++;
          const body = bucket.get(k);
          return body === undefined ? null : { body };
        },
        async putObjectText(k, text) {
          if (k === key) counts.ledgerPut++;
          bucket.set(k, text);
        },
        async headObject(k) {
          return bucket.has(k) ? {} : undefined;
        },
      },
      async deleteShareFiles(serverIds) {
        counts.deletes++;
        return {
          requestId: `r${counts.deletes}`,
          jobs: serverIds.map((id) => ({
            server_id: id,
            job_id: `j-${id}-${counts.deletes}`,
            error_code: null,
            error_msg: null,
          })),
        };
      },
      async waitForJobs(jobs) {
        return {
          outcomes: new Map(
            jobs.map((j) => [j.jobId, { state: 'succeeded' as const, errorCode: null, errorMsg: null }]),
          ),
          timedOut: false,
        };
      },
      warn: () => {},
      info: () => {},
      now: () => new Date('2026-12-03T12:00:00.000Z'),
    },
  );
  const stages = [session.toPush.slice(0, 10), session.toPush.slice(10, 100), session.toPush.slice(100)];
  for (const stage of stages) await session.afterStage(stage);
  const ms = performance.now() - start;
  console.log(
    `\nA run over ${servers} servers in ${stages.length} stages (${stages.map((s) => s.length).join(', ')}) with prune`,
  );
  console.log(
    table([
      ['ledger GETs', 'ledger PUTs', 'manifest GETs', 'DeleteShareFiles calls', 'ms (in memory)'],
      [counts.ledgerGet, counts.ledgerPut, counts.manifestGet, counts.deletes, fixed(ms, 0)],
    ]),
  );
  console.log('(one read at the start, then per stage one read right before its one write)');
}
