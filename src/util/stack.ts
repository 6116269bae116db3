/**
 * Stack traces that point at src/ files and lines, read from dist/index.js.map only when an
 * unexpected error is reported. ncc's always-on register (source-map-support) was measured to
 * cost ~65 MiB and slower uploads, because undici formats stacks of its own routine errors and
 * each first format parses the 3.5 MB map; this costs nothing until it is needed.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `webpack://cph-publish/./src/main.ts` → `src/main.ts`; node_modules paths kept from there. */
function sourceName(source: string): string {
  const at = source.search(/(^|\/)(src|node_modules)\//);
  return at < 0 ? source : source.slice(at).replace(/^\//, '');
}

/**
 * Rewrites the frames of `stack` that point into the bundle at `bundleUrl` to the original files
 * and lines, using the `.map` next to it; returns `stack` unchanged when there is no map (the
 * tests run the TypeScript sources, whose frames already point at src/).
 */
export function sourceMappedStack(stack: string, bundleUrl: string = import.meta.url): string {
  let map: SourceMap;
  let bundlePath: string;
  try {
    bundlePath = fileURLToPath(bundleUrl);
    map = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')));
  } catch {
    return stack;
  }
  return stack.replace(
    /(file:\/\/\S+?|\/\S+?):(\d+):(\d+)(?=\)?$)/gm,
    (frame, file: string, line, column) => {
      if (file !== bundleUrl && file !== bundlePath) return frame;
      const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as {
        originalSource?: string;
        originalLine?: number;
        originalColumn?: number;
      };
      if (!entry.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) {
        return frame;
      }
      return `${sourceName(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    },
  );
}
