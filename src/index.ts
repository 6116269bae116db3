import { run } from './main.js';

const { cancelled } = await run();
// Cancelled: outputs and summary are written; don't let idle keep-alive sockets or a
// hashing worker hold the process until the runner kills it.
if (cancelled) process.exit(1);
