/**
 * The wording of choosing servers, the pre-flight check and the staged rollout: log lines, the
 * reasons a rollout stops, the stage lines of the dry-run plan and of the summary. Pure text.
 */
import type { PreflightVerdict, UnknownStorage } from '../fleet/preflight.js';
import type { Stage } from '../fleet/stages.js';
import type { Budget } from '../fleet/types.js';

import type { StageReport } from '../model/results.js';

import { listIds, logSafe, plural, pluralWord } from '../util/text.js';

const UNKNOWN_STORAGE: Record<UnknownStorage['why'], string> = {
  'unknown-flavor': 'is not in the phone models list',
  'no-spec': 'has no extend_spec',
  'not-json': 'has an extend_spec that is not a JSON object',
};

/** One warning per flavor whose shared storage cannot be told; its servers are pushed anyway. */
export function unknownStorageWarning(u: UnknownStorage): string {
  return (
    `flavor ${logSafe(u.flavor)} ${UNKNOWN_STORAGE[u.why]}: cannot tell whether it has shared storage; pushing anyway ` +
    `to its ${plural(u.serverIds.length, 'server')} (${listIds(u.serverIds)})`
  );
}

/** `Push`, or `Push (stage 2 of 4)` when there is more than one stage. */
export function stageGroup(step: 'Push' | 'Wait', stage: number, of: number): string {
  return of > 1 ? `${step} (stage ${stage} of ${of})` : step;
}

export function choiceLine(chosen: { given: number; byName: number }, listed: number | undefined): string {
  const parts = [`${plural(chosen.given + chosen.byName, 'server')} chosen`];
  const how = [
    chosen.given ? `${chosen.given} by id` : '',
    chosen.byName ? `${chosen.byName} by name` : '',
  ].filter(Boolean);
  if (how.length) parts.push(`(${how.join(', ')})`);
  if (listed !== undefined) parts.push(`of ${plural(listed, 'server')} in the project`);
  return parts.join(' ');
}

function who(v: PreflightVerdict): string {
  return v.server.name ? `${logSafe(v.server.name)} (${logSafe(v.server.id)})` : logSafe(v.server.id);
}

/** One warning for the servers chosen by name that pre-flight skipped, at most 20 named. */
export function skippedWarning(skipped: PreflightVerdict[]): string | undefined {
  if (!skipped.length) return undefined;
  const lines = skipped.map(
    (v) => `${who(v)}: ${'reason' in v ? logSafe(v.reason.replace(/^not running: /, '')) : ''}`,
  );
  return (
    `pre-flight: skipping ${plural(skipped.length, 'server')} chosen by name that ${pluralWord(skipped.length, 'is', 'are')} ` +
    `not running — ${listIds(lines)}`
  );
}

/** One warning for the servers pre-flight rejected (they count against max-failures). */
export function rejectedWarning(rejected: PreflightVerdict[]): string | undefined {
  if (!rejected.length) return undefined;
  const lines = rejected.map((v) => `${who(v)}: ${'reason' in v ? logSafe(v.reason) : ''}`);
  return `pre-flight: not pushing to ${plural(rejected.length, 'server')} that cannot take it — ${listIds(lines)}`;
}

/** `3 rejected, 1 skipped`: the counts that are not zero, joined; '' when all are. */
function counted(parts: Array<[number, string]>): string {
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(', ');
}

export function preflightLine(toPush: number, rejected: number, skipped: number): string {
  const refused = counted([
    [rejected, 'rejected'],
    [skipped, 'skipped'],
  ]);
  return `Pre-flight: ${plural(toPush, 'server')} to push${refused ? `, ${refused}` : ''}`;
}

/** Why nothing is left to push; the run fails with it before uploading anything. */
export function nothingToPush(
  chosen: number,
  patterns: string[],
  refused: { rejected: number; skipped: number },
): string {
  if (chosen === 0) {
    return (
      `no server to push: no server name in the project matches server-names ${patterns.map(logSafe).join(', ')} — ` +
      'names match whole and case-sensitively (game-* matches game-01, not my-game-01)'
    );
  }
  return (
    `no server to push: pre-flight refused all ${plural(chosen, 'server')} chosen ` +
    `(${counted([
      [refused.rejected, 'rejected'],
      [refused.skipped, 'skipped'],
    ])}; see jobs and the warnings) — ` +
    'start the servers, or choose servers whose flavor has shared storage'
  );
}

export function stagesLine(stages: Stage[]): string {
  const sizes = stages.map((s) => s.to - s.from);
  const last = sizes.length === 1 ? (sizes[0] ?? 0) : 2;
  return `Rollout: ${plural(stages.length, 'stage')} of ${sizes.join(', ')} ${pluralWord(last, 'server')}`;
}

/** The dry-run plan: a line per stage for the servers it knows. */
export function plannedStageLines(stages: Stage[], ids: string[], namesToo: boolean): string[] {
  const lines = stages.map(
    (s) => `Stage ${s.number}: ${plural(s.to - s.from, 'server')} (${listIds(ids.slice(s.from, s.to))})`,
  );
  if (namesToo) {
    lines.push(
      'Servers chosen by name are resolved at run time, so the stages of the real run may be larger',
    );
  }
  return lines;
}

/** `max-failures 2`, or `max-failures 4% (2 of 60 servers)`. */
export function budgetText(budget: Budget, allowed: number, chosen: number): string {
  return 'count' in budget
    ? `max-failures ${budget.count}`
    : `max-failures ${budget.percent}% (${allowed} of ${plural(chosen, 'server')})`;
}

export function overBudgetReason(failures: number, budgetWords: string): string {
  return `${plural(failures, 'server')} rejected or failed, more than ${budgetWords}`;
}

export function withinBudgetWarning(failures: string[], budgetWords: string): string {
  return (
    `${plural(failures.length, 'server')} rejected or failed, within ${budgetWords}: ${listIds(failures)} — ` +
    'the step stays green; see jobs for each error'
  );
}

export function timeoutReason(running: number, waitTimeoutSeconds: number): string {
  return `${plural(running, 'job')} still running after wait-timeout ${waitTimeoutSeconds} s`;
}

export function skippedMessage(afterStage: number, reason: string): string {
  return `not pushed: the rollout stopped after stage ${afterStage}: ${logSafe(reason)}`;
}

function stoppedClause(stage: number, of: number, reason: string, skipped: number): string {
  return `rollout stopped after stage ${stage} of ${of}: ${logSafe(reason)}${skipped ? `; ${skipped} skipped` : ''}`;
}

/** A log line (and the summary's last stage line). */
export function stoppedLine(stage: number, of: number, reason: string, skipped: number): string {
  return `The ${stoppedClause(stage, of, reason, skipped)}`;
}

/** The start of the failure line when the rollout stopped. */
export function stoppedHeadline(stage: number, of: number, reason: string, skipped: number): string {
  return `the ${stoppedClause(stage, of, reason, skipped)}`;
}

/** The summary's stage lines (only with more than one stage). */
export function stageSummaryLines(stages: StageReport[], of: number, skippedLater: number): string[] {
  const lines = stages.map(
    (s) =>
      `- Stage ${s.number}: ${plural(s.servers, 'server')} — ${s.succeeded} succeeded, ${s.failed} failed` +
      (s.unfinished ? `, ${s.unfinished} unfinished` : ''),
  );
  const stopped = stages.find((s) => s.stopped);
  if (stopped?.stopped) lines.push(`- ${stoppedLine(stopped.number, of, stopped.stopped, skippedLater)}`);
  return lines;
}
