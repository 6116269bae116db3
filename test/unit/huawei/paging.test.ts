/**
 * readAllPages: an offset-paged list read whole or not at all. Pages come from a script (no
 * request is made), so every offset asked for and every retry is exact.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { type ListPage, readAllPages } from '../../../src/huawei/paging.js';
import { fakeContext } from '../../helpers/fake-dispatcher.js';

type Page = ListPage<number> | Error;

/** A list of pages of 3, answered from `pages` in order; the offsets asked for are kept. */
function list(pages: Page[]) {
  const offsets: number[] = [];
  const script = [...pages];
  return {
    offsets,
    list: {
      service: 'CPH' as const,
      operation: 'ListThings',
      noun: 'things',
      pageSize: 3,
      read: async (offset: number) => {
        offsets.push(offset);
        const page = script.shift();
        if (page === undefined) throw new Error(`no page scripted for offset ${offset}`);
        if (page instanceof Error) throw page;
        return page;
      },
    },
  };
}

const page = (entries: number[], count?: number, requestId = 'rq'): ListPage<number> =>
  count === undefined ? { entries, requestId } : { entries, count, requestId };

describe('without a count', () => {
  it.each([
    ['an empty first page', [page([])], [], [0]],
    ['a short first page', [page([1, 2])], [1, 2], [0]],
    [
      'full pages, then a short one',
      [page([1, 2, 3]), page([4, 5, 6]), page([7])],
      [1, 2, 3, 4, 5, 6, 7],
      [0, 3, 6],
    ],
    ['full pages, then an empty one', [page([1, 2, 3]), page([])], [1, 2, 3], [0, 3]],
  ])('%s', async (_, pages, entries, offsets) => {
    const { ctx } = fakeContext();
    const l = list(pages);
    expect(await readAllPages(ctx, l.list)).toEqual(entries);
    expect(l.offsets).toEqual(offsets);
  });
});

describe('with a count', () => {
  it.each([
    ['a count of 0', [page([], 0)], [], [0]],
    ['exactly one page', [page([1, 2, 3], 3)], [1, 2, 3], [0]],
    ['a last page ending at count', [page([1, 2, 3], 5), page([4, 5], 5)], [1, 2, 3, 4, 5], [0, 3]],
    ['a count that shrank meanwhile', [page([1, 2, 3], 6), page([], 3)], [1, 2, 3], [0, 3]],
    [
      'a page longer than the rest of the count',
      [page([1, 2, 3], 4), page([4, 5], 4)],
      [1, 2, 3, 4, 5],
      [0, 3],
    ],
  ])('%s', async (_, pages, entries, offsets) => {
    const { ctx, logs } = fakeContext();
    const l = list(pages);
    expect(await readAllPages(ctx, l.list)).toEqual(entries);
    expect(l.offsets).toEqual(offsets);
    expect(logs).toEqual([]);
  });

  it('a short page is read again, with a notice, and the list goes on from where it was', async () => {
    const { ctx, logs } = fakeContext();
    const l = list([page([1, 2, 3], 7), page([4], 7), page([], 7), page([4, 5, 6], 7), page([7], 7)]);
    expect(await readAllPages(ctx, l.list)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(l.offsets).toEqual([0, 3, 3, 3, 6]);
    expect(logs).toEqual([
      'CPH ListThings: CPH ListThings failed: the list came back short: 4 of 7 things collected, the page at offset 3 had 1 (request id rq); retrying in 0.5 s (attempt 2 of 5)',
      'CPH ListThings: CPH ListThings failed: the list came back short: 3 of 7 things collected, the page at offset 3 had 0 (request id rq); retrying in 1.0 s (attempt 3 of 5)',
    ]);
  });

  it('a page short on every attempt fails, naming how far it got, the request id and what to do', async () => {
    const { ctx } = fakeContext([], { retry: { maxAttempts: 2 } });
    const l = list([page([1, 2, 3], 9), page([4], 9, 'rq-a'), page([4, 5], 9, 'rq-b')]);
    const error = await readAllPages(ctx, l.list).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    const e = error as ServiceError;
    expect([e.service, e.operation, e.requestId, e.detail, e.hint, e.status]).toEqual([
      'CPH',
      'ListThings',
      'rq-b',
      'the list came back short: 5 of 9 things collected, the page at offset 3 had 2',
      'CPH listed fewer things than its count; run again later (the action does not act on part of a list)',
      undefined,
    ]);
    expect(l.offsets).toEqual([0, 3, 3]);
  });

  it('a failed read is not repeated here (the request path has retried it already)', async () => {
    const { ctx, logs } = fakeContext();
    const boom = new ServiceError({ service: 'CPH', operation: 'ListThings', detail: 'boom' });
    const l = list([page([1, 2, 3], 9), boom]);
    expect(await readAllPages(ctx, l.list).catch((e: unknown) => e)).toBe(boom);
    expect(l.offsets).toEqual([0, 3]);
    expect(logs).toEqual([]);
  });

  it('a retry stops when the run is cancelled', async () => {
    const run = new AbortController();
    const { ctx } = fakeContext([], { signal: run.signal });
    const reason = new Error('cancelled');
    const l = list([page([1], 5)]);
    const read = l.list.read;
    l.list.read = async (offset) => {
      const p = await read(offset);
      run.abort(reason);
      return p;
    };
    expect(await readAllPages(ctx, l.list).catch((e: unknown) => e)).toBe(reason);
    expect(l.offsets).toEqual([0]);
  });
});
