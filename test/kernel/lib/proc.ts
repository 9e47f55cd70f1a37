// Small process helpers shared by the rig's modules.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** True when a process with this pid exists (signal 0 probes without signalling). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The NUL-separated command line of a process, joined by spaces; '' if it is gone. */
export function pidCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

export interface ExecOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a program to completion; never rejects for a non-zero exit (the caller judges). */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const { timeoutMs = 30_000, env, cwd } = opts;
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8', env, cwd }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        // Spawn failure or timeout (code is then a string or null): not an exit status.
        reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}${stderr ? `\n${stderr}` : ''}`));
        return;
      }
      resolve({ stdout, stderr, code: err ? Number(err.code) : 0 });
    });
  });
}

/** Like run(), but a non-zero exit is an error that quotes the command and its stderr. */
export async function runOk(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
