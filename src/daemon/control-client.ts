// The CLI's end of the control socket, and starting udrbdd when `drbdadm up` finds none
// running (as loading the kernel module on first use).
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlResponse } from './control-protocol.js';
import { LineSplitter } from './control-protocol.js';
import { runFiles } from './run-dir.js';

export class DaemonNotRunning extends Error {}

let nextId = 1;

/** Sends one request; resolves with the daemon's response. */
export function request(runDir: string, cmd: string, args: Record<string, unknown> = {}, timeoutMs = 0): Promise<ControlResponse> {
  const path = runFiles(runDir).controlSocket;
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const sock = connect(path);
    const lines = new LineSplitter();
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`udrbdd did not answer '${cmd}' within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id, cmd, args }) + '\n'));
    sock.on('data', (chunk: string) => {
      for (const line of lines.push(chunk)) {
        const res = JSON.parse(line) as ControlResponse;
        if (res.id !== id) continue;
        if (timer) clearTimeout(timer);
        sock.end();
        resolve(res);
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new DaemonNotRunning(`udrbdd is not running (no ${path})`));
      else reject(e);
    });
  });
}

export async function isRunning(runDir: string): Promise<boolean> {
  try {
    await request(runDir, 'ping', {}, 2000);
    return true;
  } catch {
    return false;
  }
}

/** Starts udrbdd in the background unless it answers already; waits until it does. */
export async function ensureDaemon(runDir: string): Promise<void> {
  if (await isRunning(runDir)) return;
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'udrbdd');
  // Early crash output (before pino is set up) goes next to the log, not to the user's terminal.
  const out = openSync(join(runDir, 'udrbdd.stderr'), 'a');
  const child = spawn(process.execPath, [bin, '--foreground'], {
    detached: true,
    stdio: ['ignore', 'ignore', out],
    env: { ...process.env, UDRBD_RUN_DIR: runDir },
  });
  child.unref();
  closeSync(out);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await isRunning(runDir)) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`udrbdd failed to start; see ${join(runDir, 'udrbdd.stderr')}`);
}
