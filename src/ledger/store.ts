/**
 * The ledger and the manifests in the bucket: read once, written at safe points, never silently
 * overwritten. Before each write the ledger is read again; when another run changed it since this
 * run last read or wrote it, the two are merged per server (the later push wins) and one warning
 * recommends a workflow `concurrency:` group.
 *
 * OBS is reached through `LedgerObjects` (ObsClient's small-object calls), so the store runs and
 * is tested without a network.
 */

import { ServiceError } from '../errors.js';
import { emptyLedger, type Ledger, mergeLedgers, parseLedger, serializeLedger } from './ledger.js';
import { type Manifest, ManifestError, manifestKey, parseManifest, serializeManifest } from './manifest.js';

/** What the store needs of OBS: ObsClient's `getObjectText`, `putObjectText` and `headObject`. */
export interface LedgerObjects {
  /** The object's text, or null when it does not exist (404). */
  getObjectText(key: string): Promise<{ body: string } | null>;
  /** One PUT carrying `x-obs-content-sha256` of the body. */
  putObjectText(key: string, text: string): Promise<unknown>;
  /** Something when the object exists, undefined on 404. */
  headObject(key: string): Promise<unknown>;
}

export const READ_PERMISSION = 'obs:object:GetObject';
export const WRITE_PERMISSION = 'obs:object:PutObject';

export class LedgerStore {
  /** The ledger's text as this run last read or wrote it; null when it did not exist. */
  private lastText: string | null | undefined;
  private warnedMerge = false;

  constructor(
    private readonly objects: LedgerObjects,
    readonly bucket: string,
    readonly key: string,
    private readonly warn: (message: string) => void,
  ) {}

  get url(): string {
    return `obs://${this.bucket}/${this.key}`;
  }

  /** Read the ledger: absent (404) is empty; any other failure ends the run before any push. */
  async read(): Promise<Ledger> {
    const text = await this.getText('reading the ledger');
    this.lastText = text;
    return text === null ? emptyLedger() : parseLedger(text, this.url);
  }

  /**
   * Write `ours` (this run's view: what it read plus what it recorded). When the bucket's copy
   * changed since this run last read or wrote it, the two are merged first. Returns the ledger
   * as written, to build the next stage's write on.
   */
  async write(ours: Ledger): Promise<Ledger> {
    let next = ours;
    const current = await this.getText('reading the ledger again before writing it');
    if (current !== this.lastText) {
      const theirs = current === null ? emptyLedger() : parseLedger(current, this.url);
      next = mergeLedgers(ours, theirs);
      if (!this.warnedMerge) {
        this.warnedMerge = true;
        this.warn(
          `the ledger ${this.url} was changed by another run while this one ran; merged it per server, keeping the later push of each. Runs that publish to the same servers should not overlap: give the workflow a \`concurrency:\` group per fleet (for example \`concurrency: cph-publish-production\`)`,
        );
      }
    }
    const text = serializeLedger(next);
    try {
      await this.objects.putObjectText(this.key, text);
    } catch (error) {
      throw withContext(
        error,
        `writing the ledger ${this.url}`,
        `the pushes stand, but the ledger is behind: grant ${WRITE_PERMISSION} on the ledger key, then run again`,
      );
    }
    this.lastText = text;
    return next;
  }

  manifestKey(sha256: string): string {
    return manifestKey(this.key, sha256);
  }

  /**
   * The manifest of bundle `sha256`, or undefined when there is none (404). A manifest that
   * cannot be read as one throws ManifestError.
   */
  async readManifest(sha256: string): Promise<Manifest | undefined> {
    const key = this.manifestKey(sha256);
    let found: { body: string } | null;
    try {
      found = await this.objects.getObjectText(key);
    } catch (error) {
      throw withContext(
        error,
        `reading the manifest obs://${this.bucket}/${key}`,
        `grant ${READ_PERMISSION} on ${manifestDir(this.key)}manifests/ in bucket ${this.bucket}`,
      );
    }
    return found === null ? undefined : parseManifest(found.body, `obs://${this.bucket}/${key}`, sha256);
  }

  /** Make sure this bundle's manifest is in the bucket (HEAD, else PUT): content-addressed, never rewritten. */
  async ensureManifest(manifest: Manifest): Promise<'exists' | 'written'> {
    const key = this.manifestKey(manifest.sha256);
    const where = `obs://${this.bucket}/${key}`;
    try {
      if ((await this.objects.headObject(key)) !== undefined) return 'exists';
    } catch (error) {
      throw withContext(error, `looking for the manifest ${where}`, `grant ${READ_PERMISSION} on it`);
    }
    try {
      await this.objects.putObjectText(key, serializeManifest(manifest));
    } catch (error) {
      throw withContext(error, `writing the manifest ${where}`, `grant ${WRITE_PERMISSION} on it`);
    }
    return 'written';
  }

  private async getText(doing: string): Promise<string | null> {
    try {
      return (await this.objects.getObjectText(this.key))?.body ?? null;
    } catch (error) {
      throw withContext(
        error,
        `${doing} ${this.url}`,
        `grant ${READ_PERMISSION} on the ledger key (nothing was pushed), or remove the \`ledger\` input`,
      );
    }
  }
}

function manifestDir(ledgerKey: string): string {
  return ledgerKey.slice(0, ledgerKey.lastIndexOf('/') + 1);
}

/** The service's error with what the action was doing and what to check; other errors pass through. */
function withContext(error: unknown, doing: string, hint: string): unknown {
  if (!(error instanceof ServiceError)) return error;
  return new ServiceError({
    service: error.service,
    operation: error.operation,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.requestId === undefined ? {} : { requestId: error.requestId }),
    detail: `${doing}: ${error.detail}`,
    hint: error.hint ? `${hint}; ${error.hint}` : hint,
    cause: error,
  });
}

export { ManifestError };
