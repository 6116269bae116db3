/**
 * The pre-flight check: can each chosen server take the push? Judged from the project's server
 * list and the phone models, both read once, never one call per server.
 */
import type { FleetServer, PhoneModel } from '../huawei/types.js';
import { type ChosenServer, describeState, RUNNING } from './servers.js';

export type PreflightVerdict =
  | { server: ChosenServer; verdict: 'push' }
  | { server: ChosenServer; verdict: 'rejected' | 'skipped'; reason: string };

/** A flavor whose shared storage cannot be told from the phone models, and its servers (pushed anyway). */
export interface UnknownStorage {
  flavor: string;
  why: 'unknown-flavor' | 'no-spec' | 'not-json';
  serverIds: string[];
}

export interface PreflightResult {
  verdicts: PreflightVerdict[];
  unknownStorage: UnknownStorage[];
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
  // `null`, `5`, `"text"` and `[]` are JSON too, and `in` throws on the first two: anything but an
  // object is as unreadable as broken JSON (a warning, the server still pushed).
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return 'not-json';
  return 'max_share_disk_size_g' in spec ? 'shared' : 'none';
}

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
  const unknownStorage = new Map<string, UnknownStorage>();

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
      const entry = unknownStorage.get(found.phoneModel) ?? {
        flavor: found.phoneModel,
        why: storage,
        serverIds: [],
      };
      entry.serverIds.push(server.id);
      unknownStorage.set(found.phoneModel, entry);
    }
    return { server, verdict: 'push' };
  });

  return { verdicts, unknownStorage: [...unknownStorage.values()] };
}
