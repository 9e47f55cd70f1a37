// Reading configuration files: the main file, `include "glob";` (relative to the including
// file's directory, matches in sorted order, a glob matching nothing is silently empty,
// a plain path that cannot be read is an error), and the choice of syntax by extension
// (.yaml/.yml → YAML, anything else → drbd.conf).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from './errors.js';
import type { Config, Loc } from './model.js';
import { parseConfig, type SourceFile } from './parser.js';
import { parseYamlConfig } from './yaml.js';

/** Absolute path with the directory resolved through symlinks and `..`, the last component
 * kept as written — the name drbdadm prints in `# FILE` and `# defined at`. */
export function canonicalPath(p: string): string {
  const abs = path.resolve(p);
  const dir = path.dirname(abs);
  let realDir: string;
  try {
    realDir = fs.realpathSync(dir);
  } catch {
    realDir = dir;
  }
  return path.join(realDir, path.basename(abs));
}

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** One path component of a glob as a RegExp (*, ?, [...]); a leading dot must be explicit. */
function componentRegExp(pat: string): RegExp {
  let re = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const j = pat.indexOf(']', i + 2);
      if (j < 0) re += '\\[';
      else {
        let body = pat.slice(i + 1, j);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Minimal glob(3): expands wildcards component by component, sorted like glob's default. */
export function globSync(pattern: string, cwd: string): string[] {
  const isAbs = path.isAbsolute(pattern);
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let found: string[] = [isAbs ? '/' : ''];
  for (const part of isAbs ? parts.slice(1) : parts) {
    const nextFound: string[] = [];
    for (const base of found) {
      if (!hasMagic(part)) {
        nextFound.push(base === '' ? part : path.posix.join(base, part));
        continue;
      }
      const dir = path.resolve(cwd, base === '' ? '.' : base);
      let entries: string[];
      try {
        entries = fs.readdirSync(dir);
      } catch {
        continue;
      }
      const re = componentRegExp(part);
      for (const e of entries.sort()) {
        if (e.startsWith('.') && !part.startsWith('.')) continue;
        if (re.test(e)) nextFound.push(base === '' ? e : path.posix.join(base, e));
      }
    }
    found = nextFound;
  }
  return found.filter((f) => fs.existsSync(path.resolve(cwd, f))).sort();
}

function readSource(file: string): SourceFile | undefined {
  try {
    return { file, canonical: canonicalPath(file), text: fs.readFileSync(file, 'utf8') };
  } catch {
    return undefined;
  }
}

/** `include` of `pattern` written in `from`: relative to from's directory. Names in messages
 * are the pattern's matches as written (drbdadm prints `d/x.res` for `include "d/*.res"`). */
function readInclude(pattern: string, from: SourceFile, loc: Loc): SourceFile[] {
  const dir = path.dirname(from.canonical);
  const matches = hasMagic(pattern) ? globSync(pattern, dir) : [pattern];
  const out: SourceFile[] = [];
  for (const m of matches) {
    const full = path.resolve(dir, m);
    let text: string;
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch {
      throw ConfigError.at(loc, `Failed to open include file '${m}'.`);
    }
    out.push({ file: m, canonical: canonicalPath(full), text });
  }
  return out;
}

export function isYamlFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/** Loads a configuration file (drbd.conf syntax, or YAML for .yaml/.yml). */
export function loadConfig(file: string): Config {
  const src = readSource(file);
  if (!src) {
    // drbdadm-84's words and exit code (20) for an unreadable main file.
    throw new ConfigError([`Can not open '${file}'.`], 20);
  }
  return parseText(src);
}

/** Parses text as if it were the file `src.file` (tests, YAML round trips). */
export function parseText(src: SourceFile): Config {
  if (isYamlFile(src.file)) return parseYamlConfig(src);
  return parseConfig(src, readInclude);
}
