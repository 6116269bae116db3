/** The fleet inputs, parsed: plain values the fleet functions and the pipeline share. */

/** A rollout stage's cumulative size: a number of servers, or a percentage of those to push. */
export type StageSize = { count: number } | { percent: number };

/** `max-failures`: how many rejected + failed servers are tolerated. */
export type Budget = { count: number } | { percent: number };
