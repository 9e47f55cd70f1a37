// The drbd.conf `udrbd demo` writes (and prints): read back by udrbd's own parser, it must be
// the seed's r0 with a minor per host and a fixed resync rate fast enough for the demo.
import { describe, expect, it } from 'vitest';
import { demoConfig } from '../../../src/cli/demo/config.js';
import { parseText, resolveResource } from '../../../src/config/index.js';

const hosts = [
  { name: 'alpha', minor: 0, disk: '/tmp/udrbd-demo-x/alpha.img', address: '127.0.0.1' },
  { name: 'beta', minor: 1, disk: '/tmp/udrbd-demo-x/beta.img', address: '127.0.0.2' },
];
const text = demoConfig(hosts, 7789);
const resolved = (hostname: string) =>
  resolveResource(parseText({ file: '/tmp/udrbd-demo-x/drbd.conf', canonical: '/tmp/udrbd-demo-x/drbd.conf', text }), 'r0', { hostname, localIps: new Set<string>() });

describe('udrbd demo: drbd.conf', () => {
  it('is the seed resource r0 seen from either host, each with its own minor and address', () => {
    const a = resolved('alpha');
    const b = resolved('beta');
    expect(a.local.volumes[0]).toMatchObject({ minor: 0, device: '/dev/drbd0', disk: '/tmp/udrbd-demo-x/alpha.img', metaDisk: { kind: 'internal' } });
    expect(b.local.volumes[0]).toMatchObject({ minor: 1, device: '/dev/drbd1', disk: '/tmp/udrbd-demo-x/beta.img' });
    expect(a.local.address).toEqual({ af: 'ipv4', ip: '127.0.0.1', port: 7789 });
    expect(a.peer?.address).toEqual({ af: 'ipv4', ip: '127.0.0.2', port: 7789 });
    expect(a.net).toMatchObject({ protocol: 'C', afterSb0pri: 'discard-younger-primary', afterSb1pri: 'consensus' });
    expect(a.disk.onIoError).toBe('detach');
  });

  it('syncs at a fixed 100 MiB/s: resync-rate without the dynamic controller', () => {
    expect(resolved('alpha').disk).toMatchObject({ resyncRateKiBps: 102400, cPlanAheadDeciSec: 0 });
  });
});
