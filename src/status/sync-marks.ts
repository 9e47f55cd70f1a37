// Sync-mark bookkeeping (spec/proc-drbd.md §3.2, spec/resync.md §3 step 4 and §7), kept next to
// its only reader, the progress figures. The daemon's resync controller owns a SyncMarks value
// per device and calls these pure functions; they return a new value and never mutate.
//
//   start:   all 8 marks := (now, rs_total), last mark 0
//   advance: at most one new mark per 3 s, only when bits were cleared since the newest mark and
//            the resync is not paused
//   pause:   the newest mark's time := now (the pause starts there)
//   resume:  paused time += now − newest mark's time; marks unchanged

import { SYNC_MARKS, type SyncMark } from './progress.js';

export const SYNC_MARK_STEP_MS = 3000;

export interface SyncMarks {
  marks: readonly SyncMark[];
  lastMark: number;
}

export function startSyncMarks(nowMs: number, totalBits: number): SyncMarks {
  return { marks: Array.from({ length: SYNC_MARKS }, () => ({ timeMs: nowMs, leftBits: totalBits })), lastMark: 0 };
}

/**
 * Called whenever bits get cleared (resync progress, verify progress). Returns the same object
 * when nothing changes so callers can cheaply detect a new mark.
 */
export function advanceSyncMarks(m: SyncMarks, nowMs: number, leftBits: number, paused: boolean): SyncMarks {
  const newest = m.marks[m.lastMark]!;
  if (paused) return m;
  if (nowMs < newest.timeMs + SYNC_MARK_STEP_MS) return m;
  if (newest.leftBits === leftBits) return m;
  const next = (m.lastMark + 1) % SYNC_MARKS;
  const marks = m.marks.map((mk, i) => (i === next ? { timeMs: nowMs, leftBits } : mk));
  return { marks, lastMark: next };
}

/** Resync goes SyncX → PausedSyncX. */
export function pauseSyncMarks(m: SyncMarks, nowMs: number): SyncMarks {
  const marks = m.marks.map((mk, i) => (i === m.lastMark ? { timeMs: nowMs, leftBits: mk.leftBits } : mk));
  return { marks, lastMark: m.lastMark };
}

/** Resync goes PausedSyncX → SyncX: how many ms to add to the paused total. */
export function pausedMsOnResume(m: SyncMarks, nowMs: number): number {
  return Math.max(0, nowMs - m.marks[m.lastMark]!.timeMs);
}
