// Resync / online-verify progress figures (spec/proc-drbd.md §3), computed once and shared by the
// /proc/drbd text, the JSON status and the watch frame. All inputs are bitmap bits (1 bit = 4 KiB)
// and milliseconds; the arithmetic is the kernel's integer arithmetic (truncating division).

export const SYNC_MARKS = 8;

export interface SyncMark {
  /** when the mark was taken (ms, same clock as nowMs) */
  timeMs: number;
  /** bits still to go at that time */
  leftBits: number;
}

export interface SyncProgressInput {
  /** rs_total: bits to resync, fixed at resync start (verify: bits from the start sector to the end) */
  totalBits: number;
  /** set bits in the bitmap minus rs_failed (verify: ov_left) */
  leftBits: number;
  /** the 8 sync marks (see sync-marks.ts) */
  marks: readonly SyncMark[];
  /** index of the newest mark */
  lastMark: number;
  /** rs_start: when the resync/verify started (ms) */
  startMs: number;
  /** rs_paused: total time spent paused so far (ms) */
  pausedMs: number;
  /** the time of rendering (ms); injected, never read from a clock here */
  nowMs: number;
  /** c_sync_rate in KiB/s; printed as `want:` only on the requesting side (SyncTarget, VerifyS) */
  wantKiBps: number;
}

export interface SyncFigures {
  totalBits: number;
  /** leftBits clamped to totalBits */
  leftBits: number;
  /** per-mille done as the kernel quantises it (0..1000) */
  perMille: number;
  /** seconds to go, from the ≈18 s old mark */
  finishSeconds: number;
  /** current speed from the ≈18 s old mark, KiB/s */
  speedKiBps: number;
  /** average speed since the start, paused time excluded, KiB/s */
  averageKiBps: number;
  /** the mark used is more than 180 s old */
  stalled: boolean;
}

function checkBits(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${v}`);
}

/**
 * Per-mille done and the clamped "left" (spec §3.1): when left exceeds total (a race at resync
 * start in DRBD) left := total and per-mille := 0, or 1000 when total is 0. Otherwise both are
 * shifted right by 10 bits (16 when total exceeds 0xFFFFFFFF) before the division, which is what
 * makes the value coarse: a total below 1024 bits always reads 100.0%.
 */
export function perMilleDone(totalBits: number, leftBits: number): { perMille: number; leftBits: number } {
  checkBits('totalBits', totalBits);
  checkBits('leftBits', leftBits);
  if (leftBits > totalBits) return { perMille: totalBits === 0 ? 1000 : 0, leftBits: totalBits };
  const shift = totalBits > 0xffffffff ? 16 : 10;
  const l = Math.floor(leftBits / 2 ** shift);
  const t = 1 + Math.floor(totalBits / 2 ** shift);
  return { perMille: 1000 - Math.floor((l * 1000) / t), leftBits };
}

/** Whole seconds between two millisecond times (jiffies/HZ truncates); a clock going backwards counts as 0. */
function wholeSeconds(fromMs: number, toMs: number): number {
  return Math.max(0, Math.floor((toMs - fromMs) / 1000));
}

export function syncFigures(s: SyncProgressInput): SyncFigures {
  if (s.marks.length !== SYNC_MARKS) throw new RangeError(`expected ${SYNC_MARKS} sync marks, got ${s.marks.length}`);
  if (!Number.isInteger(s.lastMark) || s.lastMark < 0 || s.lastMark >= SYNC_MARKS) {
    throw new RangeError(`lastMark out of range: ${s.lastMark}`);
  }
  const { perMille, leftBits } = perMilleDone(s.totalBits, s.leftBits);

  // The mark two after the newest is the oldest one that is not about to be overwritten:
  // (8-2) marks × 3 s ≈ 18 s old while the resync is moving.
  const mark = s.marks[(s.lastMark + 2) % SYNC_MARKS]!;
  let dt = wholeSeconds(mark.timeMs, s.nowMs);
  const stalled = dt > 180;
  if (dt === 0) dt = 1;
  // Deliberate deviation: if bits were set again since the mark (left grew), the kernel's unsigned
  // subtraction wraps and it prints garbage; we report 0 progress instead.
  const db = Math.max(0, mark.leftBits - leftBits);
  const finishSeconds = Math.floor((dt * Math.floor(leftBits / (Math.floor(db / 100) + 1))) / 100);
  const speedKiBps = Math.floor(db / dt) * 4;

  let dt2 = wholeSeconds(s.startMs + s.pausedMs, s.nowMs);
  if (dt2 === 0) dt2 = 1;
  const averageKiBps = Math.floor((s.totalBits >= leftBits ? s.totalBits - leftBits : 0) / dt2) * 4;

  return { totalBits: s.totalBits, leftBits, perMille, finishSeconds, speedKiBps, averageKiBps, stalled };
}

/** `h:mm:ss` with unpadded hours, as the finish: field prints it. */
export function formatHms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}
