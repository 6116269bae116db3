import * as core from '@actions/core';
import { CancelledError } from '../errors.js';

/**
 * The runner cancels a job with SIGINT, then SIGTERM, then a kill a few seconds later. The first
 * signal aborts the run's AbortSignal: nothing new starts, requests and waits end at once, and
 * `run()` still writes the outputs and the summary. Returns the function that removes the handlers.
 */
export function onCancelSignal(cancel: AbortController): () => void {
  const handler = (name: NodeJS.Signals) => {
    if (cancel.signal.aborted) return;
    core.warning(`Received ${name}: cancelling — starting nothing new, writing what is known`);
    cancel.abort(new CancelledError(name));
    // A last resort should anything not honour the signal: the runner kills us soon anyway.
    setTimeout(() => process.exit(1), 4500).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
