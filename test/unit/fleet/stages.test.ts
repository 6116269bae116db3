import { describe, expect, it } from 'vitest';
import { allowedFailures, overBudget, planStages } from '../../../src/fleet/stages.js';
import type { StageSize } from '../../../src/fleet/types.js';

const ends = (total: number, sizes: StageSize[]) => planStages(total, sizes).map((s) => s.to);

describe('planStages', () => {
  it('the contract example: 1, 10%, 50% of 30 ends at 1, 3, 15, 30', () => {
    expect(planStages(30, [{ count: 1 }, { percent: 10 }, { percent: 50 }])).toEqual([
      { number: 1, from: 0, to: 1 },
      { number: 2, from: 1, to: 3 },
      { number: 3, from: 3, to: 15 },
      { number: 4, from: 15, to: 30 },
    ]);
  });

  it.each<[number, StageSize[], number[]]>([
    [30, [], [30]],
    [1, [], [1]],
    [0, [], []],
    [0, [{ count: 1 }, { percent: 10 }], []],
    // drop a stage that ends where the previous one ended
    [5, [{ count: 1 }, { percent: 10 }], [1, 5]],
    [10, [{ count: 1 }, { percent: 10 }], [1, 10]],
    [11, [{ count: 1 }, { percent: 10 }], [1, 2, 11]],
    // percentages round up; floating point does not push 10% of 30 to 4
    [30, [{ percent: 10 }], [3, 30]],
    [1000, [{ percent: 1 }, { percent: 10 }], [10, 100, 1000]],
    [1000, [{ percent: 0.1 }], [1, 1000]],
    [7, [{ percent: 33.3 }], [3, 7]],
    [999, [{ percent: 33.3 }], [333, 999]],
    // sizes past the total stop at the total
    [3, [{ count: 5 }, { count: 10 }], [3]],
    [3, [{ count: 2 }, { count: 10 }], [2, 3]],
    // an explicit 100% is the implied final stage
    [4, [{ count: 1 }, { percent: 100 }], [1, 4]],
    [4, [{ count: 1 }, { count: 1 }, { count: 2 }], [1, 2, 4]],
  ])('%i servers, %o → ends %o', (total, sizes, expected) => {
    expect(ends(total, sizes)).toEqual(expected);
  });

  it('stages are numbered 1.. after dropping empty ones and cover every server once', () => {
    const stages = planStages(10, [{ count: 1 }, { count: 1 }, { percent: 50 }]);
    expect(stages).toEqual([
      { number: 1, from: 0, to: 1 },
      { number: 2, from: 1, to: 5 },
      { number: 3, from: 5, to: 10 },
    ]);
  });
});

describe('the failure budget', () => {
  it.each([
    [{ count: 0 }, 120, 0],
    [{ count: 3 }, 120, 3],
    [{ count: 500 }, 10, 500],
    [{ percent: 2 }, 120, 2],
    [{ percent: 2 }, 49, 0],
    [{ percent: 2 }, 50, 1],
    [{ percent: 10 }, 30, 3],
    [{ percent: 1 }, 1000, 10],
    [{ percent: 0 }, 1000, 0],
    [{ percent: 100 }, 7, 7],
    [{ percent: 0.5 }, 1000, 5],
  ])('%o of %i servers allows %i', (budget, chosen, allowed) => {
    expect(allowedFailures(budget, chosen)).toBe(allowed);
  });

  it.each([
    [0, 0, false],
    [1, 0, true],
    [2, 2, false],
    [3, 2, true],
  ])('%i failures against %i allowed: over = %s', (failures, allowed, over) => {
    expect(overBudget(failures, allowed)).toBe(over);
  });
});
