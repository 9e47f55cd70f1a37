// The two refusals a caller must be able to tell apart from plain failures: the machine
// cannot provide a kernel block device at all (the NBD socket is then the way in), and
// the device is still in use (the daemon answers SS_DEVICE_IN_USE, -12, as DRBD does).
import type { BlockDeviceHolder } from './holders.js';
import { describeHolder } from './holders.js';

export class BlockDeviceUnavailableError extends Error {
  constructor(
    readonly devicePath: string,
    readonly nbdSocket: string,
    readonly reason: string,
  ) {
    super(
      `cannot provide ${devicePath} as a block device: ${reason}. ` +
        `The device is still reachable over NBD on the unix socket ${nbdSocket} ` +
        `(for example: nbdfuse DIR/disk --unix ${nbdSocket}, or nbd-client -unix ${nbdSocket} /dev/nbd0)`,
    );
    this.name = 'BlockDeviceUnavailableError';
  }
}

export class BlockDeviceInUseError extends Error {
  /** DRBD's SS_DEVICE_IN_USE; the daemon reports it as "(-12) Device is held open by someone". */
  readonly retcode = -12;
  constructor(
    readonly devicePath: string,
    readonly holders: readonly BlockDeviceHolder[],
  ) {
    super(`${devicePath} is held open by someone: ${holders.map(describeHolder).join('; ')}`);
    this.name = 'BlockDeviceInUseError';
  }
}
