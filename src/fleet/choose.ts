/**
 * Which servers to push: the ids given, in order, then the servers whose name matches a pattern
 * (in ListCloudPhoneServers order) minus those matching a `!` pattern; duplicates dropped.
 */

import type { FleetServer, PhoneModel } from '../huawei/types.js';
import { type PreflightVerdict, preflight, type UnknownStorage } from './preflight.js';
import type { ChosenServer } from './servers.js';

/** Whole-name, case-sensitive glob: `*` any run of characters, `?` one character. */
export function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'su');
}

export interface NamePatterns {
  include: string[];
  /** The `!` patterns, `!` stripped. */
  exclude: string[];
}

/**
 * `servers` is the project's list when it was read (with `server-names` or `preflight`), else
 * undefined; then only the ids given are chosen, without names.
 */
export function chooseServers(
  givenIds: string[],
  patterns: NamePatterns,
  servers: FleetServer[] | undefined,
): ChosenServer[] {
  const nameOf = new Map<string, string>();
  for (const s of servers ?? []) if (!nameOf.has(s.id)) nameOf.set(s.id, s.name);
  const chosen: ChosenServer[] = [];
  const seen = new Set<string>();
  for (const id of givenIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    chosen.push({ id, name: nameOf.get(id) ?? null, given: true });
  }
  if (patterns.include.length === 0 || !servers) return chosen;
  const include = patterns.include.map(globToRegExp);
  const exclude = patterns.exclude.map(globToRegExp);
  for (const s of servers) {
    if (seen.has(s.id)) continue;
    if (!include.some((re) => re.test(s.name)) || exclude.some((re) => re.test(s.name))) continue;
    seen.add(s.id);
    chosen.push({ id: s.id, name: s.name, given: false });
  }
  return chosen;
}

/** What pre-flight needs beyond the lists: where the servers were looked for, for its messages. */
export interface PreflightInput {
  models: PhoneModel[];
  where: { projectId: string; region: string };
}

export type RefusedServer = Extract<PreflightVerdict, { verdict: 'rejected' | 'skipped' }>;

export interface FleetChoice {
  /** Every server chosen, in order: the order of `jobs`. */
  chosen: ChosenServer[];
  /** Those pre-flight refused, in order (none without pre-flight). */
  refused: RefusedServer[];
  /** Those to push, in order. */
  accepted: ChosenServer[];
  /** Flavors whose shared storage cannot be told; their servers are in `accepted`. */
  unknownStorage: UnknownStorage[];
}

/**
 * Choosing the servers as a whole, from the lists read once: the ids and name matches, then, with
 * `preflight` (and the project's list read), the pre-flight verdicts.
 */
export function chooseFleet(
  givenIds: string[],
  patterns: NamePatterns,
  listed: FleetServer[] | undefined,
  check: PreflightInput | undefined,
): FleetChoice {
  const chosen = chooseServers(givenIds, patterns, listed);
  if (!check || !listed) return { chosen, refused: [], accepted: chosen, unknownStorage: [] };
  const { verdicts, unknownStorage } = preflight(chosen, listed, check.models, check.where);
  return {
    chosen,
    refused: verdicts.filter((v): v is RefusedServer => v.verdict !== 'push'),
    accepted: verdicts.filter((v) => v.verdict === 'push').map((v) => v.server),
    unknownStorage,
  };
}
