// states.md §3: promotion/demotion retries and --force, the disconnect sequence with fencing,
// outdate, attach disk state, meta-data flags, wait-connect timeouts.
import { describe, expect, it } from 'vitest';
import {
  attachDiskState,
  changeRole,
  ConnState as C,
  crashedPrimaryAfter,
  defaultContext,
  DiskState as D,
  disconnect,
  drbdsetupExitCode,
  evaluatePeerRequest,
  FencingPolicy as F,
  makeState,
  mayPromoteWithoutForce,
  MDF,
  mdFlagsForState,
  normalizeWfcTimeouts,
  outdateRequest,
  requestStateChange,
  Role as R,
  selectWfcTimeout,
  SS,
  waitConnectDone,
  type DeviceState,
  type StateChange,
  type StateContext,
} from '../../../src/state/index.js';

/**
 * A node with a peer, both evaluated by the real rules: cluster-wide requests go to the peer's
 * evaluatePeerRequest; fence-peer outdates the peer when `fenceWorks`.
 */
function world(me: DeviceState, ctx: StateContext, peer?: { state: DeviceState; ctx: StateContext }, fenceWorks = false) {
  const w = {
    me,
    peer,
    fenceCalls: 0,
    sleeps: [] as number[],
    onSleep: undefined as undefined | (() => void),
    calls: 0,
    apply(change: StateChange, opts: { hard: boolean }): SS {
      // A retry loop that never ends is a failure, not a hang.
      if (++w.calls > 10) throw new Error('too many state change requests');
      const r = requestStateChange(w.me, change, { ctx, hard: opts.hard });
      if (!r.ok) return r.code;
      if (r.clusterWide && w.peer) {
        const pv = evaluatePeerRequest(w.peer.state, change, { ctx: w.peer.ctx, resolveConflicts: false, localChangeInProgress: false });
        if (pv.replyCode < SS.Success) return SS.CwFailedByPeer;
        if (pv.result?.ok) w.peer.state = pv.result.newState;
        const again = requestStateChange(w.me, change, { ctx, localOnly: true });
        if (!again.ok) return again.code;
        w.me = again.newState;
        return again.code;
      }
      w.me = r.newState;
      return r.code;
    },
    rolePorts: {
      state: () => w.me,
      request: (change: StateChange) => w.apply(change, { hard: false }),
      tryOutdatePeer: () => {
        w.fenceCalls++;
        if (fenceWorks) w.me = { ...w.me, pdsk: D.Outdated };
        return fenceWorks;
      },
      sleep: (ms: number) => {
        w.sleeps.push(ms);
        w.onSleep?.();
      },
    },
    disconnectPorts: {
      request: (change: StateChange, opts: { hard: boolean }) => w.apply(change, opts),
    },
  };
  return w;
}

const net = (o: Partial<StateContext> = {}) => defaultContext({ hasNetConfig: true, agreedProtocol: 101, ...o });
const conn = (o: Partial<DeviceState> = {}) =>
  makeState({ conn: C.Connected, role: R.Secondary, peer: R.Secondary, disk: D.UpToDate, pdsk: D.UpToDate, ...o });
const mirror = (s: DeviceState): DeviceState => ({ ...s, role: s.peer, peer: s.role, disk: s.pdsk, pdsk: s.disk });
const opts = { force: false, pingTimeoutMs: 500 };

describe('primary / secondary', () => {
  it('primary --force on Inconsistent/Inconsistent: disk forced to UpToDate (initial-sync capture)', async () => {
    const me = conn({ disk: D.Inconsistent, pdsk: D.Inconsistent });
    const w = world(me, net(), { state: mirror(me), ctx: net() });
    const out = await changeRole(w.rolePorts, R.Primary, { ...opts, force: true });
    expect(out).toMatchObject({ code: SS.Success, forced: true, log: ['Forced to consider local data as UpToDate!'] });
    expect(out.attempts.map((a) => [a.change, a.code])).toEqual([
      [{ role: R.Primary }, SS.NoUpToDateDisk],
      [{ role: R.Primary, disk: D.UpToDate }, SS.Success],
    ]);
    expect(w.me).toMatchObject({ role: R.Primary, disk: D.UpToDate });
    expect(w.peer!.state).toMatchObject({ peer: R.Primary, pdsk: D.UpToDate });
  });

  it('primary without --force: refused verbosely with -2 (exit 17)', async () => {
    const me = conn({ disk: D.Inconsistent, pdsk: D.Inconsistent });
    const w = world(me, net(), { state: mirror(me), ctx: net() });
    const out = await changeRole(w.rolePorts, R.Primary, opts);
    expect(out.code).toBe(SS.NoUpToDateDisk);
    expect(drbdsetupExitCode(out.code)).toBe(17);
    expect(out.attempts.map((a) => a.verbose)).toEqual([false, true]);
    expect(w.me.role).toBe(R.Secondary);
  });

  it('--force cannot help a Diskless node', async () => {
    const w = world(makeState({ conn: C.StandAlone }), defaultContext());
    const out = await changeRole(w.rolePorts, R.Primary, { ...opts, force: true });
    expect(out).toMatchObject({ code: SS.NoUpToDateDisk, forced: false });
  });

  it('a Consistent disconnected node fences the peer first; success makes it UpToDate', async () => {
    const me = makeState({ conn: C.WFConnection, disk: D.Consistent, pdsk: D.DUnknown });
    const w = world(me, net({ fencing: F.ResourceOnly }), undefined, true);
    const out = await changeRole(w.rolePorts, R.Primary, opts);
    expect(out).toMatchObject({ code: SS.Success, forced: false });
    expect(w.fenceCalls).toBe(1);
    expect(w.me).toMatchObject({ role: R.Primary, disk: D.UpToDate, pdsk: D.Outdated });
  });

  it('a Consistent node whose fencing fails stays Secondary after 4 tries', async () => {
    const me = makeState({ conn: C.WFConnection, disk: D.Consistent, pdsk: D.DUnknown });
    const w = world(me, net({ fencing: F.ResourceOnly }), undefined, false);
    const out = await changeRole(w.rolePorts, R.Primary, opts);
    expect(out.code).toBe(SS.NoUpToDateDisk);
    expect(out.attempts).toHaveLength(4);
    expect(w.me.role).toBe(R.Secondary);
  });

  it('SS_PRIMARY_NOP: fence-peer succeeds ⇒ Primary', async () => {
    const me = makeState({ conn: C.WFConnection, disk: D.UpToDate, pdsk: D.DUnknown });
    const w = world(me, net({ fencing: F.ResourceOnly }), undefined, true);
    const out = await changeRole(w.rolePorts, R.Primary, opts);
    expect(out.attempts.map((a) => a.code)).toEqual([SS.PrimaryNop, SS.Success]);
    expect(w.me).toMatchObject({ role: R.Primary, pdsk: D.Outdated });
  });

  it('SS_PRIMARY_NOP: fencing fails, --force ⇒ "Forced into split brain situation!"', async () => {
    const me = makeState({ conn: C.WFConnection, disk: D.UpToDate, pdsk: D.DUnknown });
    const w = world(me, net({ fencing: F.ResourceOnly }));
    const out = await changeRole(w.rolePorts, R.Primary, { ...opts, force: true });
    expect(out).toMatchObject({ code: SS.Success, forced: false, log: ['Forced into split brain situation!'] });
    expect(out.attempts.map((a) => a.change)).toEqual([{ role: R.Primary }, { role: R.Primary, pdsk: D.Outdated }]);
    const noForce = world(me, net({ fencing: F.ResourceOnly }));
    expect((await changeRole(noForce.rolePorts, R.Primary, opts)).code).toBe(SS.PrimaryNop);
  });

  it('SS_CW_FAILED_BY_PEER after adding pdsk: drop the pdsk part and retry', async () => {
    const codes = [SS.PrimaryNop, SS.CwFailedByPeer, SS.Success];
    const seen: StateChange[] = [];
    const out = await changeRole(
      {
        state: () => makeState({ disk: D.UpToDate }),
        request: (c) => {
          seen.push(c);
          return codes.shift()!;
        },
        tryOutdatePeer: () => false,
        sleep: () => undefined,
      },
      R.Primary,
      { ...opts, force: true },
    );
    expect(out.code).toBe(SS.Success);
    expect(seen).toEqual([{ role: R.Primary }, { role: R.Primary, pdsk: D.Outdated }, { role: R.Primary }]);
  });

  it('SS_TWO_PRIMARIES: waits ping-timeout + 0.1 s once, then fails', async () => {
    const me = conn({ peer: R.Primary });
    const w = world(me, net(), { state: mirror(me), ctx: net() });
    const out = await changeRole(w.rolePorts, R.Primary, opts);
    expect(out.code).toBe(SS.TwoPrimaries);
    expect(w.sleeps).toEqual([600]);
    expect(out.attempts).toHaveLength(2);
  });

  it('SS_TWO_PRIMARIES: succeeds when the peer is gone after the wait', async () => {
    const me = conn({ peer: R.Primary });
    const w = world(me, net());
    w.onSleep = () => {
      w.me = { ...w.me, conn: C.NetworkFailure, peer: R.Unknown, pdsk: D.DUnknown };
    };
    const out = await changeRole(w.rolePorts, R.Primary, opts);
    expect(out.code).toBe(SS.Success);
    expect(w.me.role).toBe(R.Primary);
  });

  it('demotion while open fails with -12; demotion otherwise succeeds; nothing to do is success', async () => {
    const me = conn({ role: R.Primary });
    const busy = world(me, net({ openCount: 1 }));
    expect((await changeRole(busy.rolePorts, R.Secondary, opts)).code).toBe(SS.DeviceInUse);
    const free = world(me, net());
    expect((await changeRole(free.rolePorts, R.Secondary, opts)).code).toBe(SS.Success);
    expect(free.me.role).toBe(R.Secondary);
    const again = await changeRole(free.rolePorts, R.Secondary, opts);
    expect(again.code).toBe(SS.NothingToDo);
    expect(again.attempts).toHaveLength(1);
  });

  it('who may promote without --force', () => {
    expect(mayPromoteWithoutForce(makeState({ disk: D.UpToDate }))).toBe(true);
    expect(mayPromoteWithoutForce(conn({ conn: C.SyncTarget, disk: D.Inconsistent }))).toBe(true);
    expect(mayPromoteWithoutForce(makeState({ conn: C.WFConnection, disk: D.Consistent }))).toBe(false);
    expect(mayPromoteWithoutForce(conn({ disk: D.Inconsistent, pdsk: D.Inconsistent }))).toBe(false);
  });
});

describe('disconnect', () => {
  it('a Secondary disconnects at once', async () => {
    const w = world(conn(), net(), { state: conn(), ctx: net() });
    const out = await disconnect(w.disconnectPorts, { force: false });
    expect(out.code).toBe(SS.Success);
    expect(w.me.conn).toBe(C.Disconnecting);
    expect(w.peer!.state.conn).toBe(C.TearDown);
  });

  it('from StandAlone it succeeds silently', async () => {
    const w = world(makeState({ disk: D.UpToDate }), defaultContext());
    expect(await disconnect(w.disconnectPorts, { force: false })).toMatchObject({ code: SS.Success, attempts: [{ code: SS.AlreadyStandalone }] });
  });

  it('a fencing Primary outdates the peer as part of the disconnect', async () => {
    const me = conn({ role: R.Primary });
    const ctx = net({ fencing: F.ResourceOnly });
    const w = world(me, ctx, { state: mirror(me), ctx });
    const out = await disconnect(w.disconnectPorts, { force: false });
    expect(out.attempts.map((a) => [a.change, a.code])).toEqual([
      [{ conn: C.Disconnecting }, SS.PrimaryNop],
      [{ conn: C.Disconnecting, pdsk: D.Outdated }, SS.Success],
    ]);
    expect(w.me).toMatchObject({ conn: C.Disconnecting, pdsk: D.Outdated });
    expect(w.peer!.state).toMatchObject({ conn: C.TearDown, disk: D.Outdated });
  });

  it('peer refuses ⇒ outdate myself; cannot (below Outdated) ⇒ hard disconnect', async () => {
    const codes = [SS.CwFailedByPeer, SS.LowerThanOutdated, SS.Success];
    const seen: Array<[StateChange, boolean]> = [];
    const out = await disconnect(
      {
        request: (c, o) => {
          seen.push([c, o.hard]);
          return codes.shift()!;
        },
      },
      { force: false },
    );
    expect(out.code).toBe(SS.Success);
    expect(seen).toEqual([
      [{ conn: C.Disconnecting }, false],
      [{ conn: C.Disconnecting, disk: D.Outdated }, false],
      [{ conn: C.Disconnecting }, true],
    ]);
  });

  it('the outdate-peer attempt after a lost connection falls back to a plain disconnect', async () => {
    const codes = [SS.PrimaryNop, SS.OutdateWoConn, SS.Success];
    const out = await disconnect({ request: () => codes.shift()! }, { force: false });
    expect(out.attempts.map((a) => a.change)).toEqual([
      { conn: C.Disconnecting },
      { conn: C.Disconnecting, pdsk: D.Outdated },
      { conn: C.Disconnecting },
    ]);
    expect(out.code).toBe(SS.Success);
  });

  it('a fencing Primary whose peer is also Primary: the peer refuses, my own outdate fails ⇒ refused', async () => {
    const me = conn({ role: R.Primary, peer: R.Primary });
    const ctx = net({ fencing: F.ResourceOnly, allowTwoPrimaries: true });
    const w = world(me, ctx, { state: mirror(me), ctx });
    const out = await disconnect(w.disconnectPorts, { force: false });
    expect(out.attempts.map((a) => a.code)).toEqual([SS.PrimaryNop, SS.CwFailedByPeer, SS.NoUpToDateDisk]);
    expect(out.code).toBe(SS.NoUpToDateDisk);
    // --force is a hard change from the start.
    const forced = await disconnect(world(me, ctx, { state: mirror(me), ctx }).disconnectPorts, { force: true });
    expect(forced.code).toBe(SS.Success);
  });
});

describe('outdate (states.md §3)', () => {
  const ctx = defaultContext();
  it.each([
    ['Secondary UpToDate, StandAlone ⇒ Outdated', makeState({ disk: D.UpToDate }), true, SS.Success, 0],
    ['Secondary Consistent ⇒ Outdated', makeState({ conn: C.WFConnection, disk: D.Consistent }), true, SS.Success, 0],
    ['Primary ⇒ -2, exit 17', makeState({ role: R.Primary, disk: D.UpToDate }), false, SS.NoUpToDateDisk, 17],
    ['Inconsistent ⇒ -16, exit 5', makeState({ disk: D.Inconsistent }), false, SS.LowerThanOutdated, 5],
    ['Connected ⇒ silent no-op', conn(), true, SS.NothingToDo, 0],
  ] as const)('%s', (_n, s, ok, code, exit) => {
    const r = requestStateChange(s, outdateRequest(), { ctx });
    expect({ ok: r.ok, code: r.code }).toEqual({ ok, code });
    expect(drbdsetupExitCode(code)).toBe(exit);
  });
});

describe('attach disk state from meta-data flags', () => {
  it.each([
    ['create-md (AL_CLEAN only)', MDF.AL_CLEAN, F.DontCare, { disk: D.Inconsistent }],
    ['!CONSISTENT', MDF.WAS_UP_TO_DATE, F.DontCare, { disk: D.Inconsistent }],
    ['CONSISTENT, !WAS_UP_TO_DATE', MDF.CONSISTENT, F.DontCare, { disk: D.Outdated }],
    ['CONSISTENT+WAS_UP_TO_DATE, dont-care', MDF.CONSISTENT | MDF.WAS_UP_TO_DATE, F.DontCare, { disk: D.UpToDate }],
    ['CONSISTENT+WAS_UP_TO_DATE, fencing', MDF.CONSISTENT | MDF.WAS_UP_TO_DATE, F.ResourceOnly, { disk: D.Consistent }],
    [
      'peer known outdated',
      MDF.CONSISTENT | MDF.WAS_UP_TO_DATE | MDF.PEER_OUT_DATED,
      F.ResourceAndStonith,
      { disk: D.UpToDate, pdsk: D.Outdated },
    ],
  ] as const)('%s', (_n, flags, fencing, settled) => {
    const a = attachDiskState({ mdFlags: flags, fencing, conn: C.StandAlone });
    expect(a.settled).toEqual(settled);
    expect(a.change).toEqual(settled);
    expect(a.negotiating).toBe(false);
  });

  it('while Connected the disk goes to Negotiating first', () => {
    const a = attachDiskState({ mdFlags: MDF.CONSISTENT | MDF.WAS_UP_TO_DATE, fencing: F.DontCare, conn: C.Connected });
    expect(a).toMatchObject({ change: { disk: D.Negotiating }, negotiating: true, settled: { disk: D.UpToDate } });
    // The requests of an attach pass the rules: Diskless → Attaching → Negotiating.
    const s0 = conn({ role: R.Primary, disk: D.Diskless });
    const s1 = requestStateChange(s0, { disk: D.Attaching }, { ctx: net() });
    expect(s1.ok).toBe(true);
    const s2 = s1.ok && requestStateChange(s1.newState, a.change, { ctx: net() });
    expect(s2 && s2.ok && s2.logLine).toBe('disk( Attaching -> Negotiating ) ');
  });

  it('crashed primary and degraded-wfc marks', () => {
    expect(attachDiskState({ mdFlags: MDF.PRIMARY_IND, fencing: F.DontCare, conn: C.StandAlone })).toMatchObject({
      crashedPrimary: true,
      useDegrWfc: true,
    });
    expect(attachDiskState({ mdFlags: MDF.PRIMARY_IND | MDF.CONNECTED_IND, fencing: F.DontCare, conn: C.StandAlone })).toMatchObject({
      crashedPrimary: true,
      useDegrWfc: false,
    });
    expect(attachDiskState({ mdFlags: MDF.CRASHED_PRIMARY, fencing: F.DontCare, conn: C.StandAlone })).toMatchObject({
      crashedPrimary: true,
      useDegrWfc: false,
    });
    expect(attachDiskState({ mdFlags: 0, fencing: F.DontCare, conn: C.StandAlone }).crashedPrimary).toBe(false);
  });
});

describe('meta-data flags written on state changes (metadata-v08.md examples)', () => {
  it.each([
    ['Connected Primary UpToDate/UpToDate', MDF.AL_CLEAN, conn({ role: R.Primary }), false, 0x17],
    ['Connected Secondary UpToDate', 0x17, conn(), false, 0x15],
    ['clean down of an UpToDate Secondary', 0x15, makeState({ disk: D.UpToDate }), false, 0x11],
    ['crashed primary kept', 0, conn(), true, 0x55],
    ['peer outdated', 0, makeState({ role: R.Primary, disk: D.UpToDate, pdsk: D.Outdated }), false, 0x33],
    ['peer Inconsistent (sync source)', 0, conn({ conn: C.SyncSource, pdsk: D.Inconsistent }), false, 0x35],
    ['Inconsistent target', 0, conn({ conn: C.SyncTarget, disk: D.Inconsistent }), false, 0x04],
    ['Outdated', 0, makeState({ disk: D.Outdated }), false, 0x01],
    ['diskless Primary peer', 0, conn({ peer: R.Primary, pdsk: D.Diskless }), false, 0x17],
    ['other bits kept', MDF.FULL_SYNC | MDF.AL_DISABLED | MDF.AL_CLEAN, makeState({ disk: D.Inconsistent }), false, 0x108],
    ['WFReportParams is not connected', 0, makeState({ conn: C.WFReportParams, disk: D.UpToDate }), false, 0x11],
  ] as const)('%s', (_n, current, ns, crashed, expected) => {
    expect(mdFlagsForState(current, ns, crashed)).toBe(expected);
  });
  it('are not updated below Inconsistent', () => {
    expect(mdFlagsForState(0x17, makeState({ disk: D.Failed }), false)).toBeUndefined();
  });
  it('the crashed-primary mark clears once both disks are UpToDate', () => {
    expect(crashedPrimaryAfter(true, conn())).toBe(false);
    expect(crashedPrimaryAfter(true, conn({ pdsk: D.Inconsistent, conn: C.SyncSource }))).toBe(true);
    expect(crashedPrimaryAfter(false, makeState())).toBe(false);
  });
});

describe('wait-connect timeouts', () => {
  const t = { wfc: 15, degrWfc: 60, outdatedWfc: 0 };
  it('clamps degr/outdated timeouts that are longer than wfc-timeout (or forever)', () => {
    expect(normalizeWfcTimeouts(t)).toEqual({
      timeouts: { wfc: 15, degrWfc: 15, outdatedWfc: 15 },
      warnings: [
        'degr-wfc-timeout has to be shorter than wfc-timeout',
        'degr-wfc-timeout implicitly set to wfc-timeout (15s)',
        'outdated-wfc-timeout has to be shorter than wfc-timeout',
        'outdated-wfc-timeout implicitly set to wfc-timeout (15s)',
      ],
    });
    expect(normalizeWfcTimeouts({ wfc: 0, degrWfc: 60, outdatedWfc: 0 }).warnings).toEqual([]);
    expect(normalizeWfcTimeouts({ wfc: 100, degrWfc: 60, outdatedWfc: 30 }).warnings).toEqual([]);
  });
  it('selects by peer-outdated, then degraded, else wfc-timeout', () => {
    const tt = { wfc: 100, degrWfc: 60, outdatedWfc: 30 };
    expect(selectWfcTimeout(tt, { pdsk: D.Outdated, useDegrWfc: true })).toEqual({ kind: 'outdated-wfc-timeout', seconds: 30 });
    expect(selectWfcTimeout(tt, { pdsk: D.DUnknown, useDegrWfc: true })).toEqual({ kind: 'degr-wfc-timeout', seconds: 60 });
    expect(selectWfcTimeout(tt, { pdsk: D.DUnknown, useDegrWfc: false })).toEqual({ kind: 'wfc-timeout', seconds: 100 });
  });
  it('is done when connected, or when given up unless --wait-after-sb', () => {
    expect(waitConnectDone(C.Connected, false)).toBe(true);
    expect(waitConnectDone(C.SyncTarget, true)).toBe(true);
    expect(waitConnectDone(C.WFConnection, false)).toBe(false);
    expect(waitConnectDone(C.StandAlone, false)).toBe(true);
    expect(waitConnectDone(C.StandAlone, true)).toBe(false);
  });
});
