// states.md §2: sanitize rules, the three rule tables, the whole request, cluster-wide changes,
// the peer's mirrored view and the kernel's log lines (kernel-captures/*.txt).
import { describe, expect, it } from 'vitest';
import {
  ALL_VALIDITY_RULE_IDS,
  ConnState as C,
  defaultContext,
  DiskState as D,
  evaluatePeerRequest,
  FencingPolicy,
  isClusterWide,
  isValidSoftTransition,
  isValidState,
  isValidTransition,
  makeState,
  mirrorChange,
  mirrorConn,
  OnNoDataAccessible,
  peerViewOf,
  renderStateBraces,
  requestStateChange,
  Role as R,
  SANITIZE_RULES,
  sanitizeState,
  SS,
  type DeviceState,
  type StateChange,
  type StateContext,
} from '../../../src/state/index.js';

const hitRules = new Set<string>();
const hitSanitize = new Set<string>();
const net = (o: Partial<StateContext> = {}): StateContext =>
  defaultContext({ hasNetConfig: true, agreedProtocol: 101, ...o });
const connected = (o: Partial<DeviceState> = {}): DeviceState =>
  makeState({ conn: C.Connected, role: R.Secondary, peer: R.Secondary, disk: D.UpToDate, pdsk: D.UpToDate, ...o });

describe('sanitize_state (§2.1), each rule in order', () => {
  const rows: Array<{
    rule: string;
    os: DeviceState;
    change: StateChange;
    ctx?: StateContext;
    expect: Partial<DeviceState>;
    warnings?: string[];
  }> = [
    {
      rule: 'S1-peer-unknown',
      os: connected({ peer: R.Primary, peerIsp: true }),
      change: { conn: C.NetworkFailure },
      expect: { peer: R.Unknown, peerIsp: false, pdsk: D.DUnknown },
    },
    {
      // Inconsistent/Outdated/DUnknown survive a lost connection (remembered peer disk).
      rule: 'S1-peer-unknown',
      os: connected({ pdsk: D.Inconsistent }),
      change: { conn: C.Timeout },
      expect: { peer: R.Unknown, pdsk: D.Inconsistent },
    },
    {
      rule: 'S2-standalone-no-aftr',
      os: makeState({ aftrIsp: true, disk: D.UpToDate }),
      change: { disk: D.Diskless },
      expect: { aftrIsp: false },
    },
    {
      rule: 'S3-abort-sync',
      os: connected({ conn: C.SyncSource, pdsk: D.Inconsistent }),
      change: { pdsk: D.Failed },
      expect: { conn: C.Connected, pdsk: D.Failed },
      warnings: ['Resync aborted.'],
    },
    {
      rule: 'S3-abort-sync',
      os: connected({ conn: C.VerifyS }),
      change: { disk: D.Failed },
      expect: { conn: C.Connected, disk: D.Failed },
      warnings: ['Online-verify aborted.'],
    },
    {
      rule: 'S4-negotiation-lost',
      os: connected({ disk: D.Negotiating }),
      change: { conn: C.NetworkFailure },
      ctx: defaultContext({ preNegotiation: { disk: D.Outdated, pdsk: D.DUnknown } }),
      expect: { disk: D.Outdated, pdsk: D.DUnknown },
    },
    {
      rule: 'S4-negotiation-lost',
      os: connected({ disk: D.Negotiating }),
      change: { conn: C.NetworkFailure },
      expect: { disk: D.Diskless, pdsk: D.DUnknown },
      warnings: ['Connection lost while negotiating, no data!'],
    },
    {
      rule: 'S5-lift-to-uptodate',
      os: makeState({ conn: C.WFReportParams, disk: D.Consistent }),
      change: { conn: C.Connected, peer: R.Secondary, pdsk: D.Outdated },
      expect: { disk: D.UpToDate, pdsk: D.UpToDate },
    },
    {
      // The SyncTarget shows Outdated in WFBitMapT (capture: disk( UpToDate -> Outdated )).
      rule: 'S6-clamp',
      os: makeState({ conn: C.WFReportParams, disk: D.UpToDate }),
      change: { conn: C.WFBitMapT, peer: R.Primary, pdsk: D.UpToDate },
      expect: { disk: D.Outdated, pdsk: D.UpToDate },
    },
    {
      // Negotiating below the range's minimum: "Implicitly upgraded disk" (capture).
      rule: 'S6-clamp',
      os: connected({ disk: D.Negotiating, role: R.Secondary, peer: R.Primary }),
      change: { conn: C.WFBitMapT },
      expect: { disk: D.Inconsistent },
      warnings: ['Implicitly upgraded disk'],
    },
    {
      rule: 'S6-clamp',
      os: connected({ pdsk: D.Inconsistent }),
      change: { conn: C.WFBitMapT },
      expect: { disk: D.Outdated, pdsk: D.UpToDate },
      warnings: ['Implicitly upgraded pdsk'],
    },
    {
      rule: 'S7-susp-fen',
      os: connected({ role: R.Primary }),
      change: { conn: C.NetworkFailure, pdsk: D.Consistent },
      ctx: defaultContext({ fencing: FencingPolicy.ResourceAndStonith }),
      expect: { suspFen: true, pdsk: D.DUnknown },
    },
    {
      rule: 'S8-susp-nod',
      os: connected({ role: R.Primary, peer: R.Unknown, conn: C.WFConnection, pdsk: D.DUnknown }),
      change: { disk: D.Failed },
      ctx: defaultContext({ onNoDataAccessible: OnNoDataAccessible.SuspendIo }),
      expect: { suspNod: true },
    },
    {
      rule: 'S9-pause',
      os: connected({ conn: C.SyncTarget, disk: D.Inconsistent }),
      change: { userIsp: true },
      expect: { conn: C.PausedSyncT },
    },
    {
      rule: 'S9-resume',
      os: connected({ conn: C.PausedSyncS, pdsk: D.Inconsistent, peerIsp: true }),
      change: { peerIsp: false },
      expect: { conn: C.SyncSource },
    },
  ];
  it.each(rows.map((r, i) => [`${i}: ${r.rule}`, r] as const))('%s', (_n, row) => {
    const res = sanitizeState(row.os, { ...row.os, ...row.change }, row.ctx ?? defaultContext());
    expect(res.applied).toContain(row.rule);
    expect(res.state).toMatchObject(row.expect);
    expect(res.warnings).toEqual(row.warnings ?? []);
    res.applied.forEach((a) => hitSanitize.add(a));
  });

  it('does not freeze I/O again when the condition already held (rules 7, 8 say "newly")', () => {
    const os = makeState({ role: R.Primary, conn: C.WFConnection, disk: D.UpToDate, pdsk: D.DUnknown });
    const res = sanitizeState(os, { ...os, susp: true }, defaultContext({ fencing: FencingPolicy.ResourceAndStonith }));
    expect(res.state.suspFen).toBe(false);
    const os2 = makeState({ role: R.Primary, conn: C.WFConnection, disk: D.Inconsistent, pdsk: D.DUnknown });
    const r2 = sanitizeState(os2, { ...os2, userIsp: true }, defaultContext({ onNoDataAccessible: OnNoDataAccessible.SuspendIo }));
    expect(r2.state.suspNod).toBe(false);
  });

  it('ignores fencing without a local disk (it is part of the disk config)', () => {
    const os = makeState({ role: R.Primary, conn: C.Connected, peer: R.Secondary, disk: D.Diskless, pdsk: D.UpToDate });
    const res = sanitizeState(os, { ...os, conn: C.NetworkFailure }, defaultContext({ fencing: FencingPolicy.ResourceAndStonith }));
    expect(res.state.suspFen).toBe(false);
  });
});

describe('always-enforced transition rules (§2.2)', () => {
  const rows: Array<[string, C, C, D, D, SS]> = [
    ['T1-conn-unchanged', C.Connected, C.Connected, D.UpToDate, D.UpToDate, SS.NothingToDo],
    ['T2-standalone-disconnect', C.StandAlone, C.Disconnecting, D.UpToDate, D.UpToDate, SS.AlreadyStandalone],
    ['T3-standalone-not-unconnected', C.StandAlone, C.WFConnection, D.UpToDate, D.UpToDate, SS.NeedConnection],
    ['T4-skip-wfreportparams', C.WFConnection, C.Connected, D.UpToDate, D.UpToDate, SS.NeedConnection],
    ['T5-after-network-error', C.NetworkFailure, C.WFConnection, D.UpToDate, D.UpToDate, SS.InTransientState],
    ['T6-disconnecting-not-standalone', C.Disconnecting, C.Unconnected, D.UpToDate, D.UpToDate, SS.InTransientState],
    // The disk rule overrides an accepted connection part.
    ['T7-diskless-to-failed', C.StandAlone, C.StandAlone, D.Diskless, D.Failed, SS.IsDiskless],
  ];
  it.each(rows)('%s', (rule, oc, nc, od, nd, code) => {
    const v = isValidTransition(makeState({ conn: oc, disk: od }), makeState({ conn: nc, disk: nd }));
    expect(v).toEqual({ code, rule });
    hitRules.add(rule);
  });
  it.each([
    [C.StandAlone, C.Unconnected],
    [C.Timeout, C.Unconnected],
    [C.TearDown, C.Disconnecting],
    [C.Disconnecting, C.StandAlone],
    [C.WFReportParams, C.WFBitMapS],
  ])('allows %s → %s', (oc, nc) => {
    expect(isValidTransition(makeState({ conn: oc }), makeState({ conn: nc })).code).toBe(SS.Success);
  });
});

describe('is_valid_state (§2.3), first match wins', () => {
  const P = R.Primary;
  const S = R.Secondary;
  const rows: Array<{ rule: string; ns: DeviceState; ctx?: Partial<StateContext>; code: SS }> = [
    { rule: 'V1-two-primaries', ns: connected({ role: P, peer: P }), code: SS.TwoPrimaries },
    {
      rule: 'V1b-other-volume-peer-primary',
      ns: connected({ role: P }),
      ctx: { otherVolumePeerPrimary: true },
      code: SS.OVolPeerPri,
    },
    { rule: 'V2-device-in-use', ns: connected({ role: S }), ctx: { openCount: 1 }, code: SS.DeviceInUse },
    {
      rule: 'V3-primary-disconnected-no-uptodate',
      ns: makeState({ role: P, conn: C.WFConnection, disk: D.Consistent }),
      code: SS.NoUpToDateDisk,
    },
    {
      rule: 'V4-primary-nop',
      ns: makeState({ role: P, conn: C.StandAlone, disk: D.UpToDate, pdsk: D.DUnknown }),
      ctx: { fencing: FencingPolicy.ResourceOnly },
      code: SS.PrimaryNop,
    },
    {
      rule: 'V5-primary-both-inconsistent',
      ns: connected({ role: P, disk: D.Inconsistent, pdsk: D.Inconsistent }),
      code: SS.NoUpToDateDisk,
    },
    { rule: 'V6-sync-no-local-disk', ns: connected({ conn: C.SyncSource, disk: D.Diskless }), code: SS.NoLocalDisk },
    { rule: 'V7-sync-no-remote-disk', ns: connected({ conn: C.SyncSource, pdsk: D.Diskless }), code: SS.NoRemoteDisk },
    {
      rule: 'V8-sync-no-uptodate',
      ns: connected({ conn: C.WFBitMapS, disk: D.Inconsistent, pdsk: D.Inconsistent }),
      code: SS.NoUpToDateDisk,
    },
    { rule: 'V9-connected-outdated', ns: connected({ disk: D.Outdated }), code: SS.ConnectedOutdates },
    { rule: 'V9-connected-outdated', ns: connected({ conn: C.WFBitMapS, disk: D.Outdated }), code: SS.ConnectedOutdates },
    { rule: 'V9-connected-outdated', ns: connected({ conn: C.SyncSource, disk: D.Outdated }), code: SS.ConnectedOutdates },
    { rule: 'V9-connected-outdated', ns: connected({ conn: C.PausedSyncS, disk: D.Outdated }), code: SS.ConnectedOutdates },
    { rule: 'V10-no-verify-alg', ns: connected({ conn: C.VerifyS }), code: SS.NoVerifyAlg },
    {
      rule: 'V11-verify-not-supported',
      ns: connected({ conn: C.VerifyT }),
      ctx: { verifyAlg: 'md5', agreedProtocol: 87 },
      code: SS.NotSupported,
    },
    {
      rule: 'V12-primary-no-uptodate',
      ns: connected({ role: P, disk: D.Consistent, pdsk: D.Consistent }),
      code: SS.NoUpToDateDisk,
    },
    {
      rule: 'V13-starting-sync-no-peer-disk',
      ns: connected({ conn: C.StartingSyncS, pdsk: D.DUnknown }),
      code: SS.NeedConnection,
    },
    { rule: 'V14-connected-pdsk-unknown', ns: connected({ pdsk: D.DUnknown }), code: SS.ConnectedOutdates },
  ];
  it.each(rows.map((r, i) => [`${i} ${r.rule}`, r] as const))('%s', (_n, row) => {
    expect(isValidState(row.ns, net(row.ctx))).toEqual({ code: row.code, rule: row.rule });
    hitRules.add(row.rule);
  });

  it('skips rule 1 without a net config, and with allow-two-primaries', () => {
    expect(isValidState(connected({ role: P, peer: P }), defaultContext()).code).toBe(SS.Success);
    expect(isValidState(connected({ role: P, peer: P }), net({ allowTwoPrimaries: true })).code).toBe(SS.Success);
  });
  it('accepts healthy states', () => {
    expect(isValidState(connected({ role: P }), net())).toEqual({ code: SS.Success });
    expect(isValidState(connected({ conn: C.VerifyS }), net({ verifyAlg: 'md5' })).code).toBe(SS.Success);
    // A Connected SyncTarget may be Primary (reads go to the peer).
    expect(isValidState(connected({ role: P, conn: C.SyncTarget, disk: D.Inconsistent }), net()).code).toBe(SS.Success);
  });
});

describe('is_valid_soft_transition (§2.4), later rules override', () => {
  const rows: Array<{ rule: string; os: DeviceState; ns: DeviceState; ctx?: Partial<StateContext>; code: SS }> = [
    {
      rule: 'U1-starting-sync-while-syncing',
      os: connected({ conn: C.SyncSource }),
      ns: connected({ conn: C.StartingSyncS }),
      code: SS.ResyncRunning,
    },
    {
      rule: 'U2-disconnect-standalone',
      os: makeState({ disk: D.UpToDate }),
      ns: makeState({ conn: C.Disconnecting, disk: D.UpToDate }),
      code: SS.AlreadyStandalone,
    },
    {
      rule: 'U3-attach-skips-attaching',
      os: makeState(),
      ns: makeState({ disk: D.Inconsistent }),
      code: SS.IsDiskless,
    },
    {
      rule: 'U4-connect-without-net-config',
      os: makeState({ disk: D.UpToDate }),
      ns: makeState({ conn: C.WFConnection, disk: D.UpToDate }),
      code: SS.NoNetConfig,
    },
    {
      rule: 'U5-outdate-lower-disk',
      os: makeState({ disk: D.Inconsistent }),
      ns: makeState({ disk: D.Outdated }),
      code: SS.LowerThanOutdated,
    },
    {
      rule: 'U6-disconnect-unconnected',
      os: makeState({ conn: C.Unconnected }),
      ns: makeState({ conn: C.Disconnecting }),
      code: SS.InTransientState,
    },
    {
      rule: 'U7-handshake-in-progress',
      os: makeState({ conn: C.WFConnection, disk: D.UpToDate }),
      ns: makeState({ conn: C.WFConnection, disk: D.UpToDate, role: R.Primary }),
      ctx: { stateSent: true },
      code: SS.InTransientState,
    },
    {
      rule: 'U8-promote-during-handshake',
      os: connected({ disk: D.Inconsistent }),
      ns: connected({ disk: D.Inconsistent, role: R.Primary }),
      code: SS.InTransientState,
    },
    {
      rule: 'U9-verify-without-connection',
      os: makeState({ conn: C.WFConnection }),
      ns: makeState({ conn: C.VerifyS }),
      code: SS.NeedConnection,
    },
    {
      rule: 'U10-verify-while-syncing',
      os: connected({ conn: C.SyncSource }),
      ns: connected({ conn: C.VerifyS }),
      code: SS.ResyncRunning,
    },
    {
      rule: 'U11-starting-sync-without-connection',
      os: makeState({ conn: C.WFConnection }),
      ns: makeState({ conn: C.StartingSyncT }),
      code: SS.NeedConnection,
    },
    {
      rule: 'U12-sync-without-connection',
      os: makeState({ conn: C.NetworkFailure }),
      ns: makeState({ conn: C.SyncTarget }),
      code: SS.NeedConnection,
    },
    {
      rule: 'U13-outdate-peer-without-connection',
      os: makeState({ conn: C.WFConnection, disk: D.UpToDate, pdsk: D.DUnknown }),
      ns: makeState({ conn: C.Disconnecting, disk: D.UpToDate, pdsk: D.Outdated }),
      code: SS.OutdateWoConn,
    },
  ];
  it.each(rows.map((r) => [r.rule, r] as const))('%s', (_n, row) => {
    expect(isValidSoftTransition(row.os, row.ns, net(row.ctx))).toEqual({ code: row.code, rule: row.rule });
    hitRules.add(row.rule);
  });

  it('lets the last matching rule decide', () => {
    // Both U2 (-9) and U3 (-11) match: U3 comes later.
    const v = isValidSoftTransition(makeState(), makeState({ conn: C.Disconnecting, disk: D.Inconsistent }), net());
    expect(v).toEqual({ code: SS.IsDiskless, rule: 'U3-attach-skips-attaching' });
  });
  it('exempts the handshake’s own connection steps while the state packet is out', () => {
    const ctx = net({ stateSent: true });
    expect(isValidSoftTransition(makeState({ conn: C.WFConnection }), makeState({ conn: C.WFReportParams }), ctx).code).toBe(SS.Success);
    expect(
      isValidSoftTransition(makeState({ conn: C.WFReportParams, disk: D.UpToDate }), connected(), ctx).code,
    ).toBe(SS.Success);
  });
  it('allows promoting a Connected SyncTarget (conn > WFSyncUUID, unchanged)', () => {
    const os = connected({ conn: C.SyncTarget, disk: D.Inconsistent });
    expect(isValidSoftTransition(os, { ...os, role: R.Primary }, net()).code).toBe(SS.Success);
  });
});

describe('requestStateChange: the whole request', () => {
  it('reports SS_NOTHING_TO_DO as success when sanitize gives back the old state (outdate while Connected)', () => {
    const r = requestStateChange(connected(), { disk: D.Outdated }, { ctx: net() });
    expect(r).toMatchObject({ ok: true, code: SS.NothingToDo, changes: [], logLine: '' });
  });

  it('allows a change when the old state already fails the same way', () => {
    // Device open and already Secondary: rule 2 fails for both, so e.g. pause-sync is fine.
    const os = connected({ conn: C.SyncTarget, disk: D.Inconsistent });
    const r = requestStateChange(os, { userIsp: true }, { ctx: net({ openCount: 2 }) });
    expect(r).toMatchObject({ ok: true, code: SS.Success, logLine: 'conn( SyncTarget -> PausedSyncT ) user_isp( 0 -> 1 ) ' });
  });

  it('refuses demotion while open, with the kernel lines (cli-errors capture)', () => {
    const os = connected({ role: R.Primary });
    const r = requestStateChange(os, { role: R.Secondary }, { ctx: net({ openCount: 1 }) });
    expect(r).toMatchObject({ ok: false, code: -12, name: 'SS_DEVICE_IN_USE', text: 'Device is held open by someone' });
  });

  it('refuses primary without --force on Inconsistent/Inconsistent with the kernel lines', () => {
    const os = connected({ disk: D.Inconsistent, pdsk: D.Inconsistent });
    const r = requestStateChange(os, { role: R.Primary }, { ctx: net() });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(SS.NoUpToDateDisk);
    expect(r.rule).toBe('V5-primary-both-inconsistent');
    expect(r.logLines).toEqual([
      'State change failed: Need access to UpToDate data',
      '  state = { cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent r----- }',
      ' wanted = { cs:Connected ro:Primary/Secondary ds:Inconsistent/Inconsistent r----- }',
    ]);
  });

  it('does not print transient refusals (the caller retries)', () => {
    const os = makeState({ conn: C.Unconnected });
    const r = requestStateChange(os, { conn: C.Disconnecting }, { ctx: net() });
    expect(r).toMatchObject({ ok: false, code: SS.InTransientState, logLines: [] });
  });

  it('refuses a second Primary (cli-errors capture: (-1) Multiple primaries not allowed by config)', () => {
    const r = requestStateChange(connected({ peer: R.Primary }), { role: R.Primary }, { ctx: net() });
    expect(r).toMatchObject({ ok: false, code: -1, text: 'Multiple primaries not allowed by config' });
  });

  it('hard changes skip §2.3/§2.4 but not §2.2', () => {
    const os = connected({ role: R.Primary });
    const ctx = net({ fencing: FencingPolicy.ResourceOnly });
    expect(requestStateChange(os, { conn: C.NetworkFailure }, { ctx })).toMatchObject({ ok: false, code: SS.PrimaryNop });
    const hard = requestStateChange(os, { conn: C.NetworkFailure }, { ctx, hard: true });
    expect(hard).toMatchObject({ ok: true, clusterWide: false });
    expect(requestStateChange(makeState(), { disk: D.Failed }, { ctx, hard: true })).toMatchObject({
      ok: false,
      code: SS.IsDiskless,
    });
  });

  // The state-change lines of the kernel captures, reproduced from the same transitions.
  const captured: Array<[string, DeviceState, StateChange, boolean, string]> = [
    [
      'first handshake, no resync',
      makeState({ conn: C.WFReportParams, disk: D.Inconsistent, pdsk: D.DUnknown }),
      { conn: C.Connected, peer: R.Secondary, pdsk: D.Inconsistent },
      false,
      'peer( Unknown -> Secondary ) conn( WFReportParams -> Connected ) pdsk( DUnknown -> Inconsistent ) ',
    ],
    [
      'primary --force',
      connected({ disk: D.Inconsistent, pdsk: D.Inconsistent }),
      { role: R.Primary, disk: D.UpToDate },
      false,
      'role( Secondary -> Primary ) disk( Inconsistent -> UpToDate ) ',
    ],
    [
      'handshake verdict: SyncTarget',
      makeState({ conn: C.WFReportParams, disk: D.UpToDate }),
      { conn: C.WFBitMapT, peer: R.Primary, pdsk: D.UpToDate },
      true,
      'peer( Unknown -> Primary ) conn( WFReportParams -> WFBitMapT ) disk( UpToDate -> Outdated ) pdsk( DUnknown -> UpToDate ) ',
    ],
    [
      'handshake verdict: SyncSource',
      makeState({ role: R.Primary, conn: C.WFReportParams, disk: D.UpToDate }),
      { conn: C.WFBitMapS, peer: R.Secondary, pdsk: D.UpToDate },
      true,
      'peer( Unknown -> Secondary ) conn( WFReportParams -> WFBitMapS ) pdsk( DUnknown -> Consistent ) ',
    ],
    [
      'resync starts on the target',
      makeState({ conn: C.WFSyncUUID, peer: R.Primary, disk: D.Outdated, pdsk: D.UpToDate }),
      { conn: C.SyncTarget },
      true,
      'conn( WFSyncUUID -> SyncTarget ) disk( Outdated -> Inconsistent ) ',
    ],
    [
      'resync starts on the source',
      connected({ role: R.Primary, conn: C.WFBitMapS, pdsk: D.Consistent }),
      { conn: C.SyncSource },
      true,
      'conn( WFBitMapS -> SyncSource ) pdsk( Consistent -> Inconsistent ) ',
    ],
    [
      'resync done on the target',
      connected({ conn: C.SyncTarget, peer: R.Primary, disk: D.Inconsistent }),
      { conn: C.Connected, disk: D.UpToDate },
      true,
      'conn( SyncTarget -> Connected ) disk( Inconsistent -> UpToDate ) ',
    ],
    [
      'PingAck timeout on the Primary',
      connected({ role: R.Primary }),
      { conn: C.NetworkFailure },
      true,
      'peer( Secondary -> Unknown ) conn( Connected -> NetworkFailure ) pdsk( UpToDate -> DUnknown ) ',
    ],
    [
      'graceful disconnect by the Primary (no fencing)',
      connected({ role: R.Primary }),
      { conn: C.Disconnecting },
      false,
      'peer( Secondary -> Unknown ) conn( Connected -> Disconnecting ) pdsk( UpToDate -> DUnknown ) ',
    ],
    ['StandAlone', makeState({ conn: C.Disconnecting, disk: D.UpToDate }), { conn: C.StandAlone }, true, 'conn( Disconnecting -> StandAlone ) '],
    ['detach', connected({ peer: R.Primary }), { disk: D.Failed }, true, 'disk( UpToDate -> Failed ) '],
    ['attach while Connected', connected({ role: R.Primary, disk: D.Diskless }), { disk: D.Attaching }, false, 'disk( Diskless -> Attaching ) '],
  ];
  it.each(captured)('%s', (_n, os, change, hard, line) => {
    const r = requestStateChange(os, change, { ctx: net(), hard });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.logLine).toBe(line);
  });

  it('prints susp and the pause flags as numbers', () => {
    const os = makeState({ role: R.Primary, conn: C.WFConnection, disk: D.UpToDate, pdsk: D.DUnknown });
    const r = requestStateChange(os, { susp: true, aftrIsp: true, peerIsp: false }, { ctx: net(), hard: true });
    expect(r.ok && r.logLine).toBe('susp( 0 -> 1 ) aftr_isp( 0 -> 1 ) ');
    expect(renderStateBraces({ ...os, susp: true, aftrIsp: true, peerIsp: true, userIsp: true, suspFen: true, suspNod: true })).toBe(
      '{ cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown sapuFN }',
    );
  });

  it('lists the side effects of an accepted change', () => {
    const lost = requestStateChange(connected({ role: R.Primary }), { conn: C.NetworkFailure }, {
      ctx: net({ fencing: FencingPolicy.ResourceOnly }),
      hard: true,
    });
    expect(lost.ok && lost.sideEffects).toEqual([{ kind: 'lost-peer-data' }, { kind: 'handler', name: 'fence-peer' }]);
    const promote = requestStateChange(connected({ disk: D.Inconsistent, pdsk: D.Inconsistent }), { role: R.Primary, disk: D.UpToDate }, { ctx: net() });
    expect(promote.ok && promote.sideEffects).toEqual([{ kind: 'promoted' }]);
    const demote = requestStateChange(connected({ role: R.Primary }), { role: R.Secondary }, { ctx: net() });
    expect(demote.ok && demote.sideEffects).toEqual([{ kind: 'demoted' }]);
    const degr = requestStateChange(
      makeState({ role: R.Primary, conn: C.WFConnection, disk: D.UpToDate, pdsk: D.DUnknown }),
      { disk: D.Failed },
      { ctx: net(), hard: true },
    );
    expect(degr.ok && degr.sideEffects).toEqual([{ kind: 'handler', name: 'pri-on-incon-degr' }]);
    const peerPri = requestStateChange(connected({ pdsk: D.Diskless }), { peer: R.Primary }, { ctx: net(), hard: true });
    expect(peerPri.ok && peerPri.sideEffects).toEqual([{ kind: 'peer-promoted-diskless' }]);
  });
});

describe('cluster-wide changes (§2.5)', () => {
  const rows: Array<[string, DeviceState, StateChange, boolean]> = [
    ['promotion while Connected', connected(), { role: R.Primary }, true],
    ['promotion while WFConnection', makeState({ conn: C.WFConnection, disk: D.UpToDate }), { role: R.Primary }, false],
    ['invalidate-remote', connected({ role: R.Primary }), { conn: C.StartingSyncS }, true],
    ['invalidate', connected(), { conn: C.StartingSyncT }, true],
    ['detach', connected(), { disk: D.Failed }, true],
    ['disconnect', connected(), { conn: C.Disconnecting }, true],
    ['disconnect during resync', connected({ conn: C.SyncSource, pdsk: D.Inconsistent }), { conn: C.Disconnecting }, true],
    ['verify', connected(), { conn: C.VerifyS }, true],
    ['demotion', connected({ role: R.Primary }), { role: R.Secondary }, false],
    ['pause-sync', connected({ conn: C.SyncSource, pdsk: D.Inconsistent }), { userIsp: true }, false],
  ];
  it.each(rows)('%s', (_n, os, change, cw) => {
    const r = requestStateChange(os, change, { ctx: net({ verifyAlg: 'md5' }) });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.clusterWide).toBe(cw);
    expect(isClusterWide(os, r.ok ? r.newState : os)).toBe(cw);
  });
  it('is not cluster-wide when already accepted (localOnly)', () => {
    const r = requestStateChange(connected(), { role: R.Primary }, { ctx: net(), localOnly: true });
    expect(r.ok && r.clusterWide).toBe(false);
  });
});

describe('the peer’s view of a request (§2.5, wire §5.3)', () => {
  it.each([
    [C.StartingSyncS, C.StartingSyncT],
    [C.StartingSyncT, C.StartingSyncS],
    [C.WFBitMapS, C.WFBitMapT],
    [C.WFBitMapT, C.WFBitMapS],
    [C.VerifyS, C.VerifyT],
    [C.Disconnecting, C.TearDown],
    [C.Connected, C.Connected],
    [C.VerifyT, C.VerifyT],
  ])('conn %s → %s', (a, b) => expect(mirrorConn(a)).toBe(b));

  it('swaps role/peer and disk/pdsk; the peer’s pause flags become peer_isp', () => {
    expect(mirrorChange({ role: R.Primary, disk: D.UpToDate })).toEqual({ peer: R.Primary, pdsk: D.UpToDate });
    expect(mirrorChange({ peer: R.Secondary, pdsk: D.Outdated, conn: C.Disconnecting })).toEqual({
      role: R.Secondary,
      disk: D.Outdated,
      conn: C.TearDown,
    });
    expect(mirrorChange({ userIsp: true })).toEqual({ peerIsp: true });
    expect(mirrorChange({ role: R.Primary })).toEqual({ peer: R.Primary });
    expect(mirrorChange({ disk: D.Failed })).toEqual({ pdsk: D.Failed });
    expect(mirrorChange({ conn: C.VerifyS })).toEqual({ conn: C.VerifyT });
    expect(mirrorChange({ conn: C.WFBitMapS })).toEqual({ conn: C.WFBitMapT });
    expect(mirrorChange({ conn: C.Connected })).toEqual({ conn: C.Connected });
  });

  it('a received P_STATE gives peer, pdsk (Negotiating resolved by the UUID flags) and peer_isp', () => {
    // 0x000106a9: Primary/Secondary Connected Negotiating/UpToDate (after attach).
    const s = makeState({ role: R.Primary, peer: R.Secondary, conn: C.Connected, disk: D.Negotiating, pdsk: D.UpToDate });
    expect(peerViewOf(s, 4)).toEqual({ peer: R.Primary, pdsk: D.Inconsistent, peerIsp: false });
    expect(peerViewOf(s, 0)).toEqual({ peer: R.Primary, pdsk: D.Consistent, peerIsp: false });
    expect(peerViewOf({ ...s, disk: D.UpToDate, aftrIsp: true })).toEqual({ peer: R.Primary, pdsk: D.UpToDate, peerIsp: true });
    expect(peerViewOf({ ...s, disk: D.UpToDate, userIsp: true })).toEqual({ peer: R.Primary, pdsk: D.UpToDate, peerIsp: true });
  });

  it('the peer of a disconnecting Primary goes TearDown (split-brain-01 capture)', () => {
    const v = evaluatePeerRequest(connected({ peer: R.Primary }), { conn: C.Disconnecting }, {
      ctx: net(),
      resolveConflicts: false,
      localChangeInProgress: false,
    });
    expect(v.replyCode).toBe(SS.Success);
    expect(v.result?.ok && v.result.logLine).toBe(
      'peer( Primary -> Unknown ) conn( Connected -> TearDown ) pdsk( UpToDate -> DUnknown ) ',
    );
  });

  it('invalidate on the peer is StartingSyncS here (cli-errors capture)', () => {
    const v = evaluatePeerRequest(connected({ role: R.Primary }), { conn: C.StartingSyncT }, {
      ctx: net(),
      resolveConflicts: true,
      localChangeInProgress: false,
    });
    expect(v.result?.ok && v.result.logLine).toBe('conn( Connected -> StartingSyncS ) pdsk( UpToDate -> Consistent ) ');
  });

  it('refuses the peer’s promotion while we are Primary (two primaries)', () => {
    const v = evaluatePeerRequest(connected({ role: R.Primary }), { role: R.Primary }, {
      ctx: net(),
      resolveConflicts: false,
      localChangeInProgress: false,
    });
    expect(v.replyCode).toBe(SS.TwoPrimaries);
  });

  it('the tie-break holder answers SS_CONCURRENT_ST_CHG while busy; the other evaluates', () => {
    const base = { ctx: net(), localChangeInProgress: true };
    expect(evaluatePeerRequest(connected(), { role: R.Primary }, { ...base, resolveConflicts: true })).toEqual({
      replyCode: SS.ConcurrentStChg,
    });
    expect(evaluatePeerRequest(connected(), { role: R.Primary }, { ...base, resolveConflicts: false }).replyCode).toBe(SS.Success);
  });

  it('a disconnecting peer asking us to outdate an Inconsistent disk is accepted without the outdate', () => {
    const os = connected({ peer: R.Primary, conn: C.SyncTarget, disk: D.Inconsistent });
    const v = evaluatePeerRequest(os, { conn: C.Disconnecting, pdsk: D.Outdated }, {
      ctx: net(),
      resolveConflicts: false,
      localChangeInProgress: false,
    });
    expect(v.replyCode).toBe(SS.Success);
    expect(v.result?.ok && v.result.newState).toMatchObject({ conn: C.TearDown, disk: D.Inconsistent });
    // An UpToDate Secondary does outdate itself.
    const v2 = evaluatePeerRequest(connected({ peer: R.Primary }), { conn: C.Disconnecting, pdsk: D.Outdated }, {
      ctx: net(),
      resolveConflicts: false,
      localChangeInProgress: false,
    });
    expect(v2.result?.ok && v2.result.newState).toMatchObject({ conn: C.TearDown, disk: D.Outdated });
  });
});

describe('rule coverage', () => {
  it('reached every sanitize rule and every rule of §2.2–2.4', () => {
    expect([...SANITIZE_RULES].filter((r) => !hitSanitize.has(r))).toEqual([]);
    expect([...ALL_VALIDITY_RULE_IDS].filter((r) => !hitRules.has(r))).toEqual([]);
  });
});
