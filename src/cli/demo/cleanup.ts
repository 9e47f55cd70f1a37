// Leaves the machine as the demo found it, whatever happened before: after success, after a
// failed check, after Ctrl-C. Unmount, `drbdadm down` (which removes /dev/drbdN), stop each
// daemon, sweep what a killed daemon left behind (loop device, FUSE file, device node), and
// delete the directory only when nothing is mounted in it any more.
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, request } from '../../daemon/control-client.js';
import { sweepBlockDevice } from '../../daemon/blockdev/index.js';
import { type DemoNode, type Lab, RESOURCE } from './lab.js';
import type { Narrator } from './narrator.js';

/**
 * Where udrbdd keeps the FUSE mount and helper files of /dev/drbdN (daemon.ts builds the
 * same path for its block-device layer).
 */
const blockdevDir = (n: DemoNode) => join(n.runDir, `blockdev${n.minor}`);

/** drbdadm's exit code for a refused state change (the device is held open, -12). */
const EXIT_STATE_CHANGE_FAILED = 11;
const HELD_RETRIES = 8;
const HELD_RETRY_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface CleanupResult {
  /** What could not be removed (empty when the machine is clean). */
  left: string[];
  /** Where the daemons' logs were copied (only after a failure). */
  logsKeptIn?: string;
}

/** The daemons' logs outlive a failed run: they say what went wrong. */
function keepLogs(lab: Lab): string | undefined {
  const logs = lab.nodes.map((node) => ({ node, file: join(node.runDir, 'udrbdd.log') })).filter((l) => existsSync(l.file));
  if (logs.length === 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'udrbd-demo-logs-'));
  for (const l of logs) copyFileSync(l.file, join(dir, `udrbdd-${l.node.name}.log`));
  return dir;
}

export async function cleanup(lab: Lab, n: Narrator, failed: boolean): Promise<CleanupResult> {
  const left: string[] = [];
  for (const mp of lab.mounted()) {
    const node = lab.nodes.find((x) => x.mountPoint === mp) ?? lab.alpha;
    const r = await lab.sh(n, node, `umount ${mp}`, { cleanup: true, timeoutMs: 30_000 });
    // A filesystem on a device whose daemon is gone cannot be written back; detach it lazily.
    if (r.code !== 0) await lab.sh(n, node, `umount -l ${mp}`, { cleanup: true, timeoutMs: 30_000 });
  }
  for (const node of lab.nodes) {
    if (!(await isRunning(node.runDir))) continue;
    for (let attempt = 1; ; attempt++) {
      const r = await lab.sh(n, node, `drbdadm down ${RESOURCE}`, { cleanup: true, timeoutMs: 60_000 });
      if (r.code !== EXIT_STATE_CHANGE_FAILED || attempt === HELD_RETRIES) break;
      // Held open by someone else: typically a process that copied this machine's mounts
      // into a new mount namespace (`ip netns exec`, unshare) and pins our filesystem there
      // until it exits. Such processes are short-lived; wait for them.
      n.note(`  (${node.device} is still held; trying again in ${HELD_RETRY_MS / 1000} s)`);
      await sleep(HELD_RETRY_MS);
    }
    await stopDaemon(lab, node);
  }
  for (const node of lab.nodes) {
    for (let attempt = 1; ; attempt++) {
      try {
        await sweepBlockDevice({ minor: node.minor, devicePath: node.device, workDir: blockdevDir(node) });
        break;
      } catch (e) {
        if (attempt < HELD_RETRIES) {
          await sleep(HELD_RETRY_MS);
          continue;
        }
        left.push(`${node.name}: ${(e as Error).message}`);
        break;
      }
    }
  }
  const logsKeptIn = failed ? keepLogs(lab) : undefined;
  const mounts = lab.mountsUnderDir();
  if (mounts.length === 0) lab.removeDir();
  else left.push(`still mounted, so ${lab.dir} was kept: ${mounts.join(', ')}`);
  return { left, ...(logsKeptIn ? { logsKeptIn } : {}) };
}

/** Asks udrbdd to exit (as `udrbdd` under systemd would be stopped); SIGKILL if it will not. */
async function stopDaemon(lab: Lab, node: DemoNode): Promise<void> {
  const pid = lab.daemonPid(node);
  await request(node.runDir, 'shutdown', {}, 5_000).catch(() => undefined);
  if (!pid) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && lab.daemonPid(node) === pid) await sleep(100);
  if (lab.daemonPid(node) === pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone in the meantime
    }
  }
}
