// Host side of the guest command protocol over the 9p share (guest side:
// scripts/kernel-rig/guest/serve.sh and run-one.sh).
//   host:  cmd/N.sh            N = 1, 2, 3, ... without gaps, created by rename
//   guest: out/N.pid           session id of the running command (for kill -9 -PID)
//          out/N.stdout  out/N.stderr   written while the command runs
//          out/N.rc            "STATUS\n" in one write once the command has ended: the file
//                              may exist empty for an instant, so only a full line counts
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult } from './proc.js';
import { sleep } from './proc.js';

const POLL_MS = 20;

export class CommandChannel {
  private seq = 0;
  readonly cmdDir: string;
  readonly outDir: string;

  constructor(readonly shareDir: string) {
    this.cmdDir = join(shareDir, 'cmd');
    this.outDir = join(shareDir, 'out');
    mkdirSync(this.cmdDir, { recursive: true });
    mkdirSync(this.outDir, { recursive: true });
  }

  /** Hands a shell script to the guest; returns its sequence number. */
  submit(script: string): number {
    const n = ++this.seq;
    const tmp = join(this.cmdDir, `.${n}.tmp`);
    // Written under a name the guest ignores, then renamed: the guest never sees half a script.
    writeFileSync(tmp, script.endsWith('\n') ? script : `${script}\n`);
    renameSync(tmp, join(this.cmdDir, `${n}.sh`));
    return n;
  }

  /**
   * Waits for command n to finish. `abort` is polled alongside and, when it returns a
   * reason (qemu died), ends the wait with that reason. Resolves null on timeout.
   */
  async wait(n: number, timeoutMs: number, abort: () => string | undefined): Promise<ExecResult | null> {
    const rcFile = join(this.outDir, `${n}.rc`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rc = readOrEmpty(rcFile);
      if (/^\d+\n$/.test(rc)) {
        return {
          stdout: readOrEmpty(join(this.outDir, `${n}.stdout`)),
          stderr: readOrEmpty(join(this.outDir, `${n}.stderr`)),
          code: Number(rc.trim()),
        };
      }
      const reason = abort();
      if (reason) throw new Error(reason);
      if (Date.now() > deadline) return null;
      await sleep(POLL_MS);
    }
  }

  /** What a still-running (or killed) command has written so far, for timeout reports. */
  partial(n: number): { stdout: string; stderr: string; started: boolean } {
    return {
      stdout: readOrEmpty(join(this.outDir, `${n}.stdout`)),
      stderr: readOrEmpty(join(this.outDir, `${n}.stderr`)),
      started: existsSync(join(this.outDir, `${n}.pid`)),
    };
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
