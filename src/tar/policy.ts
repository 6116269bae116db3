/**
 * The safety policy: is each archive member safe to unpack into a phone's /data and /cache?
 * It sees members as the parser reports them (paths and link targets already resolved from pax
 * and GNU records) and knows nothing of the bytes they came from, so a rule can change here
 * without touching the parser.
 *
 * Refused: absolute and `..` paths, empty paths, device files and FIFOs, entry types an
 * extractor may not know, links whose target leaves the archive (also through an in-archive
 * symlink followed by `..`), and with strict layout anything outside the top-level `data` and
 * `cache` directories.
 */

import { describeType, printableTypeflag, type TarEntryType } from './header.js';
import type { TarEntry } from './parser.js';
import type { ProblemSink, TarProblemCode } from './problems.js';

const ALLOWED_TOP_LEVEL = new Set(['data', 'cache']);
const WINDOWS_ABSOLUTE = /^(?:[A-Za-z]:[\\/]|\\\\)/;

export interface TarPolicyOptions {
  /** Refuse entries outside the top-level directories `data` and `cache`. */
  strictLayout: boolean;
}

/** Candidate `..` step through a path that must not turn out to be a symlink. */
interface DotDotStep {
  entry: string;
  kind: string;
  target: string;
}

/**
 * Checks members one by one, in archive order. It keeps what later members need: the symlinks
 * seen so far, the `..` steps links took, and which top-level names were already reported.
 */
export class TarSafetyPolicy {
  private readonly strictLayout: boolean;
  private readonly topLevelNames = new Set<string>();
  private readonly reportedTopLevel = new Set<string>();
  private readonly symlinks = new Set<string>();
  private readonly dotDotSteps = new Map<string, DotDotStep>();
  private readonly linkEntriesFlagged = new Set<string>();

  constructor(
    options: TarPolicyOptions,
    private readonly problem: ProblemSink,
  ) {
    this.strictLayout = options.strictLayout;
  }

  /** Sorted unique first path segments of the members with a well-formed path. */
  get topLevel(): string[] {
    return [...this.topLevelNames].sort();
  }

  check({ path, type, typeflag, linkTarget }: TarEntry): void {
    const pathProblem = checkPathShape(path);
    if (pathProblem) this.problem(path, pathProblem.reason, pathProblem.code);

    switch (type) {
      case 'character-device':
      case 'block-device':
      case 'fifo':
        this.problem(path, `${describeType(type)} entries are not allowed`, 'device');
        break;
      case 'gnu-multivolume':
        this.problem(
          path,
          "multi-volume continuation entry (type 'M'): pass a complete single-volume tar",
          'entry-type',
        );
        break;
      case 'unknown':
        this.problem(path, `unsupported entry type '${printableTypeflag(typeflag)}'`, 'entry-type');
        break;
    }

    const segments = pathProblem ? undefined : normalSegments(path);
    if (segments && (type === 'link' || type === 'symlink')) {
      this.checkLink(path, segments, type, linkTarget ?? '');
    }
    if (segments === undefined || segments.length === 0) return;

    const top = segments[0]!;
    this.topLevelNames.add(top);
    if (type === 'symlink') this.registerSymlink(segments.join('/'));

    if (this.strictLayout) this.checkLayout(path, top, segments.length === 1, type);
  }

  private checkLayout(path: string, top: string, atTop: boolean, type: TarEntryType): void {
    const isTopLevelNonDir = atTop && type !== 'directory' && type !== 'gnu-dumpdir';
    if (ALLOWED_TOP_LEVEL.has(top) && !isTopLevelNonDir) return;
    if (this.reportedTopLevel.has(top)) return;
    this.reportedTopLevel.add(top);
    if (ALLOWED_TOP_LEVEL.has(top)) {
      this.problem(
        path,
        `top-level '${top}' is a ${describeType(type)}, not a directory (strict-layout)`,
        'layout',
      );
    } else if (isTopLevelNonDir) {
      this.problem(
        path,
        `top-level ${describeType(type)} '${top}' is outside 'data' and 'cache' (strict-layout)`,
        'layout',
      );
    } else {
      this.problem(path, `top-level directory '${top}' is not 'data' or 'cache' (strict-layout)`, 'layout');
    }
  }

  private checkLink(path: string, segments: string[], type: 'link' | 'symlink', target: string): void {
    const kind = type === 'symlink' ? 'symlink' : 'hard link';
    if (target === '') {
      this.problem(path, `${kind} has an empty target`, 'link-target');
      return;
    }
    if (target.includes('\0')) {
      this.problem(path, `${kind} target contains a NUL byte`, 'link-target');
      return;
    }
    if (isAbsolute(target)) {
      this.problem(path, `${kind} target '${target}' is absolute`, 'link-target');
      return;
    }
    // Symlink targets resolve against the link's directory, hard link targets against the root.
    const stack = type === 'symlink' ? segments.slice(0, -1) : [];
    const steps: string[] = [];
    for (const seg of target.split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg !== '..') {
        stack.push(seg);
        continue;
      }
      if (stack.length === 0) {
        this.problem(path, `${kind} target '${target}' points outside the archive`, 'link-target');
        return;
      }
      // A '..' after passing through an in-archive symlink is resolved from wherever that
      // symlink points, so the lexical check above is only sound if none of these is a symlink.
      for (let i = 1; i <= stack.length; i++) steps.push(stack.slice(0, i).join('/'));
      stack.pop();
    }
    for (const step of steps) {
      if (this.symlinks.has(step)) {
        this.flagThroughSymlink({ entry: path, kind, target }, step);
        return;
      }
      if (!this.dotDotSteps.has(step)) this.dotDotSteps.set(step, { entry: path, kind, target });
    }
  }

  private registerSymlink(normalPath: string): void {
    this.symlinks.add(normalPath);
    const step = this.dotDotSteps.get(normalPath);
    if (step) this.flagThroughSymlink(step, normalPath);
  }

  private flagThroughSymlink(step: DotDotStep, symlink: string): void {
    if (this.linkEntriesFlagged.has(step.entry)) return;
    this.linkEntriesFlagged.add(step.entry);
    this.problem(
      step.entry,
      `${step.kind} target '${step.target}' goes through the symlink '${symlink}' and then '..', so it can point outside the archive`,
      'link-target',
    );
  }
}

function isAbsolute(p: string): boolean {
  return p.startsWith('/') || WINDOWS_ABSOLUTE.test(p);
}

/** The path's own shape, before any link or layout rule: empty, NUL, absolute, `..`. */
export function checkPathShape(path: string): { reason: string; code: TarProblemCode } | undefined {
  if (path === '') return { reason: 'empty path', code: 'empty-path' };
  // Only a pax value can hold a NUL; C programs would cut the path there and see another name.
  if (path.includes('\0')) return { reason: 'path contains a NUL byte', code: 'bad-header' };
  if (path.startsWith('/')) return { reason: 'absolute path', code: 'absolute-path' };
  if (WINDOWS_ABSOLUTE.test(path)) {
    return { reason: 'absolute path (Windows drive or UNC form)', code: 'absolute-path' };
  }
  // Backslash counts as a separator here: harmless on the phone, but a '..\' path is a mistake.
  if (path.split(/[\\/]/).includes('..')) return { reason: "path has a '..' segment", code: 'dotdot' };
  return undefined;
}

/** Path segments without empty and `.` segments: `./data//x/` → `['data', 'x']`. */
function normalSegments(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}
