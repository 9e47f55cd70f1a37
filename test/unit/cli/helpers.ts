// Shared by the drbdadm CLI tests: drbdadm's main() run in-process as a given host, with its
// output captured, against a run directory where a test control server (a scripted stand-in
// for udrbdd) may listen.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../src/cli/drbdadm.js';
import type { DrbdadmDeps } from '../../../src/cli/commands/runner.js';

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs fn with process.stdout/stderr captured and UDRBD_HOSTNAME set to host. */
export async function captured(host: string, fn: () => Promise<number>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  const oldHost = process.env.UDRBD_HOSTNAME;
  process.env.UDRBD_HOSTNAME = host;
  process.stdout.write = ((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await fn();
    return { stdout, stderr, code };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    if (oldHost === undefined) delete process.env.UDRBD_HOSTNAME;
    else process.env.UDRBD_HOSTNAME = oldHost;
  }
}

export function tmpRunDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'udrbd-cli-'));
}

/** Deps for a run against runDir; starting a daemon is recorded, never done. */
export function testDeps(runDir: string, over: Partial<DrbdadmDeps> = {}): DrbdadmDeps & { started: string[] } {
  const started: string[] = [];
  return {
    runDir,
    offline: undefined,
    startDaemon: async (dir: string) => {
      started.push(dir);
    },
    started,
    ...over,
  };
}

/** udrbd's drbdadm, in-process, as host. */
export function drbdadm(host: string, args: string[], deps: DrbdadmDeps): Promise<Run> {
  return captured(host, () => main(args, deps));
}

/** Writes a drbd.conf into a fresh directory; returns its path. */
export function writeConf(text: string): string {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'udrbd-cli-conf-'));
  const file = path.join(dir, 'drbd.conf');
  fs.writeFileSync(file, text);
  return file;
}
