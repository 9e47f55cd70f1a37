// NBD export → one regular file on a private FUSE mount, served by nbdfuse (libnbd).
// The loop driver can sit on any regular file, so this file is what turns the NBD socket
// into something the kernel can make a block device of. nbdfuse maps FUSE fsync to NBD
// FLUSH, which is what carries a filesystem's cache flushes to the udrbd server.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run, ToolError, waitFor } from './run.js';

export interface FuseFileOptions {
  nbdSocket: string;
  /** Directory to mount on; created if missing, must not be in use. */
  mountPoint: string;
  fileName: string;
  /** NBD connections when the server advertises multi-conn (nbdfuse -C); 1 disables it. */
  connections: number;
  logFile: string;
  readyTimeoutMs?: number;
}

export interface FuseFile {
  file: string;
  mountPoint: string;
  /** nbdfuse's pid; it is started detached so a ^C to the daemon does not pull the disk away. */
  pid: number;
  stop(): Promise<void>;
}

export async function startFuseFile(o: FuseFileOptions): Promise<FuseFile> {
  await mkdir(o.mountPoint, { recursive: true });
  const pidFile = join(o.mountPoint + '.pid');
  await rm(pidFile, { force: true });
  const log = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      'nbdfuse',
      ['-C', String(o.connections), '-P', pidFile, join(o.mountPoint, o.fileName), '--unix', o.nbdSocket],
      { stdio: ['ignore', log, log], detached: true },
    );
  } finally {
    closeSync(log);
  }
  child.unref();
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  child.on('exit', (code, signal) => (exited = signal ? `killed by ${signal}` : `exit code ${code}`));

  // nbdfuse writes its pid file only once the FUSE mount is up and the NBD handshake done.
  const ready = await waitFor(
    async () => spawnError !== undefined || exited !== undefined || (await exists(pidFile)),
    o.readyTimeoutMs ?? 15_000,
  );
  const file = join(o.mountPoint, o.fileName);
  const handle: FuseFile = {
    file,
    mountPoint: o.mountPoint,
    pid: child.pid ?? -1,
    stop: () => stopFuse(o.mountPoint, child, () => exited !== undefined, pidFile),
  };
  if (spawnError || exited !== undefined || !ready) {
    await handle.stop().catch(() => undefined);
    const why = spawnError?.message ?? exited ?? 'not ready in time';
    const tail = (await readFile(o.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`nbdfuse on ${o.nbdSocket} failed (${why})${tail ? `: ${tail}` : ''}`);
  }
  return handle;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Is `dir` a FUSE mount point right now (in our mount namespace)? */
export async function isFuseMount(dir: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((line) => {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    return f[4] === dir && (f[sep + 1] ?? '').startsWith('fuse');
  });
}

// fusermount3 -u makes nbdfuse exit by itself (its documented way to stop). The mount
// can be busy only if something still has the file open (a loop device not yet
// detached); after a grace period a lazy unmount lets the kernel finish that later
// rather than leaving the daemon stuck. A helper that does not exit is killed.
async function stopFuse(mountPoint: string, child: ChildProcess, hasExited: () => boolean, pidFile: string): Promise<void> {
  await unmountFuse(mountPoint);
  if (!(await waitFor(hasExited, 5_000))) {
    child.kill('SIGTERM');
    if (!(await waitFor(hasExited, 2_000))) child.kill('SIGKILL');
    await waitFor(hasExited, 2_000);
  }
  await rm(pidFile, { force: true });
}

export async function unmountFuse(mountPoint: string): Promise<void> {
  for (let i = 0; i < 25 && (await isFuseMount(mountPoint)); i++) {
    try {
      await run('fusermount3', ['-u', mountPoint]);
    } catch (e) {
      if (!(e instanceof ToolError)) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (await isFuseMount(mountPoint)) await run('fusermount3', ['-u', '-z', mountPoint]);
}
