/**
 * Which servers to push: the ids given, in order, then the servers whose name matches a pattern
 * (in ListCloudPhoneServers order) minus those matching a `!` pattern; duplicates dropped.
 */
import type { ChosenServer, FleetServer } from './servers.js';

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
