// What this machine lets the demo show: /dev/drbdN (root, /dev/fuse and the FUSE tools, or
// the kernel's nbd) and a filesystem on it (mkfs.ext4), or the NBD socket only. The same
// probe udrbdd's block-device layer uses decides, so the demo and the daemon agree.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { chooseHostPath, probeHost } from '../../daemon/blockdev/index.js';

export interface DemoPlan {
  /** The nodes get /dev/drbdN while Primary. */
  deviceNodes: boolean;
  /** mkfs.ext4, mount and files on /dev/drbdN. */
  filesystem: boolean;
  /** Why there is no block device or no filesystem (shown to the user). */
  reason?: string;
}

async function onPath(tool: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  for (const d of dirs) {
    if (d && (await access(join(d, tool), constants.X_OK).then(() => true, () => false))) return true;
  }
  return false;
}

export async function planDemo(env: NodeJS.ProcessEnv = process.env): Promise<DemoPlan> {
  if (env.UDRBD_DEVICE_NODES === 'off') return { deviceNodes: false, filesystem: false, reason: 'UDRBD_DEVICE_NODES=off asks for no /dev/drbdN' };
  const path = chooseHostPath(await probeHost());
  if (path.via === 'none') return { deviceNodes: false, filesystem: false, reason: path.reason };
  const tools = ['mkfs.ext4', 'mount', 'umount', 'sha256sum'];
  const missing: string[] = [];
  for (const t of tools) if (!(await onPath(t))) missing.push(t);
  if (missing.length > 0) return { deviceNodes: true, filesystem: false, reason: `${missing.join(', ')} not found (Debian: e2fsprogs, mount, coreutils)` };
  return { deviceNodes: true, filesystem: true };
}
