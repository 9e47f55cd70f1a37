// Runs the system tools this module drives (losetup, mknod, fusermount3, nbd-client).
// One place that turns a failed tool into an error naming the command and its stderr,
// because "losetup failed" alone tells an operator nothing.
import { execFile } from 'node:child_process';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export class ToolError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command}: ${stderr.trim() || `exit code ${exitCode}`}`);
    this.name = 'ToolError';
  }
}

export function run(file: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        const why = err.killed ? `killed after ${timeoutMs} ms` : stderr || err.message;
        reject(new ToolError([file, ...args].join(' '), code, why));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `done` until it is true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (Date.now() >= until) return false;
    await sleep(stepMs);
  }
}
