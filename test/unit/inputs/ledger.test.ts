/** The release ledger's inputs: `ledger`, `skip-current`, `prune`, and the rules between them. */
import { describe, expect, it } from 'vitest';
import { config, KEYS, problems } from './fixtures.js';

describe('ledger, skip-current, prune', () => {
  it('has the defaults of action.yml: no ledger, skip-current on, prune off', () => {
    const c = config(KEYS);
    expect([c.ledger, c.skipCurrent, c.prune]).toEqual([undefined, true, false]);
  });

  it('reads a ledger with skip-current and prune', () => {
    const c = config({ ...KEYS, ledger: ' state/ledger.JSON ', 'skip-current': 'False', prune: 'TRUE' });
    expect([c.ledger, c.skipCurrent, c.prune]).toEqual(['state/ledger.JSON', false, true]);
  });

  it('reads a ledger in the same folder as the tar', () => {
    expect(config({ ...KEYS, ledger: 'releases/ledger.json' }).ledger).toBe('releases/ledger.json');
  });

  it.each([
    ['state/ledger.txt', "must end in '.json', got 'state/ledger.txt'"],
    ['/ledger.json', "must not start with '/', got '/ledger.json'"],
    ['a//ledger.json', "must not contain an empty, '.' or '..' path segment, got 'a//ledger.json'"],
    [
      'obs://my-bucket/ledger.json',
      "must be the object key only, without 'obs://' and the bucket, got 'obs://my-bucket/ledger.json'",
    ],
    ['led ger.json', "may contain only letters, digits and . / - _ + # = (found ' '), got 'led ger.json'"],
  ])('refuses the ledger %j with the rules of object-path', (ledger, message) => {
    expect(problems({ ...KEYS, ledger })).toEqual([{ input: 'ledger', message }]);
  });

  it('refuses a ledger that is the tar itself', () => {
    expect(problems({ ...KEYS, ledger: 'releases/app.tar' })).toEqual([
      {
        input: 'ledger',
        message:
          "must not be the object of 'object-path' ('releases/app.tar'): writing the ledger would overwrite the tar; " +
          "use a key of its own such as 'releases/ledger.json'",
      },
    ]);
  });

  it('refuses a ledger without waiting', () => {
    expect(problems({ ...KEYS, ledger: 'state/ledger.json', wait: 'false' })).toEqual([
      {
        input: 'ledger',
        message:
          "needs 'wait: true': a server's entry is written once its job has ended; set 'wait: true' or leave 'ledger' empty",
      },
    ]);
  });

  it('refuses prune without a ledger', () => {
    expect(problems({ ...KEYS, prune: 'true' })).toEqual([
      {
        input: 'prune',
        message:
          "needs 'ledger': pruning deletes what the bundle a server held before had, and only the ledger knows it; " +
          "set 'ledger' to an OBS object key such as 'releases/ledger.json', or set 'prune: false'",
      },
    ]);
  });

  it('reports a bad ledger, waiting off and a bad skip-current together', () => {
    expect(
      problems({ ...KEYS, ledger: 'ledger.txt', wait: 'false', 'skip-current': 'yes' }).map((p) => p.input),
    ).toEqual(['ledger', 'skip-current', 'ledger']);
  });

  it('allows skip-current and prune: false without a ledger (they only mean something with one)', () => {
    const c = config({ ...KEYS, 'skip-current': 'false', prune: 'false' });
    expect([c.ledger, c.skipCurrent, c.prune]).toEqual([undefined, false, false]);
  });

  it.each(['skip-current', 'prune'])('refuses a %s that is not a boolean', (input) => {
    expect(problems({ ...KEYS, ledger: 'state/ledger.json', [input]: 'yes' })).toEqual([
      { input, message: "must be true or false (also True, TRUE, False, FALSE), got 'yes'" },
    ]);
  });
});
