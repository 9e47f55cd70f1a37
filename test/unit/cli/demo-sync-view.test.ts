// The live frame of `udrbd demo`'s initial sync is redrawn by moving the cursor up one row per
// line drawn; that only works if no line wraps. fitFrame guarantees it for any width.
import { describe, expect, it } from 'vitest';
import { fitFrame } from '../../../src/cli/demo/sync-view.js';
import { renderWatchFrame, UDRBD_PROC_HEADER, visibleLength, type ProcDevice } from '../../../src/status/index.js';

const syncing: ProcDevice = {
  minor: 0,
  cs: 'SyncSource',
  ro: 'Primary',
  peerRo: 'Secondary',
  ds: 'UpToDate',
  pds: 'Inconsistent',
  protocol: 'C',
  flags: { susp: false, aftrIsp: false, peerIsp: false, userIsp: false, congestion: '-', alSuspended: false },
  counters: { ns: 123456, nr: 0, dw: 0, dr: 123456, al: 0, bm: 0, lo: 0, pe: 0, ua: 0, ap: 0, ep: 1, wo: 'f', oos: 138644 },
  sync: {
    totalBits: 65525,
    leftBits: 34661,
    marks: Array.from({ length: 8 }, (_, i) => ({ timeMs: 1_000 * i, leftBits: 65525 - 4000 * i })),
    lastMark: 7,
    startMs: 0,
    pausedMs: 0,
    nowMs: 8_000,
    wantKiBps: 0,
  },
};

describe('udrbd demo: live sync frame', () => {
  for (const columns of [40, 80, 132]) {
    it(`keeps every line within ${columns} columns and leaves out the header and counters`, () => {
      const frame = renderWatchFrame({ header: UDRBD_PROC_HEADER, devices: [syncing] }, { width: columns - 1, ansi: true });
      const lines = fitFrame(frame, columns);
      for (const l of lines) expect(visibleLength(l)).toBeLessThan(columns);
      expect(lines.some((l) => l.startsWith('version:') || l.startsWith('GIT-hash:') || /^\s+ns:/.test(l))).toBe(false);
      expect(lines[0]).toMatch(/^ 0: cs:/);
      if (columns >= 80) expect(lines).toContain(" 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----");
      if (columns >= 80) expect(lines.some((l) => l.startsWith("        [========>...........] sync'ed: 48.5% (138644/262100)K"))).toBe(true);
      expect(lines.some((l) => l.includes('\t'))).toBe(false);
    });
  }
});
