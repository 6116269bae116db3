/**
 * The pre-flight check: can each chosen server take the push? Judged from the project's server
 * list and the phone models, both read once, never one call per server.
 */
import { type ChosenServer, describeState, type FleetServer, type PhoneModel, RUNNING } from './servers.js';

export type PreflightVerdict =
  | { server: ChosenServer; verdict: 'push' }
  | { server: ChosenServer; verdict: 'rejected' | 'skipped'; reason: string };

export interface PreflightResult {
  verdicts: PreflightVerdict[];
  /** One line per flavor whose shared storage cannot be told; those servers are pushed. */
  flavorWarnings: string[];
}

type Storage = 'shared' | 'none' | 'unknown-flavor' | 'no-spec' | 'not-json';

function storageOf(model: PhoneModel | undefined): Storage {
  if (!model) return 'unknown-flavor';
  if (model.extendSpec === null || model.extendSpec.trim() === '') return 'no-spec';
  let spec: unknown;
  try {
    spec = JSON.parse(model.extendSpec);
  } catch {
    return 'not-json';
  }
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return 'not-json';
  return 'max_share_disk_size_g' in spec ? 'shared' : 'none';
}

const UNKNOWN_STORAGE: Record<Exclude<Storage, 'shared' | 'none'>, string> = {
  'unknown-flavor': 'is not in the phone models list',
  'no-spec': 'has no extend_spec',
  'not-json': 'has an extend_spec that is not a JSON object',
};

export function preflight(
  chosen: ChosenServer[],
  servers: FleetServer[],
  models: PhoneModel[],
  where: { projectId: string; region: string },
): PreflightResult {
  const byId = new Map<string, FleetServer>();
  for (const s of servers) if (!byId.has(s.id)) byId.set(s.id, s);
  const modelByName = new Map<string, PhoneModel>();
  for (const m of models) if (!modelByName.has(m.name)) modelByName.set(m.name, m);
  const unknownStorage = new Map<string, { what: string; servers: string[] }>();

  const verdicts = chosen.map((server): PreflightVerdict => {
    const found = byId.get(server.id);
    if (!found) {
      return {
        server,
        verdict: 'rejected',
        reason: `not found in project ${where.projectId} of region ${where.region}`,
      };
    }
    if (found.status !== RUNNING) {
      return {
        server,
        verdict: server.given ? 'rejected' : 'skipped',
        reason: `not running: ${describeState(found.status)}`,
      };
    }
    const storage = storageOf(modelByName.get(found.phoneModel));
    if (storage === 'none') {
      return {
        server,
        verdict: 'rejected',
        reason: `flavor ${found.phoneModel} has no shared storage (its extend_spec has no max_share_disk_size_g)`,
      };
    }
    if (storage !== 'shared') {
      const entry = unknownStorage.get(found.phoneModel) ?? { what: UNKNOWN_STORAGE[storage], servers: [] };
      entry.servers.push(server.id);
      unknownStorage.set(found.phoneModel, entry);
    }
    return { server, verdict: 'push' };
  });

  const flavorWarnings = [...unknownStorage].map(
    ([flavor, { what, servers: ids }]) =>
      `flavor ${flavor} ${what}: cannot tell whether it has shared storage; pushing anyway to its ` +
      `${ids.length} server${ids.length === 1 ? '' : 's'} (${listIds(ids)})`,
  );
  return { verdicts, flavorWarnings };
}

/** At most 20 ids in one line: the rest as "… and N more". */
export function listIds(ids: string[], max = 20): string {
  return ids.length <= max
    ? ids.join(', ')
    : `${ids.slice(0, max).join(', ')} … and ${ids.length - max} more`;
}
