// Child process of nbd-lifecycle.test.ts: opens a Device, reports "ready", and on "go" on
// stdin ends the process without closing it, while the parent keeps NBD clients connected.
//   argv: backing socket (exit | natural)
import { Device } from '../../src/engine/device.js';
import { internalLayout } from './nbd-helpers.js';
import { statSync } from 'node:fs';

const [backing, sock, mode] = process.argv.slice(2);
const dev = await Device.create({ backingPath: backing, ...internalLayout(statSync(backing).size), nbdSocketPath: sock });
dev.setPolicy({ primary: true, writable: true, diskUsable: true, markOutOfSync: true });
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  if (mode === 'exit') process.exit(0);
  // natural: nothing else keeps the event loop alive, so Node exits by itself.
  process.stdin.destroy();
});
