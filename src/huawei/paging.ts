/**
 * Offset-paged lists, read whole or not at all (contract: *Choosing servers*): the action never
 * acts on part of a fleet because one page came back short.
 */
import { ServiceError, type ServiceName } from '../errors.js';
import { withRetry } from '../http/retry.js';
import { errorMessage } from '../util/text.js';
import { type ClientContext, retryHooks } from './context.js';

export interface ListPage<T> {
  entries: T[];
  /** How many entries the service says the whole list has, when it says. */
  count?: number;
  requestId: string | undefined;
}

export interface PagedList<T> {
  service: ServiceName;
  operation: string;
  /** What the entries are, plural: `servers`, `phone models`. */
  noun: string;
  pageSize: number;
  /** One page from `offset`; a malformed page or entry throws. */
  read(offset: number): Promise<ListPage<T>>;
}

/**
 * Every entry of the list. With a `count`, pages are read until that many entries are collected;
 * a page that ends before (short or empty) is read again like a failed read, and a list still
 * short fails, naming how far it got and the request id. Without a `count`, a page shorter than
 * the page size is the last.
 */
export async function readAllPages<T>(ctx: ClientContext, list: PagedList<T>): Promise<T[]> {
  const entries: T[] = [];
  for (;;) {
    const offset = entries.length;
    const shortPages = new WeakSet<object>();
    const page = await withRetry(
      async () => {
        const page = await list.read(offset);
        const expected = page.count === undefined ? 0 : page.count - offset;
        if (expected > 0 && page.entries.length < Math.min(expected, list.pageSize)) {
          const error = new ServiceError({
            service: list.service,
            operation: list.operation,
            requestId: page.requestId,
            detail:
              `the list came back short: ${offset + page.entries.length} of ${page.count} ${list.noun} ` +
              `collected, the page at offset ${offset} had ${page.entries.length}`,
            hint: `${list.service} listed fewer ${list.noun} than its count; run again later (the action does not act on part of a list)`,
          });
          shortPages.add(error);
          throw error;
        }
        return page;
      },
      (outcome) =>
        'error' in outcome
          ? { retry: shortPages.has(outcome.error as object), reason: errorMessage(outcome.error) }
          : { retry: false, reason: '' },
      ctx.retry,
      retryHooks(ctx, `${list.service} ${list.operation}`),
    );
    entries.push(...page.entries);
    const done =
      page.count === undefined
        ? page.entries.length < list.pageSize
        : entries.length >= page.count || page.entries.length === 0;
    if (done) return entries;
  }
}
