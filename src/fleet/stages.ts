/** Staged rollout: where each stage ends, and the failure budget judged after each. */
import type { PushTarget } from '../model/results.js';
import type { ChosenServer } from './servers.js';
import type { Budget, StageSize } from './types.js';

export interface Stage {
  /** 1-based. */
  number: number;
  /** Index of the first server of the stage in the push order. */
  from: number;
  /** One past the last server of the stage: the cumulative size. */
  to: number;
}

/**
 * `part`% of `whole`, to the nearest millionth before rounding, so that 10% of 30 is 3 and
 * not 3.0000000000000004 (which would round up to 4).
 */
function percentOf(percent: number, whole: number): number {
  return Math.round(percent * whole * 1e6) / 1e8;
}

/**
 * Cumulative stage ends over `total` servers: counts as given, percentages rounded up; a final
 * 100 % implied; a stage that would end where the previous one ended is dropped; sizes past the
 * total stop at the total. No sizes: one stage. No servers: no stage.
 */
export function planStages(total: number, sizes: StageSize[]): Stage[] {
  const stages: Stage[] = [];
  let end = 0;
  for (const size of [...sizes, { percent: 100 }]) {
    const wanted = 'count' in size ? size.count : Math.ceil(percentOf(size.percent, total));
    const to = Math.min(total, Math.max(end, wanted));
    if (to <= end) continue;
    stages.push({ number: stages.length + 1, from: end, to });
    end = to;
  }
  return stages;
}

/** How many servers may end `rejected` or `failed`; a percentage of every server chosen, rounded down. */
export function allowedFailures(budget: Budget, chosen: number): number {
  return 'count' in budget ? budget.count : Math.floor(percentOf(budget.percent, chosen));
}

/** The rollout stops (and the step fails) when the failures so far exceed the budget. */
export function overBudget(failures: number, allowed: number): boolean {
  return failures > allowed;
}

/** The servers to push, in order, each with its stage number, and the stages. */
export function stageServers(
  servers: readonly ChosenServer[],
  sizes: StageSize[],
): { stages: Stage[]; servers: PushTarget[] } {
  const stages = planStages(servers.length, sizes);
  return {
    stages,
    servers: stages.flatMap((stage) =>
      servers
        .slice(stage.from, stage.to)
        .map((s) => ({ serverId: s.id, serverName: s.name, stage: stage.number })),
    ),
  };
}
