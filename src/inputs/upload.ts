/** The object to publish and how it is uploaded: bucket, object path, local file, upload knobs. */

import { show } from '../util/text.js';
import { boolean, checkedBy, field, type Parsed, type Reader, whole, wholeNumber } from './reader.js';

export const BUCKET = field('bucket', '', checkedBy(bucketNameProblem));
export const OBJECT_PATH = field('object-path', '', checkedBy(objectPathProblem));
export const FILE = field('file', '', (raw) => ({ value: raw }));
export const UPLOAD_CONCURRENCY = field('upload-concurrency', 'auto', uploadConcurrency);
export const STRICT_LAYOUT = field('strict-layout', 'true', boolean);
export const SKIP_UNCHANGED = field('skip-unchanged', 'true', boolean);

export const UPLOAD_FIELDS = [BUCKET, OBJECT_PATH, FILE, UPLOAD_CONCURRENCY, STRICT_LAYOUT, SKIP_UNCHANGED];

export interface Target {
  bucket: string;
  objectPath: string;
  /** Absolute path of an existing regular file. */
  file: string | undefined;
}

export interface UploadSettings {
  /** `auto`: adapted to the link while uploading; else a fixed number of parts in flight. */
  uploadConcurrency: number | 'auto';
  strictLayout: boolean;
  skipUnchanged: boolean;
}

const REQUIRED: Record<string, string> = {
  bucket: 'OBS bucket name',
  'object-path': "OBS object key of the tar, e.g. 'releases/app.tar'",
};

/** `bucket`, `object-path` (both required) and `file`; undefined after a problem with the first two. */
export function readTarget(r: Reader): Target | undefined {
  const [bucket, objectPath] = [BUCKET, OBJECT_PATH].map((f) => {
    if (r.raw(f)) return r.read(f);
    r.report(f.name, `is required: set the ${REQUIRED[f.name]}`);
    return undefined;
  });
  const file = r.file(FILE);
  const read = whole({ bucket, objectPath });
  return read && { ...read, file };
}

export function readUploadSettings(r: Reader): UploadSettings | undefined {
  return whole({
    uploadConcurrency: r.read(UPLOAD_CONCURRENCY),
    strictLayout: r.read(STRICT_LAYOUT),
    skipUnchanged: r.read(SKIP_UNCHANGED),
  });
}

/** `auto`, or a fixed number of parts in flight from 1 to 64. */
function uploadConcurrency(raw: string): Parsed<number | 'auto'> {
  if (raw === 'auto') return { value: 'auto' };
  const fixed = wholeNumber(1, 64)(raw);
  return 'value' in fixed
    ? fixed
    : { problem: `must be 'auto' or a whole number from 1 to 64, got ${show(raw)}` };
}

/** Why `name` is not a valid OBS bucket name, or undefined when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `must be 3 to 63 characters long (got ${name.length})`;
  if (!/^[a-z0-9.-]+$/.test(name)) return "may contain only lowercase letters, digits, '-' and '.'";
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must start and end with a lowercase letter or digit';
  if (/\.\.|\.-|-\./.test(name)) return "must not contain '..', '.-' or '-.'";
  if (/^\d+(\.\d+){3}$/.test(name)) return 'must not be shaped like an IP address';
  return undefined;
}

/** Why `key` is not a valid object path for the tar, or undefined when it is. */
export function objectPathProblem(key: string): string | undefined {
  return objectKeyProblem(key, '.tar');
}

/**
 * Why `key` is not a valid OBS object key ending in `extension` (any case), or undefined when it
 * is: 1–1024 characters of `A-Z a-z 0-9 . / - _ + # =`, no leading `/`, no empty, `.` or `..` segment.
 */
export function objectKeyProblem(key: string, extension: string): string | undefined {
  if (key.startsWith('obs://')) return "must be the object key only, without 'obs://' and the bucket";
  if (key.length < 1 || key.length > 1024) return `must be 1 to 1024 characters long (got ${key.length})`;
  const bad = [...key].find((c) => !/[A-Za-z0-9./\-_+#=]/.test(c));
  if (bad !== undefined) return `may contain only letters, digits and . / - _ + # = (found ${show(bad)})`;
  if (key.startsWith('/')) return "must not start with '/'";
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    return "must not contain an empty, '.' or '..' path segment";
  }
  if (!key.toLowerCase().endsWith(extension)) return `must end in '${extension}'`;
  return undefined;
}
