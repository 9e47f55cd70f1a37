// Resync request rate (resync.md §4–6), sync marks and the progress numbers of the status file
// (proc-drbd.md §3.2). One tick = SLEEP_TIME = 100 ms; all integer arithmetic as in C.

/** Controller tick in ms (HZ/10). */
export const TICK_MS = 100;
export const SYNC_MARKS = 8;
/** A new sync mark at most every 3 s. */
export const SYNC_MARK_STEP_MS = 3000;

/** C integer division (truncates toward zero). */
const idiv = (a: number, b: number): number => Math.trunc(a / b);

export interface ControllerSettings {
  /** resync-rate, KiB/s. */
  resyncRateKiBps: number;
  /** c-plan-ahead in 0.1 s; 0 = fixed-rate mode. */
  cPlanAhead: number;
  /** c-delay-target in 0.1 s. */
  cDelayTarget: number;
  /** c-fill-target in sectors. */
  cFillTarget: number;
  /** c-max-rate, KiB/s. */
  cMaxRateKiBps: number;
  /** max-buffers (net), 4 KiB pages. */
  maxBuffers: number;
}

export interface ControllerState {
  /** Sectors requested and not yet received. */
  rsInFlight: number;
  /** Plan fifo: one slot per tick of c-plan-ahead. */
  plan: number[];
  /** Index of the fifo head. */
  head: number;
  /** Sum of the fifo. */
  total: number;
}

/** Reset at resync/verify start: nothing in flight, empty plan sized c-plan-ahead. */
export function controllerReset(settings: ControllerSettings): ControllerState {
  return { rsInFlight: 0, plan: new Array<number>(settings.cPlanAhead).fill(0), head: 0, total: 0 };
}

export interface TickResult {
  state: ControllerState;
  /** Number of 4 KiB resync requests to generate this tick (after the max-buffers cap). */
  number: number;
  /** c_sync_rate in KiB/s: the `want:` value of the status file. */
  cSyncRateKiBps: number;
  /** Dynamic mode internals (for tests and debugging). */
  want?: number;
  correction?: number;
  reqSect?: number;
}

/** Fixed mode: resync-rate / 40 requests of 4 KiB per 100 ms (250 KiB/s ⇒ 6). */
export function fixedRateRequests(resyncRateKiBps: number): number {
  return idiv(resyncRateKiBps * TICK_MS, 4 * 1000);
}

/**
 * One controller tick (resync.md §5 steps 1–8). `sectIn` = sectors received since the last tick.
 * Fixed mode when c-plan-ahead is 0 (§4). The caller reports what it sent with onRequestsSent.
 */
export function controllerTick(st: ControllerState, sectIn: number, s: ControllerSettings): TickResult {
  // 1. What came in is no longer in flight.
  const rsInFlight = st.rsInFlight - sectIn;
  let number: number;
  let cSyncRateKiBps: number;
  let state: ControllerState;
  let debug: Pick<TickResult, 'want' | 'correction' | 'reqSect'> = {};

  if (s.cPlanAhead > 0 && st.plan.length > 0) {
    const steps = st.plan.length;
    // 2. The amount of data we want in flight.
    let want: number;
    if (rsInFlight + sectIn === 0) want = idiv(s.resyncRateKiBps * 2, 10) * steps; // start: seed from resync-rate
    else if (s.cFillTarget !== 0) want = s.cFillTarget;
    else want = sectIn * s.cDelayTarget;
    // 3.–4. Spread the correction evenly over the plan.
    const correction = want - rsInFlight - st.total;
    const cps = idiv(correction, steps);
    const plan = st.plan.map((v) => v + cps);
    let total = st.total + cps * steps;
    // 5. Take this tick's share from the head of the fifo.
    const currCorr = plan[st.head] ?? 0;
    plan[st.head] = 0;
    const head = (st.head + 1) % steps;
    total -= currCorr;
    // 6. Sectors to request now, within [0, c-max-rate per tick].
    const maxSect = idiv(s.cMaxRateKiBps * 2, 10);
    let reqSect = sectIn + currCorr;
    if (reqSect < 0) reqSect = 0;
    if (reqSect > maxSect) reqSect = maxSect;
    // 7. In 4 KiB requests; the rate that corresponds to.
    number = reqSect >> 3;
    cSyncRateKiBps = idiv(number * 4 * 1000, TICK_MS);
    state = { rsInFlight, plan, head, total };
    debug = { want, correction, reqSect };
  } else {
    cSyncRateKiBps = s.resyncRateKiBps;
    number = fixedRateRequests(s.resyncRateKiBps);
    state = { ...st, rsInFlight };
  }

  // 8. Never more than max-buffers/2 pages in flight.
  const mxb = idiv(s.maxBuffers, 2);
  const room = mxb - idiv(rsInFlight, 8);
  if (room < number) number = room;
  if (number < 0) number = 0;
  return { state, number, cSyncRateKiBps, ...debug };
}

/** 9. After sending requests covering `blocks` 4 KiB blocks: they are in flight. */
export function onRequestsSent(st: ControllerState, blocks: number): ControllerState {
  return { ...st, rsInFlight: st.rsInFlight + blocks * 8 };
}

// ---------------------------------------------------------------------------------------------
// c-min-rate throttle (resync.md §6).

export interface SyncMark {
  /** ms timestamp. */
  time: number;
  /** Bits left at that time. */
  left: number;
}

export interface SyncMarks {
  marks: SyncMark[];
  last: number;
}

/** At resync start all 8 marks are (now, rs_total). */
export function marksReset(now: number, total: number): SyncMarks {
  return { marks: Array.from({ length: SYNC_MARKS }, () => ({ time: now, left: total })), last: 0 };
}

/** A new mark when ≥ 3 s passed since the last one, bits were cleared meanwhile and not paused. */
export function advanceMarks(m: SyncMarks, now: number, left: number, paused: boolean): SyncMarks {
  const lastMark = m.marks[m.last]!;
  if (now < lastMark.time + SYNC_MARK_STEP_MS) return m;
  if (lastMark.left === left || paused) return m;
  const next = (m.last + 1) % SYNC_MARKS;
  const marks = m.marks.map((x, i) => (i === next ? { time: now, left } : x));
  return { marks, last: next };
}

export interface ThrottleInput {
  cMinRateKiBps: number;
  /** Backing-disk sectors (read + written) minus resync sectors, now. */
  currEvents: number;
  /** The value remembered at the last check (rs_last_events). */
  lastEvents: number;
  /** Application requests wait for the activity log. */
  appWaitingForAl: boolean;
  marks: SyncMarks;
  now: number;
  /** Bits left (set bits − rs_failed; ov_left for verify). */
  left: number;
}

export interface ThrottleResult {
  throttle: boolean;
  /** The new rs_last_events. */
  lastEvents: number;
  /** The recent resync speed, when it was computed. */
  speedKiBps?: number;
}

/**
 * throttle(): only when application I/O competes (AL waiters, or > 64 non-resync sectors since
 * the last check) and the resync over the last ≈ 3–6 s was faster than c-min-rate.
 */
export function shouldThrottle(i: ThrottleInput): ThrottleResult {
  if (i.cMinRateKiBps === 0) return { throttle: false, lastEvents: i.lastEvents };
  if (!i.appWaitingForAl && !(i.currEvents - i.lastEvents > 64)) return { throttle: false, lastEvents: i.lastEvents };
  const mark = i.marks.marks[(i.marks.last + SYNC_MARKS - 1) % SYNC_MARKS]!;
  let dt = idiv(i.now - mark.time, 1000);
  if (dt === 0) dt = 1;
  const speedKiBps = idiv(mark.left - i.left, dt) * 4;
  return { throttle: speedKiBps > i.cMinRateKiBps, lastEvents: i.currEvents, speedKiBps };
}

// ---------------------------------------------------------------------------------------------
// Progress numbers of the status file (proc-drbd.md §3).

export interface ProgressInput {
  /** rs_total (verify: bits from the start position). */
  total: number;
  /** Bits left (set bits − rs_failed; verify: ov_left). */
  left: number;
  marks: SyncMarks;
  now: number;
  /** rs_start, ms. */
  start: number;
  /** Accumulated paused time, ms. */
  pausedMs: number;
}

export interface Progress {
  /** Per-mille done (quantised as the kernel does). */
  perMille: number;
  /** Seconds to finish (`finish: h:mm:ss`). */
  finishSeconds: number;
  /** `speed:` current, KiB/s. */
  speedKiBps: number;
  /** `(avg)`, KiB/s. */
  avgKiBps: number;
  /** `(stalled)`: the reference mark is more than 180 s old. */
  stalled: boolean;
  /** The values as clipped (left > total ⇒ left = total). */
  left: number;
  total: number;
}

export function syncProgress(p: ProgressInput): Progress {
  let left = p.left;
  const total = p.total;
  let perMille: number;
  if (left > total) {
    left = total;
    perMille = total === 0 ? 1000 : 0;
  } else {
    const sh = total > 0xffffffff ? 16 : 10;
    perMille = 1000 - idiv(Math.floor(left / 2 ** sh) * 1000, 1 + Math.floor(total / 2 ** sh));
  }
  const mark = p.marks.marks[(p.marks.last + 2) % SYNC_MARKS]!;
  let dt = idiv(p.now - mark.time, 1000);
  const stalled = dt > 180;
  if (dt === 0) dt = 1;
  const db = mark.left - left;
  const finishSeconds = idiv(dt * idiv(left, idiv(db, 100) + 1), 100);
  const speedKiBps = idiv(db, dt) * 4;
  let dt2 = idiv(p.now - p.start - p.pausedMs, 1000);
  if (dt2 <= 0) dt2 = 1;
  const avgKiBps = idiv(total - left, dt2) * 4;
  return { perMille, finishSeconds, speedKiBps, avgKiBps, stalled, left, total };
}

/**
 * `Resync done (total %lu sec; paused %lu sec; %lu K/sec)` (or `Online verify done …`):
 * rate over the unpaused time, at least 1 s.
 */
export function resyncDoneLine(
  i: { totalBits: number; start: number; now: number; pausedMs: number },
  verify = false,
): string {
  let dt = idiv(i.now - i.start - i.pausedMs, 1000);
  if (dt <= 0) dt = 1;
  const paused = idiv(i.pausedMs, 1000);
  const kps = idiv(i.totalBits, dt) * 4;
  return `${verify ? 'Online verify' : 'Resync'} done (total ${dt + paused} sec; paused ${paused} sec; ${kps} K/sec)`;
}
