// Shared by the config tests: the corpus, the drbdadm-84 oracle, and udrbd's drbdadm run
// in-process with stdout/stderr captured.
import { captured } from '../cli/helpers.js';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../../src/cli/drbdadm.js';
import { loadConfig } from '../../../src/config/index.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/drbd-conf');
export const ORACLE = '/lib/drbd/drbdadm-84';

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Corpus files: each .conf directly in the fixture folder, plus drbd.conf of each subfolder. */
export function corpus(): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(FIXTURES, { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.conf')) out.push(path.join(FIXTURES, e.name));
    if (e.isDirectory() && fs.existsSync(path.join(FIXTURES, e.name, 'drbd.conf'))) out.push(path.join(FIXTURES, e.name, 'drbd.conf'));
  }
  return out.sort();
}

/** The `# test-host: NAME` line of a corpus file: the hostname it is dumped under. */
export function testHost(file: string): string {
  const m = /^# test-host: (\S+)$/m.exec(fs.readFileSync(file, 'utf8'));
  return m ? m[1] : 'node1';
}

/** Fails loudly (never skips) when Debian's drbd-utils is not installed. */
export function requireOracle(): void {
  if (!fs.existsSync(ORACLE)) {
    throw new Error(`${ORACLE} is missing: install drbd-utils (scripts/install-deps.sh) — the dump tests compare against it`);
  }
}

/** drbd-utils 9.22 artefacts that genuine 8.4 tools do not print (spec/config-defaults.md §3
 * rule 9), and Debian's dopd packaging hint (about dpkg-statoverride for setuid drbdsetup),
 * which has no meaning for udrbd. */
export function cleanOracle(r: Run): Run {
  return {
    ...r,
    stdout: r.stdout.replace(/^ {4}cmd-timeout-(medium|long) \d+;\n/gm, ''),
    stderr: r.stderr.replace(/^WARN:\n {2}You are using the 'drbd-peer-outdater'[\s\S]*?\/usr\/sbin\/drbdmeta\n\n/m, ''),
  };
}

/** `drbdadm-84 ARGS` under a private UTS namespace whose hostname is `host`. */
export function oracle(host: string, args: string[], cwd?: string): Run {
  requireOracle();
  const r = spawnSync('unshare', ['--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', host, ORACLE, ...args], { encoding: 'utf8', cwd });
  if (r.error) throw r.error;
  return cleanOracle({ stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 });
}

/** udrbd's drbdadm, in-process, as `host`. */
export async function udrbd(host: string, args: string[], cwd?: string): Promise<Run> {
  const oldCwd = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    return await captured(host, () => main(args));
  } finally {
    process.chdir(oldCwd);
  }
}

/** Resource names of a corpus file as udrbd reads them. */
export function resourceNames(file: string): string[] {
  return loadConfig(file).resources.map((r) => r.name);
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'udrbd-conf-'));
}
