// The kernel test rig: real DRBD 8.4 (Debian's drbd.ko) in qemu guests, driven from tests.
// See docs/kernel-rig.md. Typical use:
//   const link = await udpLink();
//   const a = await startGuest({ name: 'node1', ip: '10.99.0.1/24', disks: [...], net: link.a, test: 'x' });
//   await a.run('drbdadm up r0', { check: true });
export { startGuest, Guest, type GuestOptions, type DiskSpec, type RunOptions } from './lib/guest.js';
export { udpLink, type NetSpec } from './lib/links.js';
export { Netns } from './lib/netns.js';
export { ensureImage, type RigImage } from './lib/image.js';
export { chooseAccel, type Accel } from './lib/accel.js';
export { resetArtifacts } from './lib/artifacts.js';
export type { ExecOptions, ExecResult } from './lib/proc.js';
