// Shared builders for the status tests: a device with neutral values that each test overrides.
import type { ProcDevice, ProcDrbdHeader } from '../../../src/status/proc-drbd.js';
import type { SyncProgressInput } from '../../../src/status/progress.js';

export const HEADER_847: ProcDrbdHeader = {
  version: '8.4.7-1',
  api: 1,
  protoMin: 86,
  protoMax: 101,
  buildTag: { kind: 'git', hash: '3a6a769340ef93b1ba2792c6461250790795db49', user: 'root', host: 'node1', date: '2016-01-12 10:00:00' },
};

export const HEADER_8411: ProcDrbdHeader = {
  version: '8.4.11',
  api: 1,
  protoMin: 86,
  protoMax: 101,
  buildTag: { kind: 'srcversion', srcversion: 'F73C670A7EC572DB9CF3E5B' },
};

export type DeviceOverrides = Partial<Omit<ProcDevice, 'counters' | 'flags'>> & {
  counters?: Partial<ProcDevice['counters']>;
  flags?: Partial<ProcDevice['flags']>;
};

export function device(over: DeviceOverrides = {}): ProcDevice {
  const { counters, flags, ...rest } = over;
  return {
    minor: 0,
    cs: 'Connected',
    ro: 'Secondary',
    peerRo: 'Secondary',
    ds: 'UpToDate',
    pds: 'UpToDate',
    protocol: 'C',
    ...rest,
    flags: { susp: false, aftrIsp: false, peerIsp: false, userIsp: false, congestion: '-', alSuspended: false, ...flags },
    counters: { ns: 0, nr: 0, dw: 0, dr: 0, al: 0, bm: 0, lo: 0, pe: 0, ua: 0, ap: 0, ep: 1, wo: 'f', oos: 0, ...counters },
  };
}

export const NOW = 1_000_000_000;

/**
 * Sync input from the quantities the kernel formulas use: dt2 = whole seconds since start (no
 * pause), and the ≈18 s mark `markAgeS` old with `markLeft` bits left. Sub-second offsets are
 * added on purpose: the kernel truncates to whole seconds.
 */
export function sync(o: {
  totalBits: number;
  leftBits: number;
  sinceStartS: number;
  markAgeS?: number;
  markLeft?: number;
  wantKiBps?: number;
  pausedMs?: number;
}): SyncProgressInput {
  const startMs = NOW - o.sinceStartS * 1000 - 400 - (o.pausedMs ?? 0);
  const marks = Array.from({ length: 8 }, () => ({ timeMs: startMs, leftBits: o.totalBits }));
  const lastMark = 5;
  if (o.markAgeS !== undefined) {
    marks[(lastMark + 2) % 8] = { timeMs: NOW - o.markAgeS * 1000 - 250, leftBits: o.markLeft ?? o.totalBits };
  }
  return { totalBits: o.totalBits, leftBits: o.leftBits, marks, lastMark, startMs, pausedMs: o.pausedMs ?? 0, nowMs: NOW, wantKiBps: o.wantKiBps ?? 0 };
}
