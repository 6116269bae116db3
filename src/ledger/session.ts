/**
 * The ledger's part of a run, as the pipeline sees it:
 *
 *   const ledger = await LedgerSession.open(chosen, options, deps); // after choosing servers
 *   ledger.current / ledger.toPush                                    // stages are planned over toPush
 *   await ledger.ensureManifest();                                    // after the upload (with file)
 *   await ledger.afterStage(succeededIds);                            // after each stage's wait
 *   ledger.forbidden                                                  // a 403 on DeleteShareFiles: fail the step
 *
 * The ledger is read once (and again right before each write, to detect another run), the
 * manifests the prune needs once, at open. Effects come in through `LedgerDeps`.
 */

import type { ServiceError } from '../errors.js';
import { type CurrentServer, splitCurrent } from './current.js';
import { entryOf, type HeldBefore, heldBefore, type Ledger, type RunStamp, recordStage } from './ledger.js';
import { type Manifest, ManifestError } from './manifest.js';
import { type PruneDeps, type PruneResult, pruneStage } from './prune-step.js';
import { type LedgerObjects, LedgerStore } from './store.js';

export interface LedgerOptions {
  bucket: string;
  /** The `ledger` input: the ledger's object key. */
  key: string;
  /** The bundle: `object-path`, its SHA-256 (undefined: the object has no identity) and size. */
  object: string;
  sha256: string | undefined;
  size: number;
  skipCurrent: boolean;
  prune: boolean;
  batchSize: number;
  /** This bundle's manifest, built from `file`; undefined without `file`. */
  manifest: Manifest | undefined;
  /** `<GITHUB_REPOSITORY>/<GITHUB_RUN_ID>/<GITHUB_RUN_ATTEMPT>` and `GITHUB_REF`. */
  run: string;
  ref: string;
}

export interface LedgerDeps extends PruneDeps {
  objects: LedgerObjects;
  /** ISO time for `at`. */
  now(): Date;
}

/** A problem with the ledger's inputs found before any push: ends the run. */
export class LedgerSetupError extends Error {
  override name = 'LedgerSetupError';
}

export interface StageLedger {
  /** The stage's prune (with `prune`). */
  prune: PruneResult | undefined;
}

export class LedgerSession {
  /** Servers set aside: the ledger says they hold this bundle. */
  readonly current: CurrentServer[];
  /** Servers left to push, in the order chosen. */
  readonly toPush: string[];
  /** What the chosen servers held before the run. */
  readonly heldBefore: HeldBefore;
  /** The first 403 on DeleteShareFiles: the step fails (after the ledger is written). */
  forbidden: ServiceError | undefined;
  /** True from a failed ledger write until one succeeds: the summary says the ledger is behind. */
  behind = false;
  /** Writes done (one per stage that had a succeeded server). */
  writes = 0;

  private ours: Ledger;

  private constructor(
    readonly before: Ledger,
    private readonly store: LedgerStore,
    private readonly options: LedgerOptions,
    private readonly deps: LedgerDeps,
    split: { current: CurrentServer[]; toPush: string[] },
    held: HeldBefore,
    private readonly next: Manifest | undefined,
    private readonly previous: Map<string, Manifest | undefined>,
  ) {
    this.ours = before;
    this.current = split.current;
    this.toPush = split.toPush;
    this.heldBefore = held;
  }

  /** The previous entry of a server (for the report file), as read at the start. */
  previousOf(serverId: string): { object: string; sha256: string } | undefined {
    const entry = entryOf(this.before, serverId);
    return entry && { object: entry.object, sha256: entry.sha256 };
  }

  /**
   * Read the ledger and the manifests a prune needs, and set the current servers aside. Throws
   * before any push when the ledger cannot be read or used, or when `prune` cannot work (no
   * identity, no manifest for this bundle).
   */
  static async open(
    chosen: readonly string[],
    options: LedgerOptions,
    deps: LedgerDeps,
  ): Promise<LedgerSession> {
    const store = new LedgerStore(deps.objects, options.bucket, options.key, (m) => deps.warn(m));
    const object = `obs://${options.bucket}/${options.object}`;
    if (options.sha256 === undefined) {
      if (options.prune) {
        throw new LedgerSetupError(
          `${object} has no x-obs-meta-sha256 metadata, so the ledger cannot tell which bundle it is and \`prune\` cannot work — publish it once with \`file\` (which sets it), or set \`prune: false\``,
        );
      }
      deps.warn(
        `${object} has no x-obs-meta-sha256 metadata: the ledger cannot tell which bundle it is, so no server is taken as current and every chosen server is pushed (publish it once with \`file\` to give it one)`,
      );
    }
    const ledger = await store.read();
    const split = splitCurrent(ledger, chosen, {
      sha256: options.sha256,
      skipCurrent: options.skipCurrent,
      prune: options.prune,
    });

    let next = options.manifest;
    const previous = new Map<string, Manifest | undefined>();
    if (options.prune && options.sha256 !== undefined) {
      next ??= await store.readManifest(options.sha256);
      if (!next) {
        throw new LedgerSetupError(
          `prune needs the manifest of this bundle, obs://${options.bucket}/${store.manifestKey(options.sha256)}, and there is none: it was never published by this action with \`file\` and \`ledger\` set — publish it once with \`file\`, or set \`prune: false\``,
        );
      }
      const needed = new Set<string>();
      for (const id of split.toPush) {
        const entry = entryOf(ledger, id);
        if (entry && entry.sha256 !== options.sha256) needed.add(entry.sha256);
      }
      for (const sha256 of needed) {
        try {
          previous.set(sha256, await store.readManifest(sha256));
        } catch (error) {
          if (!(error instanceof ManifestError)) throw error;
          deps.warn(`prune: ${error.message}; taken as missing`);
          previous.set(sha256, undefined);
        }
      }
    }
    const held = heldBefore(ledger, chosen);
    return new LedgerSession(ledger, store, options, deps, split, held, next, previous);
  }

  /** With `file`: make sure this bundle's manifest is stored next to the ledger (never rewritten). */
  async ensureManifest(): Promise<'exists' | 'written' | 'none'> {
    if (!this.options.manifest) return 'none';
    return this.store.ensureManifest(this.options.manifest);
  }

  /**
   * After a stage's wait: prune the servers whose push succeeded (with `prune`), then record them
   * in the ledger and write it. Servers of the stage that did not succeed keep their entry.
   */
  async afterStage(succeeded: readonly string[]): Promise<StageLedger> {
    if (succeeded.length === 0 || this.options.sha256 === undefined) return { prune: undefined };
    let prune: PruneResult | undefined;
    if (this.options.prune && this.next) {
      prune = await pruneStage(
        {
          servers: succeeded,
          ledger: this.before,
          next: this.next,
          previous: this.previous,
          batchSize: this.options.batchSize,
          forbidden: this.forbidden,
        },
        this.deps,
      );
      this.forbidden ??= prune.forbidden;
    }
    const stamp: RunStamp = {
      at: this.deps.now().toISOString(),
      run: this.options.run,
      ref: this.options.ref,
    };
    const records = succeeded.map((serverId) => ({
      serverId,
      // Without prune nothing was deleted: what earlier prunes left stays to do.
      stale: prune?.servers.get(serverId)?.stale ?? entryOf(this.before, serverId)?.stale ?? [],
    }));
    const recorded = recordStage(
      this.ours,
      records,
      { object: this.options.object, sha256: this.options.sha256, size: this.options.size },
      stamp,
    );
    this.behind = true;
    this.ours = await this.store.write(recorded);
    this.behind = false;
    this.writes++;
    return { prune };
  }
}
