// Which way this machine can offer /dev/drbdN, decided at run time:
//   nbd-module  the kernel has nbd (or modprobe loads it) and nbd-client is installed:
//               the kernel talks NBD to our socket itself, one hop, no FUSE;
//   fuse-loop   root and /dev/fuse: nbdfuse file + loop device (the path used here);
//   none        no root or no FUSE: no block device, the NBD socket remains the way in.
// The choice is a pure function of probed facts so it can be checked by table.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { run } from './run.js';

export const TOOLS = ['nbdfuse', 'fusermount3', 'losetup', 'mknod', 'nbd-client'] as const;
export type Tool = (typeof TOOLS)[number];

export interface HostFacts {
  euid: number;
  /** /dev/fuse exists and we may open it read-write. */
  fuseDevice: boolean;
  /** /sys/module/nbd exists (built in, loaded, or loaded by our modprobe). */
  nbdModule: boolean;
  tools: Record<Tool, boolean>;
}

export type HostPath = { via: 'nbd-module' } | { via: 'fuse-loop' } | { via: 'none'; reason: string };

export function chooseHostPath(f: HostFacts): HostPath {
  if (f.euid !== 0) return { via: 'none', reason: 'udrbdd is not running as root (creating a block device node and a loop or nbd device needs root)' };
  if (f.nbdModule && f.tools['nbd-client']) return { via: 'nbd-module' };
  if (!f.fuseDevice) return { via: 'none', reason: 'the kernel has neither nbd nor a usable /dev/fuse' };
  const missing = (['nbdfuse', 'fusermount3', 'losetup', 'mknod'] as const).filter((t) => !f.tools[t]);
  if (missing.length > 0) return { via: 'none', reason: `missing tools: ${missing.join(', ')} (Debian: libnbd-bin, fuse3, util-linux, coreutils)` };
  return { via: 'fuse-loop' };
}

export async function probeHost(): Promise<HostFacts> {
  const euid = process.geteuid?.() ?? -1;
  const tools = Object.fromEntries(await Promise.all(TOOLS.map(async (t) => [t, await onPath(t)]))) as Record<Tool, boolean>;
  const fuseDevice = await access('/dev/fuse', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  return { euid, fuseDevice, nbdModule: await nbdModulePresent(euid === 0), tools };
}

// Loading nbd is only worth trying when it could then be used (root, nbd-client present).
async function nbdModulePresent(mayLoad: boolean): Promise<boolean> {
  const present = () => stat('/sys/module/nbd').then(() => true, () => false);
  if (await present()) return true;
  if (!mayLoad || !(await onPath('modprobe')) || !(await onPath('nbd-client'))) return false;
  await run('modprobe', ['-q', 'nbd'], 10_000).catch(() => undefined);
  return present();
}

async function onPath(tool: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    if (!dir) continue;
    const ok = await access(join(dir, tool), constants.X_OK).then(() => true, () => false);
    if (ok) return true;
  }
  return false;
}
