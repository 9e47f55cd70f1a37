// resync.md §4–7 and proc-drbd.md §3: the rate controller (hand-computed sequences), c-min-rate
// throttle, sync marks and progress numbers, pause flags and resync-after.
import { describe, expect, it } from 'vitest';
import {
  advanceMarks,
  ConnState as C,
  controllerReset,
  controllerTick,
  defaultContext,
  DiskState as D,
  ERR,
  evaluateResyncAfter,
  fixedRateRequests,
  makeState,
  marksReset,
  maySyncNow,
  onRequestsSent,
  pauseSync,
  resumeSync,
  resyncDoneLine,
  Role as R,
  shouldThrottle,
  syncProgress,
  validateResyncAfter,
  type ControllerSettings,
  type DeviceState,
  type ResyncAfterDevice,
} from '../../../src/state/index.js';

const dyn: ControllerSettings = {
  resyncRateKiBps: 250,
  cPlanAhead: 20,
  cDelayTarget: 10,
  cFillTarget: 100,
  cMaxRateKiBps: 102400,
  maxBuffers: 2048,
};
const fixed: ControllerSettings = { ...dyn, cPlanAhead: 0 };

describe('fixed-rate mode (§4)', () => {
  it.each([
    [250, 6],
    [10240, 256],
    [102400, 2560],
    [39, 0],
    [40, 1],
  ])('%i KiB/s ⇒ %i requests per 100 ms', (rate, n) => {
    expect(fixedRateRequests(rate)).toBe(n);
    const s = { ...fixed, resyncRateKiBps: rate, maxBuffers: 131072 };
    const t = controllerTick(controllerReset(s), 0, s);
    expect(t.number).toBe(n);
    expect(t.cSyncRateKiBps).toBe(rate); // want: = resync-rate
  });
  it('accounts what came in and caps by max-buffers/2', () => {
    let st = onRequestsSent(controllerReset(fixed), 6); // 48 sectors in flight
    const t = controllerTick(st, 16, { ...fixed, maxBuffers: 12 }); // 32 left in flight ⇒ 6 − 4 = 2
    expect(t.state.rsInFlight).toBe(32);
    expect(t.number).toBe(2);
    st = onRequestsSent(controllerReset(fixed), 100);
    expect(controllerTick(st, 0, { ...fixed, maxBuffers: 32 }).number).toBe(0); // never negative
  });
});

describe('dynamic controller (§5), hand-computed', () => {
  it('c-fill-target 100: start, overshoot correction, steady state', () => {
    let st = controllerReset(dyn);
    expect(st.plan).toHaveLength(20);

    // Tick 1 (start): want = 250/5 × 20 = 1000; cps = 50; head slot 50 ⇒ 50 sectors ⇒ 6 requests.
    let t = controllerTick(st, 0, dyn);
    expect(t).toMatchObject({ want: 1000, correction: 1000, reqSect: 50, number: 6, cSyncRateKiBps: 240 });
    expect(t.state.total).toBe(950);
    st = onRequestsSent(t.state, 6); // 48 in flight

    // Tick 2: want = 100; correction = 100 − 48 − 950 = −898; cps = trunc(−44.9) = −44;
    // slot 1 = 50 − 44 = 6 ⇒ 6 sectors ⇒ 0 requests; total = 950 − 880 − 6 = 64.
    t = controllerTick(st, 0, dyn);
    expect(t).toMatchObject({ want: 100, correction: -898, reqSect: 6, number: 0, cSyncRateKiBps: 0 });
    expect(t.state.total).toBe(64);
    expect(t.state.plan.reduce((a, b) => a + b, 0)).toBe(64);
    st = t.state;

    // Tick 3: all 48 sectors came back; correction = 100 − 0 − 64 = 36, cps = 1;
    // slot 2 = 7 ⇒ 48 + 7 = 55 sectors ⇒ 6 requests.
    t = controllerTick(st, 48, dyn);
    expect(t).toMatchObject({ want: 100, correction: 36, reqSect: 55, number: 6, cSyncRateKiBps: 240 });
    expect(t.state).toMatchObject({ rsInFlight: 0, total: 77, head: 3 });
  });

  it('c-fill-target 0: want = sect_in × c-delay-target', () => {
    const s = { ...dyn, cFillTarget: 0 };
    const st = onRequestsSent(controllerTick(controllerReset(s), 0, s).state, 6);
    // sect_in 8 ⇒ in flight 40; want 80; correction 80 − 40 − 950 = −910; cps −45; slot 5 ⇒ 13.
    const t = controllerTick(st, 8, s);
    expect(t).toMatchObject({ want: 80, correction: -910, reqSect: 13, number: 1 });
  });

  it('clamps to c-max-rate and to zero', () => {
    const s = { ...dyn, cMaxRateKiBps: 250 }; // 50 sectors per tick
    const st = onRequestsSent(controllerReset(s), 100);
    expect(controllerTick(st, 400, s)).toMatchObject({ reqSect: 50, number: 6 });
    const neg = { ...controllerReset(dyn), rsInFlight: 10000 };
    expect(controllerTick(neg, 0, dyn)).toMatchObject({ reqSect: 0, number: 0 });
  });

  it('caps the request count by max-buffers/2 − in-flight pages', () => {
    const s = { ...dyn, maxBuffers: 32 };
    const st = onRequestsSent(controllerReset(s), 12); // 96 sectors = 12 pages in flight
    const t = controllerTick(st, 0, { ...s, cFillTarget: 2000 });
    expect(t.reqSect).toBeGreaterThan(32);
    expect(t.number).toBe(16 - 12);
  });
});

describe('sync marks, throttle and progress', () => {
  it('advances marks at most every 3 s, only with progress and not paused', () => {
    const m0 = marksReset(0, 1000);
    expect(advanceMarks(m0, 2999, 900, false)).toBe(m0);
    expect(advanceMarks(m0, 3000, 1000, false)).toBe(m0);
    expect(advanceMarks(m0, 3000, 900, true)).toBe(m0);
    const m1 = advanceMarks(m0, 3000, 900, false);
    expect(m1.last).toBe(1);
    expect(m1.marks[1]).toEqual({ time: 3000, left: 900 });
    const m8 = [6000, 9000, 12000, 15000, 18000, 21000, 24000].reduce((m, t, i) => advanceMarks(m, t, 800 - i, false), m1);
    expect(m8.last).toBe(0); // wrapped around the 8 marks
  });

  it('throttles only with competing application I/O and a resync faster than c-min-rate', () => {
    const marks = marksReset(0, 1000);
    const base = { cMinRateKiBps: 250, currEvents: 1065, lastEvents: 1000, appWaitingForAl: false, marks, now: 5000, left: 500 };
    // speed = (1000 − 500) / 5 s × 4 = 400 KiB/s > 250.
    expect(shouldThrottle(base)).toEqual({ throttle: true, lastEvents: 1065, speedKiBps: 400 });
    expect(shouldThrottle({ ...base, cMinRateKiBps: 400 })).toMatchObject({ throttle: false, lastEvents: 1065 });
    expect(shouldThrottle({ ...base, currEvents: 1064 })).toEqual({ throttle: false, lastEvents: 1000 });
    expect(shouldThrottle({ ...base, currEvents: 1000, appWaitingForAl: true }).throttle).toBe(true);
    expect(shouldThrottle({ ...base, cMinRateKiBps: 0 })).toEqual({ throttle: false, lastEvents: 1000 });
    // dt below a second counts as one second.
    expect(shouldThrottle({ ...base, now: 500, left: 990 }).speedKiBps).toBe(40);
  });

  it('reproduces proc-drbd.md worked example (b)', () => {
    const now = 100_000;
    const marks = { marks: marksReset(0, 16374).marks.map((m, i) => (i === 7 ? { time: now - 10_000, left: 13000 } : m)), last: 5 };
    const p = syncProgress({ total: 16374, left: 8000, marks, now, start: now - 20_000, pausedMs: 0 });
    expect(p).toEqual({ perMille: 563, finishSeconds: 15, speedKiBps: 2000, avgKiBps: 1672, stalled: false, left: 8000, total: 16374 });
  });

  it('stalled after 180 s, clipped when left > total, 100% for an empty total', () => {
    const marks = marksReset(0, 100);
    expect(syncProgress({ total: 100, left: 100, marks, now: 181_000, start: 0, pausedMs: 0 }).stalled).toBe(true);
    expect(syncProgress({ total: 100, left: 150, marks, now: 1000, start: 0, pausedMs: 0 })).toMatchObject({ perMille: 0, left: 100 });
    expect(syncProgress({ total: 0, left: 5, marks, now: 1000, start: 0, pausedMs: 0 }).perMille).toBe(1000);
  });

  it('prints the resync-done line as the captures', () => {
    expect(resyncDoneLine({ totalBits: 16374, start: 0, now: 65_400, pausedMs: 0 })).toBe(
      'Resync done (total 65 sec; paused 0 sec; 1004 K/sec)',
    );
    expect(resyncDoneLine({ totalBits: 16374, start: 0, now: 2_200, pausedMs: 0 })).toBe(
      'Resync done (total 2 sec; paused 0 sec; 32748 K/sec)',
    );
    expect(resyncDoneLine({ totalBits: 0, start: 0, now: 100, pausedMs: 0 })).toBe('Resync done (total 1 sec; paused 0 sec; 0 K/sec)');
    expect(resyncDoneLine({ totalBits: 1000, start: 0, now: 15_000, pausedMs: 5_000 }, true)).toBe(
      'Online verify done (total 15 sec; paused 5 sec; 400 K/sec)',
    );
  });
});

describe('pause-sync / resume-sync (§7)', () => {
  const ctx = defaultContext({ hasNetConfig: true, agreedProtocol: 101 });
  const syncing = makeState({ conn: C.SyncSource, role: R.Primary, peer: R.Secondary, disk: D.UpToDate, pdsk: D.Inconsistent });
  it('pauses and resumes a running resync', () => {
    const p = pauseSync(syncing, ctx);
    expect(p.ok).toBe(true);
    expect(p.result.ok && p.result.logLine).toBe('conn( SyncSource -> PausedSyncS ) user_isp( 0 -> 1 ) ');
    const paused = p.result.ok ? p.result.newState : syncing;
    expect(pauseSync(paused, ctx)).toMatchObject({ ok: false, err: ERR.PauseIsSet });
    const r = resumeSync(paused, ctx);
    expect(r.result.ok && r.result.newState.conn).toBe(C.SyncSource);
    expect(resumeSync(syncing, ctx)).toMatchObject({ ok: false, err: ERR.PauseIsClear });
  });
  it('pause-sync is allowed without a resync', () => {
    const s = makeState({ conn: C.Connected, peer: R.Secondary, disk: D.UpToDate, pdsk: D.UpToDate });
    expect(pauseSync(s, ctx)).toMatchObject({ ok: true, result: { newState: { userIsp: true, conn: C.Connected } } });
  });
  it('says why a resync with a clear user flag is still paused (156, 157)', () => {
    expect(resumeSync({ ...syncing, conn: C.PausedSyncS, aftrIsp: true }, ctx)).toMatchObject({ err: ERR.PicAfterDep });
    const target = makeState({ conn: C.PausedSyncT, peer: R.Primary, disk: D.Inconsistent, pdsk: D.UpToDate, peerIsp: true });
    expect(resumeSync(target, ctx)).toMatchObject({ err: ERR.PicPeerDep });
  });
});

describe('resync-after dependencies (§7)', () => {
  const dev = (state: Partial<DeviceState>, resyncAfter = -1): ResyncAfterDevice => ({
    state: makeState({ conn: C.Connected, peer: R.Secondary, disk: D.UpToDate, pdsk: D.UpToDate, ...state }),
    resyncAfter,
  });
  const table = (e: Array<[number, ResyncAfterDevice]>) => new Map(e);

  it('may sync unless something up the chain syncs or is paused', () => {
    const t = table([
      [0, dev({ conn: C.SyncSource, pdsk: D.Inconsistent })],
      [1, dev({}, 0)],
      [2, dev({}, 1)],
      [3, dev({ userIsp: true })],
      [4, dev({}, 3)],
      [5, dev({}, 9)], // missing minor: chain stops
      [6, dev({ disk: D.Diskless }, 0)], // a diskless device may always "sync"
    ]);
    expect(maySyncNow(0, t)).toBe(true);
    expect(maySyncNow(1, t)).toBe(false);
    expect(maySyncNow(2, t)).toBe(false); // the whole chain counts: 0 is still syncing
    expect(maySyncNow(4, t)).toBe(false);
    expect(maySyncNow(5, t)).toBe(true);
    expect(maySyncNow(6, t)).toBe(true);
  });

  it('a diskless device in the chain stops it', () => {
    const t = table([
      [0, dev({ conn: C.SyncTarget, disk: D.Inconsistent })],
      [1, dev({ disk: D.Diskless }, 0)],
      [2, dev({}, 1)],
    ]);
    expect(maySyncNow(2, t)).toBe(true);
  });

  it('pauses down the chain until stable, and resumes when the first resync ends', () => {
    const t = table([
      [0, dev({ conn: C.SyncSource, pdsk: D.Inconsistent })],
      [1, dev({ conn: C.SyncSource, pdsk: D.Inconsistent }, 0)],
      [2, dev({ conn: C.SyncTarget, disk: D.Inconsistent }, 1)],
      [3, dev({}, -1)],
    ]);
    expect(evaluateResyncAfter(t)).toEqual(new Map([[1, true], [2, true]]));

    // Minor 0 finished; 1 and 2 are paused by the dependency.
    const done = table([
      [0, dev({})],
      [1, dev({ conn: C.PausedSyncS, pdsk: D.Inconsistent, aftrIsp: true }, 0)],
      [2, dev({ conn: C.PausedSyncT, disk: D.Inconsistent, aftrIsp: true }, 1)],
    ]);
    // 1 resumes (SyncSource again) — so 2 must stay paused.
    expect(evaluateResyncAfter(done)).toEqual(new Map([[1, false]]));
  });

  it('ignores unconfigured devices', () => {
    const t = table([
      [0, dev({ conn: C.SyncSource, pdsk: D.Inconsistent })],
      [1, { state: makeState({ aftrIsp: false }), resyncAfter: 0 }],
    ]);
    expect(evaluateResyncAfter(t)).toEqual(new Map());
  });

  it('validates the dependency: range (132) and cycles (133)', () => {
    const t = table([
      [0, dev({}, 1)],
      [1, dev({}, 2)],
      [2, dev({}, -1)],
      [3, dev({ disk: D.Diskless }, 0)],
    ]);
    expect(validateResyncAfter(2, -1, t)).toBeUndefined();
    expect(validateResyncAfter(2, 0, t)).toBe(ERR.ResyncAfterCycle);
    expect(validateResyncAfter(2, 2, t)).toBe(ERR.ResyncAfterCycle);
    expect(validateResyncAfter(2, 7, t)).toBeUndefined(); // missing minor
    expect(validateResyncAfter(2, 3, t)).toBeUndefined(); // diskless: chain not followed
    expect(validateResyncAfter(2, -2, t)).toBe(ERR.ResyncAfter);
    expect(validateResyncAfter(2, 1 << 20, t)).toBe(ERR.ResyncAfter);
  });
});
