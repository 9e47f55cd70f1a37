import { describe, expect, it } from 'vitest';
import { renderStatusJson, statusJson } from '../../../src/status/json.js';
import { renderProcDrbd } from '../../../src/status/proc-drbd.js';
import { renderWatchFrame, visibleLength, wideBar } from '../../../src/status/watch.js';
import { HEADER_847, device, sync } from './fixtures.js';

const bSync = sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 20, markAgeS: 10, markLeft: 13000, wantKiBps: 10240 });
const syncing = device({ ro: 'Primary', pds: 'Inconsistent', cs: 'SyncSource', sync: bSync, counters: { ns: 2 ** 31, oos: 32000 } });

describe('udrbd status --json', () => {
  it('documented shape, figures equal to /proc/drbd, raw (unwrapped) counters', () => {
    const j = statusJson([{ resource: 'r0', volume: 0, device: syncing }]);
    expect(j).toEqual({
      version: 1,
      devices: [{
        resource: 'r0', volume: 0, minor: 0, configured: true, role: 'Primary', peerRole: 'Secondary', cstate: 'SyncSource',
        dstate: 'UpToDate', peerDstate: 'Inconsistent', protocol: 'C',
        flags: { ioSuspended: false, resyncPausedDependency: false, resyncPausedPeer: false, resyncPausedUser: false, alSuspended: false, congestion: '-' },
        counters: { sentKiB: 2 ** 31, receivedKiB: 0, diskWrittenKiB: 0, diskReadKiB: 0, alWrites: 0, bmWrites: 0, localRefs: 0, pending: 0, unacked: 0, appPending: 0, epochs: 1, outOfSyncKiB: 32000, writeOrdering: 'f' },
        sync: { verify: false, paused: false, percent: 56.3, leftKiB: 32000, totalKiB: 65496, finishSeconds: 15, speedKiBps: 2000, averageKiBps: 1672, wantKiBps: null, stalled: false },
      }],
    });
  });
  it('want on the requesting side; paused sync has no rates; no sync block outside sync states', () => {
    const t = statusJson([{ resource: 'r0', volume: 0, device: { ...syncing, cs: 'SyncTarget' } }]).devices[0]!.sync!;
    expect(t.wantKiBps).toBe(10240);
    const p = statusJson([{ resource: 'r0', volume: 0, device: { ...syncing, cs: 'PausedSyncS' } }]).devices[0]!.sync!;
    expect(p).toMatchObject({ paused: true, percent: 56.3, finishSeconds: null, speedKiBps: null, averageKiBps: null });
    expect(statusJson([{ resource: 'r0', volume: 0, device: { ...syncing, cs: 'Connected' } }]).devices[0]!.sync).toBeNull();
  });
  it('unconfigured minors are marked, devices sorted by minor, text ends in one newline', () => {
    const u = device({ minor: 3, cs: 'StandAlone', ds: 'Diskless', protocol: null });
    const text = renderStatusJson([{ resource: 'r1', volume: 0, device: u }, { resource: 'r0', volume: 0, device: device() }]);
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text) as ReturnType<typeof statusJson>;
    expect(parsed.devices.map((d) => [d.minor, d.configured])).toEqual([[0, true], [3, false]]);
  });
});

describe('udrbd status --watch frame', () => {
  const input = { header: HEADER_847, devices: [syncing, device({ minor: 1 })] };

  it('plain frame: the /proc/drbd text, then a bar line and a figures line per syncing device', () => {
    const frame = renderWatchFrame(input, { width: 80, ansi: false, resourceByMinor: new Map([[0, 'r0']]) });
    expect(frame.startsWith(renderProcDrbd(input))).toBe(true);
    expect(frame).not.toContain('\x1b');
    const extra = frame.slice(renderProcDrbd(input).length).split('\n');
    expect(extra[0]).toBe('');
    // exact fraction: 8374/16374 = 51.1 %
    expect(extra[1]).toMatch(/^drbd0 r0 SyncSource \[=+>\.+\] 51\.1%$/);
    expect(extra[1]!.length).toBe(80);
    expect(extra[2]).toBe('  synced 33,496 of 65,496 KiB  finish 0:00:15  speed 2,000 (1,672) K/sec');
  });
  it('every added line fits the width, for narrow and wide terminals', () => {
    for (const width of [10, 20, 33, 40, 80, 132, 250]) {
      const frame = renderWatchFrame(input, { width, ansi: true });
      const extra = frame.slice(frame.indexOf(renderProcDrbd(input)) + renderProcDrbd(input).length).split('\n');
      for (const line of extra) expect(visibleLength(line)).toBeLessThanOrEqual(width);
      if (width >= 40) expect(visibleLength(extra[1]!)).toBe(width);
    }
  });
  it('ANSI frame clears the screen first and colours the bar', () => {
    const frame = renderWatchFrame(input, { width: 60, ansi: true });
    expect(frame.startsWith('\x1b[H\x1b[2J')).toBe(true);
    expect(frame).toContain('\x1b[32m');
  });
  it('no progress block when nothing syncs; paused sync says so', () => {
    expect(renderWatchFrame({ header: HEADER_847, devices: [device()] }, { width: 80, ansi: false })).toBe(renderProcDrbd({ header: HEADER_847, devices: [device()] }));
    const paused = renderWatchFrame({ header: HEADER_847, devices: [{ ...syncing, cs: 'PausedSyncT' }] }, { width: 80, ansi: false });
    expect(paused.trimEnd().split('\n').at(-1)).toBe('  synced 33,496 of 65,496 KiB  paused');
  });
  it('wideBar fills proportionally and always has the requested inner width', () => {
    expect(wideBar(0, 10, false)).toBe('[>.........]');
    expect(wideBar(0.5, 10, false)).toBe('[=====>....]');
    expect(wideBar(1, 10, false)).toBe('[==========]');
  });
});
