/** The rollout inputs: `rollout`, `max-failures`, and `rollout` needing `wait`. */
import { describe, expect, it } from 'vitest';
import { config, KEYS, problems } from './fixtures.js';

describe('rollout and max-failures', () => {
  it('has the defaults of action.yml: one stage, no failure allowed', () => {
    const c = config(KEYS);
    expect([c.rollout, c.maxFailures]).toEqual([[], { count: 0 }]);
  });

  it('parses stages as counts and percentages', () => {
    expect(config({ ...KEYS, rollout: '1, 10%, 50%' }).rollout).toEqual([
      { count: 1 },
      { percent: 10 },
      { percent: 50 },
    ]);
    expect(config({ ...KEYS, rollout: '0.5%\n5 100%' }).rollout).toEqual([
      { percent: 0.5 },
      { count: 5 },
      { percent: 100 },
    ]);
  });

  it.each([
    ['0', /^stage '0' must be at least 1 server/],
    ['0%', /^stage '0%' must be a percentage above 0 and at most 100/],
    ['101%', /^stage '101%' must be a percentage above 0/],
    ['ten', /^stage 'ten' is neither a whole number nor a percentage/],
    ['-1', /^stage '-1' is neither/],
    ['10, 5', /^stage '5' is smaller than an earlier stage/],
    ['50%, 10%', /^stage '10%' is smaller than an earlier stage/],
    ['1,2,3,4,5,6,7,8,9,10,11', /^has 11 stages, at most 10 are allowed/],
  ])('refuses rollout %j', (rollout, message) => {
    const found = problems({ ...KEYS, rollout });
    expect(found).toHaveLength(1);
    expect(found[0]?.input).toBe('rollout');
    expect(found[0]?.message).toMatch(message);
    expect(found[0]?.message).toContain("write cumulative stage sizes such as '1, 10%, 50%'");
  });

  it('refuses a rollout without waiting', () => {
    expect(problems({ ...KEYS, rollout: '1', wait: 'false' })).toEqual([
      {
        input: 'rollout',
        message: "needs 'wait: true': each stage is waited for before the next one is pushed",
      },
    ]);
  });

  it.each([
    ['0', { count: 0 }],
    ['3', { count: 3 }],
    ['0%', { percent: 0 }],
    ['2.5%', { percent: 2.5 }],
    ['100%', { percent: 100 }],
  ])('reads max-failures %j', (raw, expected) => {
    expect(config({ ...KEYS, 'max-failures': raw }).maxFailures).toEqual(expected);
  });

  it.each(['-1', '101%', '1.5', 'some', '%'])('refuses max-failures %j', (raw) => {
    const found = problems({ ...KEYS, 'max-failures': raw });
    expect(found).toHaveLength(1);
    expect(found[0]).toEqual({
      input: 'max-failures',
      message: `must be a whole number of servers (0 or more) or a percentage from 0% to 100% such as '2%', got '${raw}'`,
    });
  });
});
