/**
 * Reads and validates every input once, before any network request. Each area declares its inputs
 * once (name, action.yml's default, parser, problem) in its own module; all problems, the
 * environment's tuning knobs included, are thrown together as one InputError, so a user fixes a
 * workflow in one round instead of one per run.
 */

import { InputError } from '../errors.js';
import {
  ENDPOINT_FIELDS,
  type Endpoints,
  PLACE_FIELDS,
  type Place,
  readEndpoints,
  readPlace,
} from './endpoints.js';
import { readTuning, type Tuning } from './knobs.js';
import { LEDGER_FIELDS, type LedgerSettings, readLedger } from './ledger.js';
import { type Field, type InputSource, Reader } from './reader.js';
import { ROLLOUT_FIELDS, type Rollout, readRollout } from './rollout.js';
import { RUN_FIELDS, type RunSettings, readRunSettings } from './run.js';
import { readSignIn, SIGN_IN_FIELDS, type SignIn } from './sign-in.js';
import { readTargets, TARGET_FIELDS, type Targets } from './targets.js';
import { readTarget, readUploadSettings, type Target, UPLOAD_FIELDS, type UploadSettings } from './upload.js';

export type { Tuning } from './knobs.js';
export type { InputSource } from './reader.js';
export type { SignIn, StaticKeys } from './sign-in.js';
export type { NamePatterns } from './targets.js';

export type Config = Place & {
  /** AK/SK (and token), or keyless sign-in through an IAM identity provider. */
  signIn: SignIn;
  /** Things that are allowed but probably not meant (the caller warns). */
  warnings: string[];
  /** The environment's tuning knobs (request timeout, retries). */
  tuning: Tuning;
} & Target &
  Targets &
  Rollout &
  UploadSettings &
  LedgerSettings &
  RunSettings &
  Endpoints;

const FIELDS: readonly Field<unknown>[] = [
  ...SIGN_IN_FIELDS,
  ...PLACE_FIELDS,
  ...UPLOAD_FIELDS,
  ...TARGET_FIELDS,
  ...ROLLOUT_FIELDS,
  ...LEDGER_FIELDS,
  ...RUN_FIELDS,
  ...ENDPOINT_FIELDS,
];

/** The defaults written in action.yml, applied here too when an input comes back empty. */
export const DEFAULTS: Readonly<Record<string, string>> = Object.fromEntries(
  FIELDS.filter((f) => f.default !== '').map((f) => [f.name, f.default]),
);

export function readConfig(src: InputSource): Config {
  const r = new Reader(src);
  // Credentials first, so that every secret is masked before any message exists.
  const signIn = readSignIn(r);
  const place = readPlace(r);
  const target = readTarget(r);
  const targets = readTargets(r);
  const rollout = readRollout(r);
  const upload = readUploadSettings(r);
  const ledger = readLedger(r, { wait: rollout?.wait, objectPath: target?.objectPath });
  const run = readRunSettings(r);
  const endpoints = readEndpoints(r, place.region);
  const tuning = readTuning(r);

  if (r.problems.length > 0) throw new InputError(r.problems);
  // Each reader returns its values or reports a problem, so with no problems all are set (an
  // endpoint is given or derived from the region). The check lets the types say so too.
  const { region, projectId } = place;
  const { cphEndpoint, obsEndpoint, iamEndpoint } = endpoints;
  if (
    signIn === undefined ||
    region === undefined ||
    target === undefined ||
    targets === undefined ||
    rollout === undefined ||
    upload === undefined ||
    ledger === undefined ||
    run === undefined ||
    cphEndpoint === undefined ||
    obsEndpoint === undefined ||
    iamEndpoint === undefined ||
    tuning === undefined
  ) {
    throw new Error('readConfig: an input was neither read nor reported as a problem');
  }
  return {
    region,
    projectId,
    signIn,
    ...target,
    ...targets,
    ...rollout,
    ...upload,
    ...ledger,
    ...run,
    warnings: r.warnings,
    cphEndpoint,
    obsEndpoint,
    iamEndpoint,
    tuning,
  };
}
