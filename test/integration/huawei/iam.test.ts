/** IamClient's project lookup against the emulator: exactly one project of the region, or a clear error. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { IamClient } from '../../../src/huawei/iam.js';
import { DEFAULT_PROJECT_ID, DEFAULT_REGION, type Emulator, startEmulator } from '../../emulator/index.js';
import { type TestContext, testContext } from '../../helpers/client-context.js';

let emu: Emulator;
let test: TestContext;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(() => emu.close());
beforeEach(async () => {
  emu.reset();
  await test?.close();
  test = testContext();
});

const HINT = `set the project-id input (or HUAWEI_CLOUD_PROJECT_ID) to the project of region ${DEFAULT_REGION}, or check region`;

async function lookupFailure(): Promise<ServiceError> {
  const outcome = await new IamClient(test.ctx, new URL(emu.url)).resolveProjectId(DEFAULT_REGION).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(ServiceError);
  return outcome as ServiceError;
}

describe('resolveProjectId', () => {
  it('finds the one project named after the region, signed', async () => {
    expect(await new IamClient(test.ctx, new URL(emu.url)).resolveProjectId(DEFAULT_REGION)).toBe(
      DEFAULT_PROJECT_ID,
    );
    const [sent] = emu.requestsFor('ListProjects');
    expect([sent?.query.name, sent?.authOk]).toEqual([DEFAULT_REGION, true]);
  });

  it('no project of that name: says so, with the request id and the project-id input', async () => {
    emu.projects.splice(0);
    const error = await lookupFailure();
    expect(error.detail).toBe(`no project named '${DEFAULT_REGION}' is visible to these credentials`);
    expect(error.requestId).toBe(emu.requestsFor('ListProjects')[0]?.requestId);
    expect(error.hint).toBe(HINT);
  });

  it('two projects of that name: cannot tell which', async () => {
    emu.projects.push({ id: 'f'.repeat(32), name: DEFAULT_REGION });
    const error = await lookupFailure();
    expect(error.detail).toBe(`2 projects are named '${DEFAULT_REGION}'; cannot tell which to use`);
  });

  it('an id that is not 32 hex digits is refused', async () => {
    emu.projects.splice(0, emu.projects.length, { id: 'not-an-id', name: DEFAULT_REGION });
    const error = await lookupFailure();
    expect(error.detail).toBe('the project id IAM returned is not 32 hex digits');
  });
});
