// Effective values for the daemon: this host / peer, common inheritance, defaults, units.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveAll, resolveGlobal, resolveResource, type HostContext } from '../../../src/config/index.js';
import { FIXTURES } from './helpers.js';

const ctx = (hostname: string, ips: string[] = []): HostContext => ({ hostname, localIps: new Set(['127.0.0.1', '::1', ...ips]) });
const load = (f: string) => loadConfig(path.join(FIXTURES, f));

describe('resolveResource', () => {
  it('8.3 seed config: this host, peer, 8.4.7 defaults for everything unset', () => {
    const r = resolveResource(load('02-seed-83-heartbeat.conf'), 'r0', ctx('node1'));
    expect(r.local.address).toEqual({ af: 'ipv4', ip: '127.0.0.1', port: 7789 });
    expect(r.peer?.names).toEqual(['node2']);
    expect(r.peer?.address.ip).toBe('192.168.10.189');
    expect(r.local.volumes).toEqual([{ vnr: 0, minor: 0, device: '/dev/drbd0', disk: '/dev/sdb', metaDisk: { kind: 'internal' } }]);
    expect(r.net.protocol).toBe('C');
    expect(r.net.afterSb0pri).toBe('discard-younger-primary');
    expect(r.net.koCount).toBe(7);
    expect(r.net.pingTimeoutDeciSec).toBe(5);
    expect(r.disk.resyncRateKiBps).toBe(30 * 1024); // common syncer { rate 30M; }
    expect(r.disk.onIoError).toBe('detach');
    expect(r.disk.alExtents).toBe(1237);
    expect(r.disk.cPlanAheadDeciSec).toBe(20);
    expect(r.disk.diskBarrier).toBe(false);
    expect(r.handlers.priOnInconDegr).toMatch(/^\/usr\/lib\/drbd\/notify-pri-on-incon-degr.sh; /);
    expect(r.handlers.splitBrain).toBeUndefined();
  });

  it('resource values win over common; the last repeated value wins', () => {
    const r = resolveResource(load('26-common-and-override.conf'), 'ov', ctx('n1'));
    expect(r.net.protocol).toBe('A');
    expect(r.net.maxBuffers).toBe(8000);
    expect(r.net.pingTimeoutDeciSec).toBe(10);
    expect(r.disk.resyncRateKiBps).toBe(20480);
    expect(r.handlers.splitBrain).toBe('/usr/lib/drbd/notify-split-brain.sh root');
    // discard-node-NAME becomes discard-local on that node and discard-remote on the other.
    expect(r.net.afterSb0pri).toBe('discard-remote');
    expect(resolveResource(load('26-common-and-override.conf'), 'ov', ctx('n2')).net.afterSb0pri).toBe('discard-local');
  });

  it('units: bytes, sectors, KiB/s, tenths of seconds', () => {
    const r = resolveResource(load('24-numbers-and-units.conf'), 'units', ctx('n1'));
    expect(r.disk.resyncRateKiBps).toBe(10240);
    expect(r.disk.cMaxRateKiBps).toBe(1048576);
    expect(r.disk.cFillTargetSectors).toBe(100);
    expect(r.disk.sizeSectors).toBe(512 * 2048);
    expect(r.disk.alExtents).toBe(1024);
    expect(r.net.sndbufSizeBytes).toBe(10240 * 1024);
    expect(r.net.timeoutDeciSec).toBe(600);
  });

  it('8.3 flags, outdate-peer, syncer options land in their 8.4 places', () => {
    const r = resolveResource(load('10-outdate-peer-83.conf'), 'mysql', ctx('ha-a'));
    expect(r.handlers.fencePeer).toBe('/usr/lib/heartbeat/drbd-peer-outdater -t 5');
    expect(r.disk.fencing).toBe('resource-only');
    expect(r.disk.onIoError).toBe('pass_on');
    expect(r.net.koCount).toBe(0);
    const f = resolveResource(load('09-no-flags-83.conf'), 'flags', ctx('n1'));
    expect([f.disk.diskFlushes, f.disk.diskDrain, f.disk.mdFlushes, f.disk.diskBarrier, f.net.tcpCork, f.net.allowTwoPrimaries]).toEqual([false, false, true, true, true, true]);
    const s = resolveResource(load('08-syncer-83-everything.conf'), 'top', ctx('n1'));
    expect(s.disk.resyncAfter).toBe('base');
    expect(s.resyncAfterMinor).toBe(0);
    expect(s.options.cpuMask).toBe('3');
    expect(s.options.onNoDataAccessible).toBe('suspend-io');
    expect(s.net.verifyAlg).toBe('sha1');
  });

  it('volumes: resource-level copied, per-volume disk options applied to that volume only', () => {
    const r = resolveResource(load('14-multi-volume.conf'), 'vols', ctx('store2'));
    expect(r.local.volumes.map((v) => [v.vnr, v.minor, v.device, v.disk])).toEqual([
      [0, 30, '/dev/drbd30', '/dev/vg/vol0'],
      [1, 31, '/dev/drbd31', '/dev/vg/vol1'],
      [2, 32, '/dev/drbd32', '/dev/vg/other2'],
    ]);
    expect(r.local.volumes[1].metaDisk).toEqual({ kind: 'indexed', path: '/dev/vg/meta', index: 0 });
    expect(r.volumeDisk.get(1)?.resyncRateKiBps).toBe(20480);
    expect(r.volumeDisk.get(0)?.resyncRateKiBps).toBe(61440);
  });

  it('floating sections match by local address; ipv6', () => {
    const r = resolveResource(load('15-floating.conf'), 'float6', ctx('whatever'));
    expect(r.local.address).toEqual({ af: 'ipv6', ip: '::1', port: 7841 });
    expect(r.peer?.address.ip).toBe('fd00:10::2');
  });

  it('unknown or foreign resources are errors with drbdadm exit 1', () => {
    const c = load('20-not-for-this-host.conf');
    expect(() => resolveResource(c, 'theirs', ctx('n1'))).toThrow(ConfigError);
    expect(resolveAll(c, ctx('n1')).map((r) => r.name)).toEqual(['mine']);
    try {
      resolveResource(c, 'nope', ctx('n1'));
    } catch (e) {
      expect((e as ConfigError).exitCode).toBe(1);
    }
  });

  it('ranges drbdadm lets through are refused when resolving (the kernel would refuse them)', () => {
    const c = loadConfig(path.join(FIXTURES, '01-minimal-84.conf'));
    c.resources[0].sections.net.push({ name: 'ping-timeout', value: '1000', loc: c.resources[0].loc });
    expect(() => resolveResource(c, 'data', ctx('alpha'))).toThrow(/ping-timeout 1000 => 1000 out of range \[1..300\]/);
  });

  it('global effective values', () => {
    expect(resolveGlobal(load('21-global-all.conf'))).toEqual({ usageCount: 'no', minorCount: 64, dialogRefreshSec: 5, disableIpVerification: true });
    expect(resolveGlobal(load('15-floating.conf'))).toEqual({ usageCount: 'ask', minorCount: 32, dialogRefreshSec: 1, disableIpVerification: false });
  });
});
