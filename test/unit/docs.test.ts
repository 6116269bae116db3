/**
 * The documentation is part of the contract: the README's Inputs and Outputs tables must say what
 * action.yml says, every example must use inputs that exist, every link must land, and every error
 * code the action gives a hint for must be explained in docs/TROUBLESHOOTING.md.
 *
 * action.yml is read with a small line parser instead of a YAML library: the file has one regular
 * shape (sections, two-space-indented names, four-space-indented scalar keys), and the parser
 * refuses any line it does not understand, so a change of shape fails here loudly.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').replace(/\r\n/g, '\n');

// ---------------------------------------------------------------------------------------------
// action.yml

interface ActionEntry {
  name: string;
  /** Scalar keys of the entry (`description`, `required`, `default`), values unquoted. */
  fields: Record<string, string>;
}

interface ActionFile {
  /** Top-level scalar keys (`name`, `description`, `author`). */
  top: Record<string, string>;
  /** Sections of named entries (`inputs`, `outputs`), in file order. */
  sections: Record<string, ActionEntry[]>;
  /** Sections of scalar keys (`runs`, `branding`). */
  maps: Record<string, Record<string, string>>;
}

/** A YAML scalar as written on one line: single-quoted, double-quoted or plain. */
function yamlScalar(raw: string, where: string): string {
  const text = raw.trim();
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text))
      throw new Error(`${where}: unterminated single-quoted string: ${text}`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      throw new Error(`${where}: double-quoted string this parser cannot read: ${text}`);
    }
  }
  // Plain scalar: a comment starts at ` #`.
  const hash = text.search(/\s#/);
  return (hash === -1 ? text : text.slice(0, hash)).trim();
}

function parseActionYml(text: string): ActionFile {
  const result: ActionFile = { top: {}, sections: {}, maps: {} };
  let section: string | undefined;
  let entry: ActionEntry | undefined;
  /** Indentation of a block scalar's key, while its lines are being skipped. */
  let blockIndent: number | undefined;
  let blockTarget: { record: Record<string, string>; key: string } | undefined;

  text.split(/\r?\n/).forEach((line, index) => {
    const where = `action.yml line ${index + 1}`;
    const indent = line.length - line.trimStart().length;
    if (blockIndent !== undefined) {
      if (line.trim() === '' || indent > blockIndent) {
        if (blockTarget) {
          const sep = blockTarget.record[blockTarget.key] ? ' ' : '';
          blockTarget.record[blockTarget.key] += sep + line.trim();
        }
        return;
      }
      blockIndent = undefined;
      blockTarget = undefined;
    }
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    if (line.includes('\t')) throw new Error(`${where}: tab in indentation`);
    const match = /^( *)([A-Za-z0-9_-]+):(?: (.*))?$/.exec(line);
    if (!match) throw new Error(`${where}: not a 'key: value' line this parser understands: ${line}`);
    const key = match[2] as string;
    const rawValue = match[3] ?? '';
    const isBlock = /^[|>][-+]?$/.test(rawValue.trim());
    const value = isBlock ? '' : yamlScalar(rawValue, where);

    const startBlock = (record: Record<string, string>) => {
      if (!isBlock) return;
      blockIndent = indent;
      blockTarget = { record, key };
    };

    if (indent === 0) {
      section = undefined;
      entry = undefined;
      if (rawValue.trim() === '') {
        section = key;
        if (key === 'inputs' || key === 'outputs') result.sections[key] = [];
        else result.maps[key] = {};
      } else {
        result.top[key] = value;
        startBlock(result.top);
      }
      return;
    }
    if (!section) throw new Error(`${where}: indented line outside a section`);
    const entries = result.sections[section];
    if (entries) {
      if (indent === 2) {
        if (rawValue.trim() !== '') throw new Error(`${where}: expected '${key}:' to open an entry`);
        entry = { name: key, fields: {} };
        entries.push(entry);
        return;
      }
      if (indent === 4 && entry) {
        entry.fields[key] = value;
        startBlock(entry.fields);
        return;
      }
      throw new Error(`${where}: unexpected indentation ${indent} in '${section}'`);
    }
    const map = result.maps[section] as Record<string, string>;
    if (indent !== 2) throw new Error(`${where}: unexpected indentation ${indent} in '${section}'`);
    map[key] = value;
    startBlock(map);
  });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Markdown

/** The cells of a Markdown table row, split on unescaped `|`, trimmed, `\|` unescaped. */
function tableCells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/** The rows (without header and separator) of the first table under `## <heading>`. */
function tableUnder(markdown: string, heading: string): string[][] {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((line) => line.trim() === `## ${heading}`);
  if (start === -1) throw new Error(`no '## ${heading}' heading`);
  const rows: string[][] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^#{1,2} /.test(line)) break;
    if (line.trimStart().startsWith('|')) rows.push(tableCells(line));
    else if (rows.length > 0) break;
  }
  if (rows.length < 2) throw new Error(`no table under '## ${heading}'`);
  if (!rows[1]?.every((cell) => /^:?-{3,}:?$/.test(cell))) {
    throw new Error(`the table under '## ${heading}' has no separator row`);
  }
  return rows.slice(2);
}

/** `name` from a cell written as `` `name` ``, else undefined. */
function codeName(cell: string): string | undefined {
  return /^`([^`]+)`$/.exec(cell)?.[1];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6} (.+)$/.exec(line);
    if (heading) anchors.add(githubSlug(heading[1] as string));
  }
  return anchors;
}

/** The fenced code blocks of a Markdown text whose info string is one of `langs`. */
function codeBlocks(markdown: string, langs: string[]): string[] {
  const blocks: string[] = [];
  const re = /^```(\w*)[^\n]*\n([\s\S]*?)^```/gm;
  for (const m of markdown.matchAll(re)) if (langs.includes(m[1] as string)) blocks.push(m[2] as string);
  return blocks;
}

/** Keys under `with:` of every step in `yaml` that uses this action (`uses: ./` or `…/cph-publish@…`). */
function actionWithKeys(yaml: string): Array<{ line: number; keys: string[] }> {
  const lines = yaml.split(/\r?\n/);
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const found: Array<{ line: number; keys: string[] }> = [];
  lines.forEach((line, i) => {
    const uses = /^(\s*)(- )?uses:\s*(\S+)/.exec(line);
    if (!uses || !(uses[3] === './' || /(^|\/)cph-publish@/.test(uses[3] as string))) return;
    const keyIndent = (uses[1] as string).length + (uses[2] ? 2 : 0);
    const keys: string[] = [];
    let withIndent: number | undefined;
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j] as string;
      if (next.trim() === '' || next.trim().startsWith('#')) continue;
      const indent = indentOf(next);
      if (withIndent === undefined) {
        if (indent < keyIndent || (indent === keyIndent && next.trimStart().startsWith('- '))) break;
        if (indent === keyIndent && /^\s*with:\s*$/.test(next)) withIndent = indent;
        continue;
      }
      if (indent <= withIndent) break;
      const key = /^\s*([A-Za-z0-9_-]+):/.exec(next);
      if (key) keys.push(key[1] as string);
    }
    found.push({ line: i + 1, keys });
  });
  return found;
}

// ---------------------------------------------------------------------------------------------

const action = parseActionYml(read('action.yml'));
const readme = read('README.md');
const inputs = action.sections['inputs'] ?? [];
const outputs = action.sections['outputs'] ?? [];

/** What is wrong between action.yml's inputs and the README's Inputs table rows. */
function inputTableProblems(declared: ActionEntry[], rows: string[][]): string[] {
  const problems: string[] = [];
  const names = rows.map((row) => codeName(row[0] ?? '') ?? `(not a \`name\` cell: ${row[0]})`);
  const expected = declared.map((input) => input.name);
  if (names.join(',') !== expected.join(',')) {
    problems.push(`README inputs [${names.join(', ')}] differ from action.yml [${expected.join(', ')}]`);
  }
  for (const input of declared) {
    const row = rows.find((r) => codeName(r[0] ?? '') === input.name);
    if (!row) continue;
    if (row.length !== 4) problems.push(`${input.name}: expected 4 cells, got ${row.length}`);
    const [, defaultCell = '', requiredCell = '', description = ''] = row;
    const def = input.fields['default'] ?? '';
    if (def === '') {
      if (!defaultCell.startsWith('—'))
        problems.push(`${input.name}: empty default must be shown as '—', got '${defaultCell}'`);
    } else if (defaultCell !== `\`${def}\``) {
      problems.push(`${input.name}: default in action.yml is '${def}', README says '${defaultCell}'`);
    }
    const required = input.fields['required'] === 'true' ? 'yes' : 'no';
    if (requiredCell !== required)
      problems.push(`${input.name}: required is '${required}' in action.yml, README says '${requiredCell}'`);
    if (description === '') problems.push(`${input.name}: no description`);
  }
  return problems;
}

function outputTableProblems(declared: ActionEntry[], rows: string[][]): string[] {
  const problems: string[] = [];
  const names = rows.map((row) => codeName(row[0] ?? '') ?? `(not a \`name\` cell: ${row[0]})`);
  const expected = declared.map((output) => output.name);
  if (names.join(',') !== expected.join(',')) {
    problems.push(`README outputs [${names.join(', ')}] differ from action.yml [${expected.join(', ')}]`);
  }
  for (const row of rows) {
    if (row.length !== 2) problems.push(`${row[0]}: expected 2 cells, got ${row.length}`);
    if (!row[1]) problems.push(`${row[0]}: no description`);
  }
  return problems;
}

describe('action.yml, as the docs test reads it', () => {
  it('declares the inputs and outputs of the contract, in order', () => {
    expect(inputs.map((i) => i.name)).toEqual([
      'region',
      'project-id',
      'access-key-id',
      'secret-access-key',
      'security-token',
      'identity-provider',
      'audience',
      'bucket',
      'object-path',
      'file',
      'server-ids',
      'server-ids-file',
      'server-names',
      'preflight',
      'rollout',
      'max-failures',
      'upload-concurrency',
      'batch-size',
      'wait',
      'wait-timeout',
      'poll-interval',
      'strict-layout',
      'skip-unchanged',
      'dry-run',
      'summary',
      'cph-endpoint',
      'obs-endpoint',
      'iam-endpoint',
    ]);
    expect(outputs.map((o) => o.name)).toEqual([
      'project-id',
      'object-url',
      'uploaded',
      'request-ids',
      'job-ids',
      'jobs',
      'succeeded-server-ids',
      'failed-server-ids',
      'skipped-server-ids',
      'report-file',
      'truncated-outputs',
    ]);
  });

  it('gives every input a description and a required flag, and every optional input a default', () => {
    for (const input of inputs) {
      expect(input.fields['description'], input.name).toBeTruthy();
      expect(['true', 'false'], input.name).toContain(input.fields['required']);
      if (input.fields['required'] === 'false') expect(input.fields, input.name).toHaveProperty('default');
    }
  });

  it('runs on the Node version CI sets up from .node-version', () => {
    expect(action.maps['runs']).toEqual({
      using: `node${read('.node-version').trim()}`,
      main: 'dist/index.js',
    });
  });

  it('reads quoted and plain scalars, and refuses a shape it does not know', () => {
    const parsed = parseActionYml(
      [
        "name: 'A'",
        'inputs:',
        '  x:',
        "    description: 'it''s: \"quoted\"' ",
        '    default: "1"',
        '  y:',
        '    description: plain text # comment',
        '    required: true',
        'runs:',
        '  using: node24',
      ].join('\n'),
    );
    expect(parsed.top).toEqual({ name: 'A' });
    expect(parsed.sections['inputs']).toEqual([
      { name: 'x', fields: { description: 'it\'s: "quoted"', default: '1' } },
      { name: 'y', fields: { description: 'plain text', required: 'true' } },
    ]);
    expect(() => parseActionYml('inputs:\n  x:\n      deep: 1')).toThrow(/indentation 6/);
    expect(() => parseActionYml('inputs:\n  - x')).toThrow(/line 2/);
  });
});

describe('README', () => {
  it('lists every input of action.yml, in order, with its default and required flag', () => {
    expect(inputTableProblems(inputs, tableUnder(readme, 'Inputs'))).toEqual([]);
  });

  it('documents every output of action.yml, in order', () => {
    expect(outputTableProblems(outputs, tableUnder(readme, 'Outputs'))).toEqual([]);
  });

  it('fails the comparison when action.yml gains an input the README does not list', () => {
    const rows = tableUnder(readme, 'Inputs');
    const extra: ActionEntry = {
      name: 'new-input',
      fields: { description: 'd', required: 'false', default: '' },
    };
    expect(inputTableProblems([...inputs, extra], rows)).toEqual([
      expect.stringContaining('differ from action.yml'),
    ]);
    const changedDefault = inputs.map((i) =>
      i.name === 'batch-size' ? { ...i, fields: { ...i.fields, default: '50' } } : i,
    );
    expect(inputTableProblems(changedDefault, rows)).toEqual([
      "batch-size: default in action.yml is '50', README says '`100`'",
    ]);
    const extraOutput: ActionEntry = { name: 'new-output', fields: { description: 'd' } };
    expect(outputTableProblems([...outputs, extraOutput], tableUnder(readme, 'Outputs'))).toHaveLength(1);
  });

  it('uses only declared inputs in its examples', () => {
    const declared = new Set(inputs.map((i) => i.name));
    const steps = codeBlocks(readme, ['yaml', 'yml']).flatMap(actionWithKeys);
    expect(steps.length).toBeGreaterThanOrEqual(5);
    for (const step of steps) {
      expect(
        step.keys.filter((key) => !declared.has(key)),
        `example step at block line ${step.line}`,
      ).toEqual([]);
    }
  });

  it('documents every environment variable the action reads', () => {
    const sources = ['src/main.ts', 'src/run/context.ts', 'src/inputs.ts'].map(read).join('\n');
    const names = new Set(sources.match(/\b(?:CPH_PUBLISH|HUAWEI_CLOUD|HUAWEICLOUD_SDK)_[A-Z_]+\b/g));
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of names) expect(readme, name).toContain(`\`${name}\``);
  });

  it('gives the development commands exactly', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
    expect(readme).toContain('bash .ci/run');
    expect(readme).toContain('npm run emulator');
  });
});

describe('docs/TROUBLESHOOTING.md', () => {
  it('explains every error code the action has a hint for', () => {
    const hints = read('src/hints.ts');
    const codes = [...hints.matchAll(/case '([^']+)':/g)].map((m) => m[1] as string);
    expect(codes.length).toBeGreaterThanOrEqual(10);
    const troubleshooting = read('docs/TROUBLESHOOTING.md');
    expect(codes.filter((code) => !troubleshooting.includes(code))).toEqual([]);
  });
});

describe('links between the documents', () => {
  const docs = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'CHANGELOG.md', 'docs/TROUBLESHOOTING.md'];
  if (existsSync(path.join(ROOT, 'docs/setup-huawei-cloud.md'))) docs.push('docs/setup-huawei-cloud.md');

  it.each(docs)('%s links only to files and headings that exist', (doc) => {
    const text = read(doc);
    const prose = text.replace(/^```[\s\S]*?^```/gm, '');
    const broken: string[] = [];
    for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file ? path.join(path.dirname(doc), file) : doc;
      if (!existsSync(path.join(ROOT, resolved))) {
        broken.push(`${target}: no file ${resolved}`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${resolved}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('makes anchors the way GitHub does', () => {
    expect(githubSlug('APIG.0308 / HTTP 429: throttled')).toBe('apig0308--http-429-throttled');
    expect(githubSlug('Advanced: tuning knobs')).toBe('advanced-tuning-knobs');
    expect(githubSlug('Fire and forget: `wait: false`')).toBe('fire-and-forget-wait-false');
  });
});

describe('CHANGELOG.md', () => {
  it('has an Unreleased section first, then one for the version in package.json', () => {
    const changelog = read('CHANGELOG.md');
    const version = (JSON.parse(read('package.json')) as { version: string }).version;
    const sections = [...changelog.matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1]);
    expect(sections[0]).toBe('Unreleased');
    expect(sections).toContain(version);
    expect(changelog).toMatch(new RegExp(`^\\[${version.replace(/\./g, '\\.')}\\]: `, 'm'));
  });
});

describe('workflows', () => {
  const dir = '.github/workflows';
  const files = readdirSync(path.join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f));

  it('exist', () => {
    expect(files.sort()).toEqual(
      expect.arrayContaining(['check-dist.yml', 'ci.yml', 'release.yml', 'self-test.yml']),
    );
  });

  it.each(files)('%s pins every action by full commit SHA with its version in a comment', (file) => {
    const unpinned = read(`${dir}/${file}`)
      .split(/\r?\n/)
      .filter((line) => /^\s*(- )?uses:/.test(line))
      .map((line) => line.trim().replace(/^- /, ''))
      .filter((line) => !/^uses: (\.\/|[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+)\s*$/.test(line));
    expect(unpinned).toEqual([]);
  });

  it.each(files)('%s passes only declared inputs to this action', (file) => {
    const declared = new Set(inputs.map((i) => i.name));
    for (const step of actionWithKeys(read(`${dir}/${file}`))) {
      expect(
        step.keys.filter((key) => !declared.has(key)),
        `${file} line ${step.line}`,
      ).toEqual([]);
    }
  });
});
