// ncc writes dist/package.json for ESM output only on some versions; keep dist/
// to the files the action needs, the same on every machine.
import { existsSync, readdirSync } from 'node:fs';

const files = readdirSync(new URL('../dist/', import.meta.url));
if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
  console.error(`npm run bundle: dist/index.js is missing (dist has ${files.join(', ')})`);
  process.exit(1);
}
