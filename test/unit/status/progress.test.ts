import { describe, expect, it } from 'vitest';
import { groupThousands, printfFixed2 } from '../../../src/status/format.js';
import { renderProcDevice } from '../../../src/status/proc-drbd.js';
import { formatHms, perMilleDone, syncFigures } from '../../../src/status/progress.js';
import { advanceSyncMarks, pauseSyncMarks, pausedMsOnResume, startSyncMarks } from '../../../src/status/sync-marks.js';
import { NOW, device, sync } from './fixtures.js';

/** The two progress lines of a SyncSource device with this sync input. */
function progress(s: ReturnType<typeof sync>, cs: 'SyncSource' | 'SyncTarget' | 'VerifyS' | 'VerifyT' = 'SyncSource'): string[] {
  return renderProcDevice(device({ cs, sync: s })).split('\n').slice(2, 4);
}

describe('per-mille quantisation', () => {
  it('totals below 1024 bits always read 100.0%', () => {
    expect(perMilleDone(1000, 999).perMille).toBe(1000);
    expect(progress(sync({ totalBits: 1000, leftBits: 999, sinceStartS: 1 }))[0]).toBe("\t[===================>] sync'ed:100.0% (3996/4000)K");
  });
  it('64 MiB device moves in 1000/16 steps', () => {
    expect(perMilleDone(16374, 16374).perMille).toBe(63);
    expect(perMilleDone(16374, 8000).perMille).toBe(563);
    expect(perMilleDone(16374, 1023).perMille).toBe(1000);
  });
  it('shift 10 up to 0xFFFFFFFF bits, 16 above', () => {
    expect(perMilleDone(0xffffffff, 0x80000000).perMille).toBe(1000 - Math.floor(((0x80000000 / 1024) * 1000) / (1 + Math.floor(0xffffffff / 1024))));
    // 2^33 total, 2^32 left: 1000 − (65536×1000)/(1+131072) = 1000 − 499
    expect(perMilleDone(2 ** 33, 2 ** 32).perMille).toBe(501);
    expect(perMilleDone(0x100000000, 0).perMille).toBe(1000);
  });
  it('left > total: left := total, 0 ‰ (1000 ‰ when total is 0)', () => {
    expect(perMilleDone(100, 200)).toEqual({ perMille: 0, leftBits: 100 });
    expect(perMilleDone(0, 5)).toEqual({ perMille: 1000, leftBits: 0 });
    expect(progress(sync({ totalBits: 100, leftBits: 200, sinceStartS: 1 }))[0]).toBe("\t[>....................] sync'ed:  0.0% (400/400)K");
  });
});

describe('the 20-cell bar', () => {
  it('x = 0 gives > and 20 dots (21 cells), x = 1 > and 19 dots, x = 20 19 = and >', () => {
    // total 1048575 bits: 1 + (total>>10) = 1024 → all left reads 0.1%, x = 0
    expect(progress(sync({ totalBits: 1048575, leftBits: 1048575, sinceStartS: 1 }))[0]).toBe("\t[>....................] sync'ed:  0.1% (4194300/4194300)K");
    expect(progress(sync({ totalBits: 16374, leftBits: 16322, sinceStartS: 1 }))[0]).toBe("\t[>...................] sync'ed:  6.3% (65288/65496)K");
    expect(progress(sync({ totalBits: 16374, leftBits: 0, sinceStartS: 1 }))[0]).toBe("\t[===================>] sync'ed:100.0% (0/65496)K");
  });
});

describe('sizes', () => {
  it('K up to 1048576 bits (4 GiB), M above with (bits >> 10) × 4', () => {
    expect(progress(sync({ totalBits: 1048576, leftBits: 1048576, sinceStartS: 1 }))[0]).toMatch(/\(4194304\/4194304\)K$/);
    expect(progress(sync({ totalBits: 1048577, leftBits: 1048577, sinceStartS: 1 }))[0]).toMatch(/\(4096\/4096\)M$/);
    const big = progress(sync({ totalBits: 2 ** 33, leftBits: 2 ** 32, sinceStartS: 1 }))[0];
    expect(big).toBe("\t[=========>..........] sync'ed: 50.1% (16777216/33554432)M");
  });
});

describe('finish / speed line', () => {
  it('uses the mark two after the newest, whole seconds, dt 0 counts as 1', () => {
    const s = sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 0, markAgeS: 0, markLeft: 8400 });
    const f = syncFigures(s);
    expect(f.speedKiBps).toBe(400 * 4);
    expect(f.averageKiBps).toBe(8374 * 4);
    expect(f.finishSeconds).toBe(Math.floor((1 * Math.floor(8000 / 5)) / 100));
  });
  it('hours are not padded', () => {
    expect(formatHms(100000)).toBe('27:46:40');
    expect(formatHms(59)).toBe('0:00:59');
  });
  it('stalled only when the mark is more than 180 s old', () => {
    expect(progress(sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 200, markAgeS: 180, markLeft: 8000 }))[1]).toBe('\tfinish: 4:00:00 speed: 0 (164) K/sec');
    expect(progress(sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 200, markAgeS: 181, markLeft: 8000 }))[1]).toBe('\tfinish: 4:01:20 speed: 0 (164) K/sec (stalled)');
  });
  it('paused time is excluded from the average', () => {
    const s = sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 10, pausedMs: 60_000, markAgeS: 5, markLeft: 9000 });
    expect(syncFigures(s).averageKiBps).toBe(Math.floor(8374 / 10) * 4);
  });
  it('bits set again since the mark count as no progress (no unsigned wrap)', () => {
    const f = syncFigures(sync({ totalBits: 16374, leftBits: 9000, sinceStartS: 30, markAgeS: 18, markLeft: 8000 }));
    expect(f.speedKiBps).toBe(0);
  });
  it('want: on SyncTarget and VerifyS only; verified: in VerifyS/T', () => {
    const s = sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 20, markAgeS: 10, markLeft: 13000, wantKiBps: 1000 });
    expect(progress(s, 'SyncSource')[1]).not.toContain('want');
    expect(progress(s, 'SyncTarget')[1]).toBe('\tfinish: 0:00:15 speed: 2,000 (1,672) want: 1,000 K/sec');
    expect(progress(s, 'VerifyS')).toEqual(["\t[==========>.........] verified: 56.3% (32000/65496)K", '\tfinish: 0:00:15 speed: 2,000 (1,672) want: 1,000 K/sec']);
    expect(progress(s, 'VerifyT')).toEqual(["\t[==========>.........] verified: 56.3% (32000/65496)K", '\tfinish: 0:00:15 speed: 2,000 (1,672) K/sec']);
  });
  it('thousands separators in want:', () => {
    const line = (w: number): string => progress(sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 20, wantKiBps: w }), 'SyncTarget')[1]!;
    expect(line(999)).toContain(' want: 999 K/sec');
    expect(line(1000)).toContain(' want: 1,000 K/sec');
    expect(line(1234567)).toContain(' want: 1,234,567 K/sec');
  });
  it('no progress lines in PausedSyncS/T, and none required', () => {
    const text = renderProcDevice(device({ cs: 'PausedSyncS', pds: 'Inconsistent', flags: { userIsp: true }, counters: { oos: 400 } }));
    expect(text).toBe(' 0: cs:PausedSyncS ro:Secondary/Secondary ds:UpToDate/Inconsistent C r--u--\n    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:400\n');
    const withSync = renderProcDevice(device({ cs: 'PausedSyncT', sync: sync({ totalBits: 10, leftBits: 5, sinceStartS: 1 }) }));
    expect(withSync).not.toContain('\t');
  });
  it('a sync state without progress input is a caller bug', () => {
    expect(() => renderProcDevice(device({ cs: 'SyncSource' }))).toThrow(/needs sync progress/);
  });
});

describe('format helpers', () => {
  it('groupThousands', () => {
    expect([0, 999, 1000, 1001, 999999, 1000000, 1234567, 1234567890].map(groupThousands)).toEqual(['0', '999', '1,000', '1,001', '999,999', '1,000,000', '1,234,567', '1234,567,890']);
  });
  it('printfFixed2 rounds exact ties to even like glibc, others to nearest', () => {
    expect(printfFixed2(0.125)).toBe('0.12');
    expect(printfFixed2(0.375)).toBe('0.38');
    expect(printfFixed2(51.14)).toBe('51.14');
    expect(printfFixed2(99.999)).toBe('100.00');
    expect(printfFixed2(-0.125)).toBe('-0.12');
    expect(printfFixed2(NaN, true)).toBe('-nan');
    expect(printfFixed2(-Infinity)).toBe('-inf');
  });
});

describe('sync marks bookkeeping', () => {
  it('start: 8 marks at (now, total)', () => {
    const m = startSyncMarks(NOW, 500);
    expect(m.lastMark).toBe(0);
    expect(m.marks).toEqual(Array.from({ length: 8 }, () => ({ timeMs: NOW, leftBits: 500 })));
  });
  it('advances at most every 3 s, only on progress, never while paused', () => {
    let m = startSyncMarks(NOW, 500);
    expect(advanceSyncMarks(m, NOW + 2999, 400, false)).toBe(m);
    expect(advanceSyncMarks(m, NOW + 3000, 500, false)).toBe(m);
    expect(advanceSyncMarks(m, NOW + 3000, 400, true)).toBe(m);
    m = advanceSyncMarks(m, NOW + 3000, 400, false);
    expect(m.lastMark).toBe(1);
    expect(m.marks[1]).toEqual({ timeMs: NOW + 3000, leftBits: 400 });
    for (let i = 2; i <= 9; i++) m = advanceSyncMarks(m, NOW + 3000 * i, 500 - 10 * i, false);
    expect(m.lastMark).toBe(9 % 8);
    expect(m.marks[1]).toEqual({ timeMs: NOW + 27000, leftBits: 410 });
  });
  it('pause stamps the newest mark; resume reports the paused time', () => {
    const m = pauseSyncMarks(startSyncMarks(NOW, 500), NOW + 5000);
    expect(m.marks[0]).toEqual({ timeMs: NOW + 5000, leftBits: 500 });
    expect(pausedMsOnResume(m, NOW + 65000)).toBe(60000);
  });
});
