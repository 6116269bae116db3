import { run } from './main.js';
import { sourceMappedStack } from './util/stack.js';

try {
  const { cancelled } = await run();
  // Cancelled: outputs and summary are written; don't let idle keep-alive sockets or a
  // hashing worker hold the process until the runner kills it.
  if (cancelled) process.exit(1);
} catch (error) {
  // Only what run() could not report itself (the runner's own files unwritable, say).
  process.exitCode = 1;
  console.error(error instanceof Error && error.stack ? sourceMappedStack(error.stack) : String(error));
}
