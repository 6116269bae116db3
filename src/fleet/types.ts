/** Plain data the fleet logic works on. */

/** One cumulative rollout stage end: a count of servers, or a percentage of the servers to push. */
export type StageSize = { count: number } | { percent: number };

/** How many servers may end `rejected` or `failed`: a count, or a percentage of every server chosen. */
export type Budget = { count: number } | { percent: number };
