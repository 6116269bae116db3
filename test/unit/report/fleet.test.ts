import { describe, expect, it } from 'vitest';
import type { PreflightVerdict } from '../../../src/fleet/preflight.js';
import { planStages } from '../../../src/fleet/stages.js';
import {
  budgetText,
  choiceLine,
  nothingToPush,
  overBudgetReason,
  plannedStageLines,
  preflightLine,
  rejectedWarning,
  skippedMessage,
  skippedWarning,
  stageGroup,
  stageSummaryLines,
  stagesLine,
  stoppedLine,
  unknownStorageWarning,
  withinBudgetWarning,
} from '../../../src/report/fleet.js';

describe('fleet wording', () => {
  it('names a group per stage only when there are stages', () => {
    expect(stageGroup('Push', 1, 1)).toBe('Push');
    expect(stageGroup('Wait', 2, 2)).toBe('Wait (stage 2 of 2)');
  });

  it('says how the servers were chosen', () => {
    expect(choiceLine({ given: 2, byName: 30 }, 330)).toBe(
      '32 servers chosen (2 by id, 30 by name) of 330 servers in the project',
    );
    expect(choiceLine({ given: 1, byName: 0 }, undefined)).toBe('1 server chosen (1 by id)');
  });

  it('budgets: a count, or a percentage with what it allows', () => {
    expect(budgetText({ count: 2 }, 2, 60)).toBe('max-failures 2');
    expect(budgetText({ percent: 4 }, 2, 60)).toBe('max-failures 4% (2 of 60 servers)');
    expect(overBudgetReason(3, 'max-failures 2')).toBe(
      '3 servers rejected or failed, more than max-failures 2',
    );
    expect(skippedMessage(2, 'x')).toBe('not pushed: the rollout stopped after stage 2: x');
    expect(withinBudgetWarning(['a', 'b'], 'max-failures 3')).toBe(
      '2 servers rejected or failed, within max-failures 3: a, b — the step stays green; see jobs for each error',
    );
  });

  it('warns once about skipped servers, naming at most 20', () => {
    const skipped: PreflightVerdict[] = Array.from({ length: 22 }, (_, i) => ({
      server: { id: `id${i}`, name: `n${i}`, given: false },
      verdict: 'skipped',
      reason: 'not running: shut down (status 10)',
    }));
    const line = skippedWarning(skipped) ?? '';
    expect(line).toMatch(
      /^pre-flight: skipping 22 servers chosen by name that are not running — n0 \(id0\): shut down \(status 10\), /,
    );
    expect(line).toMatch(/n19 \(id19\): shut down \(status 10\) … and 2 more$/);
    expect(skippedWarning([])).toBeUndefined();
  });

  it('explains why nothing is left to push', () => {
    expect(nothingToPush(0, ['Game-*'], { rejected: 0, skipped: 0 })).toMatch(
      /^no server to push: no server name in the project matches server-names Game-\* — names match whole/,
    );
    expect(nothingToPush(2, ['g-*'], { rejected: 1, skipped: 1 })).toMatch(
      /^no server to push: pre-flight refused all 2 servers chosen \(1 rejected, 1 skipped;/,
    );
  });

  it('plans the stages of the ids given in a dry run', () => {
    expect(plannedStageLines(planStages(3, [{ count: 1 }]), ['a', 'b', 'c'], true)).toEqual([
      'Stage 1: 1 server (a)',
      'Stage 2: 2 servers (b, c)',
      'Servers chosen by name are resolved at run time, so the stages of the real run may be larger',
    ]);
  });

  it('summarises a line per stage and where the rollout stopped', () => {
    expect(
      stageSummaryLines(
        [
          { number: 1, servers: 1, succeeded: 1, failed: 0, unfinished: 0, skipped: 0 },
          {
            number: 2,
            servers: 29,
            succeeded: 26,
            failed: 3,
            unfinished: 0,
            skipped: 0,
            stopped: 'too many',
          },
        ],
        3,
        270,
      ),
    ).toEqual([
      '- Stage 1: 1 server — 1 succeeded, 0 failed',
      '- Stage 2: 29 servers — 26 succeeded, 3 failed',
      '- The rollout stopped after stage 2 of 3: too many; 270 skipped',
    ]);
  });

  it('says pre-flight counts in the right number, leaving out the ones that are 0', () => {
    expect(preflightLine(1, 0, 0)).toBe('Pre-flight: 1 server to push');
    expect(preflightLine(3, 1, 0)).toBe('Pre-flight: 3 servers to push, 1 rejected');
    expect(preflightLine(0, 2, 5)).toBe('Pre-flight: 0 servers to push, 2 rejected, 5 skipped');
    expect(nothingToPush(1, ['g-*'], { rejected: 1, skipped: 0 })).toMatch(
      /^no server to push: pre-flight refused all 1 server chosen \(1 rejected; see jobs and the warnings\) — /,
    );
  });

  it('says stages and where a rollout stopped without "0 skipped"', () => {
    expect(stagesLine(planStages(30, [{ count: 1 }, { percent: 10 }, { percent: 50 }]))).toBe(
      'Rollout: 4 stages of 1, 2, 12, 15 servers',
    );
    expect(stoppedLine(1, 2, 'too many', 0)).toBe('The rollout stopped after stage 1 of 2: too many');
    expect(stoppedLine(1, 2, 'too many', 1)).toBe(
      'The rollout stopped after stage 1 of 2: too many; 1 skipped',
    );
  });

  it('escapes server names, flavors, ids and reasons from the service', () => {
    const rejected: PreflightVerdict[] = [
      {
        server: { id: 'id\n1', name: '::error::fake', given: false },
        verdict: 'rejected',
        reason: 'flavor x\ny has no shared storage',
      },
    ];
    expect(rejectedWarning(rejected)).toBe(
      'pre-flight: not pushing to 1 server that cannot take it — ' +
        '\\u{3a}\\u{3a}error:\\u{3a}fake (id\\n1): flavor x\\ny has no shared storage',
    );
    expect(unknownStorageWarning({ flavor: 'f\r\n##[error]', why: 'no-spec', serverIds: ['::a'] })).toBe(
      'flavor f\\r\\n##\\u{5b}error] has no extend_spec: cannot tell whether it has shared storage; ' +
        'pushing anyway to its 1 server (\\u{3a}\\u{3a}a)',
    );
    expect(withinBudgetWarning(['a\nb'], 'max-failures 1')).toBe(
      '1 server rejected or failed, within max-failures 1: a\\nb — the step stays green; see jobs for each error',
    );
    expect(skippedMessage(1, 'x\ny')).toBe('not pushed: the rollout stopped after stage 1: x\\ny');
  });
});
