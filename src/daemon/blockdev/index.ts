// /dev/drbdN in user space: see attach.ts for the paths and docs/block-device.md for why.
export { attachBlockDevice, blockDeviceHolders, sweepBlockDevice } from './attach.js';
export type { AttachBlockDeviceOptions, BlockDeviceHandle } from './attach.js';
export { BlockDeviceInUseError, BlockDeviceUnavailableError } from './errors.js';
export { describeHolder } from './holders.js';
export type { BlockDeviceHolder } from './holders.js';
export { chooseHostPath, probeHost } from './host.js';
export type { HostFacts, HostPath } from './host.js';
