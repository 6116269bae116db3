import { expect } from 'vitest';

/** The error `promise` rejects with, checked to be an `E` (the test fails when it resolves or rejects with another). */
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(type);
  return outcome as E;
}
