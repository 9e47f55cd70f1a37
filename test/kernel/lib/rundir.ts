// Per-guest scratch directories (9p share, QMP socket, pid file) under the system temp dir.
// Names carry the owning test process's pid, so a later run can tell a leftover of a dead
// run from a directory a concurrent run is using, and remove only the former.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive, pidCmdline } from './proc.js';

const PREFIX = 'udrbd-rig-';

export function makeRunDir(): string {
  // Short on purpose: the QMP socket inside must fit in sun_path (108 bytes).
  return mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
}

/** Removes run directories of test processes that no longer exist, and their qemu. */
export function sweepStaleRunDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^udrbd-rig-(\d+)-/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = join(tmpdir(), name);
    try {
      const qemuPid = Number(readFileSync(join(dir, 'qemu.pid'), 'utf8').trim());
      // Only a qemu whose command line names this directory is ours (pids get reused).
      if (qemuPid > 0 && pidCmdline(qemuPid).includes(dir)) process.kill(qemuPid, 'SIGKILL');
    } catch {
      // No pid file or process already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
