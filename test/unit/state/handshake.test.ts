// handshake-and-split-brain.md §3–5: every uuid_compare rule, every sync_handshake step with the
// kernel's lines (kernel-captures), every after-sb policy with its fall-throughs, P_PROTOCOL check.
import { describe, expect, it } from 'vitest';
import {
  AFTER_SB_PATHS,
  afterSb0p,
  afterSb1p,
  afterSb2p,
  AfterSbPolicy as P,
  checkProtocolCompat,
  ConnState as C,
  DiskState as D,
  effectivePeerDisk,
  HG_NEEDS_PROTO_101_WSAME,
  HG_NEEDS_PROTO_91,
  HG_UNRELATED,
  parseAfterSbPolicy,
  parseRrConflict,
  Role as R,
  RrConflictPolicy as RR,
  syncHandshake,
  SYNC_HANDSHAKE_STEPS,
  uuidCompare,
  UUID_COMPARE_OUTCOMES,
  UUID_NEW_BM_OFFSET as OFF,
  WireProtocol,
  type AfterSbInput,
  type HandshakeEvent,
  type ProtocolSettings,
  type SyncHandshakeInput,
  type UuidCompareInput,
  type Uuids,
} from '../../../src/state/index.js';

const u = (s: string): Uuids => s.split(':').map((x) => BigInt(`0x${x}`)) as unknown as Uuids;
const U = (...v: bigint[]): Uuids => v as unknown as Uuids;
const hitCompare = new Set<string>();
const hitSteps = new Set<string>();
const hitPaths = new Set<string>();

const cmpBase: Omit<UuidCompareInput, 'self' | 'peer'> = {
  selfBits: 0n,
  peerBits: 0n,
  peerFlags: 0,
  selfCrashedPrimary: false,
  role: R.Secondary,
  peerRole: R.Secondary,
  agreedProtocol: 101,
  agreedFeatures: 0,
  resolveConflicts: false,
};

describe('uuid_compare (§3), every rule', () => {
  const A = 0xa0n;
  const rows: Array<{
    name: string;
    self: Uuids;
    peer: Uuids;
    o?: Partial<UuidCompareInput>;
    hg: number;
    rule: number;
    selfAfter?: Uuids;
    peerAfter?: Uuids;
    log?: string[];
  }> = [
    { name: 'fresh pair', self: u('4:0:0:0'), peer: u('4:0:0:0'), hg: 0, rule: 10 },
    { name: 'I am fresh', self: u('4:0:0:0'), peer: u('A1:4:0:0'), hg: -2, rule: 20 },
    { name: 'I am zero', self: u('0:0:0:0'), peer: u('A1:4:0:0'), hg: -2, rule: 20 },
    { name: 'peer is fresh', self: u('A1:4:0:0'), peer: u('4:0:0:0'), hg: 2, rule: 30 },
    {
      name: 'was SyncSource, proto 90',
      self: u('A0:B0:C0:0'),
      peer: u('A0:0:B0:C0'),
      o: { agreedProtocol: 90 },
      hg: HG_NEEDS_PROTO_91,
      rule: 34,
    },
    {
      name: 'was SyncSource, missed the end: corrected myself',
      self: u('A0:B0:C0:0'),
      peer: u('A0:0:B0:C0'),
      o: { selfBits: 5n },
      hg: 1,
      rule: 34,
      selfAfter: u('A0:0:B0:C0'),
      log: [
        'was SyncSource, missed the resync finished event, corrected myself:',
        'self 00000000000000A0:0000000000000000:00000000000000B0:00000000000000C0 bits:5 flags:0',
      ],
    },
    {
      name: 'was SyncSource, peer failed to write sync_uuid',
      self: u('A0:B0:C0:0'),
      peer: u('A0:0:D0:0'),
      hg: 1,
      rule: 36,
      log: ['was SyncSource (peer failed to write sync_uuid)'],
    },
    {
      name: 'was SyncTarget, proto 90',
      self: u('A0:0:B0:C0'),
      peer: u('A0:B0:C0:0'),
      o: { agreedProtocol: 90 },
      hg: HG_NEEDS_PROTO_91,
      rule: 35,
    },
    {
      name: 'was SyncTarget, peer missed the end: corrected peer',
      self: u('A0:0:B0:C0'),
      peer: u('A1:B0:C0:0'),
      o: { peerBits: 7n, peerFlags: 2 },
      hg: -1,
      rule: 35,
      peerAfter: u('A1:0:B0:C0'),
      log: [
        'was SyncTarget, peer missed the resync finished event, corrected peer:',
        'peer 00000000000000A1:0000000000000000:00000000000000B0:00000000000000C0 bits:7 flags:2',
      ],
    },
    {
      name: 'was SyncTarget, failed to write sync_uuid',
      self: u('A0:0:D0:0'),
      peer: u('A0:B0:C0:0'),
      hg: -1,
      rule: 37,
      log: ['was SyncTarget (failed to write sync_uuid)'],
    },
    { name: 'equal, nobody crashed', self: u('A0:0:B0:0'), peer: u('A1:0:B0:0'), hg: 0, rule: 40 },
    {
      name: 'equal, crashed, a Primary, no WRITE_SAME',
      self: u('A1:0:0:0'),
      peer: u('A0:0:0:0'),
      o: { selfCrashedPrimary: true, role: R.Primary },
      hg: HG_NEEDS_PROTO_101_WSAME,
      rule: 41,
    },
    {
      name: 'equal, crashed, both Primary',
      self: u('A1:0:0:0'),
      peer: u('A1:0:0:0'),
      o: { selfCrashedPrimary: true, role: R.Primary, peerRole: R.Primary, agreedFeatures: 4 },
      hg: -100,
      rule: 41,
    },
    {
      name: 'equal, crashed, I am Primary',
      self: u('A1:0:0:0'),
      peer: u('A0:0:0:0'),
      o: { peerFlags: 2, role: R.Primary, agreedFeatures: 0xf },
      hg: 1,
      rule: 41,
    },
    {
      name: 'equal, crashed, peer is Primary',
      self: u('A0:0:0:0'),
      peer: u('A1:0:0:0'),
      o: { selfCrashedPrimary: true, peerRole: R.Primary, agreedFeatures: 4 },
      hg: -1,
      rule: 41,
    },
    { name: 'equal, I crashed as Primary', self: u('A0:0:0:0'), peer: u('A0:0:0:0'), o: { selfCrashedPrimary: true }, hg: 1, rule: 40 },
    { name: 'equal, peer crashed as Primary', self: u('A0:0:0:0'), peer: u('A0:0:0:0'), o: { peerFlags: 2 }, hg: -1, rule: 40 },
    {
      name: 'equal, both crashed, I hold RESOLVE_CONFLICTS',
      self: u('A0:0:0:0'),
      peer: u('A0:0:0:0'),
      o: { selfCrashedPrimary: true, peerFlags: 2, resolveConflicts: true },
      hg: -1,
      rule: 40,
    },
    {
      name: 'equal, both crashed, the peer holds RESOLVE_CONFLICTS',
      self: u('A0:0:0:0'),
      peer: u('A0:0:0:0'),
      o: { selfCrashedPrimary: true, peerFlags: 2 },
      hg: 1,
      rule: 40,
    },
    // link-failure capture (node2 side).
    {
      name: 'my Current is the peer’s Bitmap',
      self: u('9D48FECDFDD8AC06:0000000000000000:30081896DD18665C:0000000000000004'),
      peer: u('F68DF6D3C7A84FAD:9D48FECDFDD8AC07:30081896DD18665D:0000000000000004'),
      hg: -1,
      rule: 50,
    },
    {
      name: 'lost syncUUID packet, proto 90',
      self: u('A0:0:E0:0'),
      peer: u('C0:B0:A0:E0'),
      o: { agreedProtocol: 90 },
      hg: HG_NEEDS_PROTO_91,
      rule: 51,
    },
    {
      name: 'lost syncUUID packet: corrected peer (proto ≥ 96)',
      self: u('A0:0:E0:0'),
      peer: U(0xc1n, A + OFF, A, 0xe0n),
      hg: -1,
      rule: 51,
      peerAfter: u('C1:A0:E0:E0'),
      log: ['Lost last syncUUID packet, corrected:', 'peer 00000000000000C1:00000000000000A0:00000000000000E0:00000000000000E0 bits:0 flags:0'],
    },
    {
      name: 'lost syncUUID packet (proto 95 variant)',
      self: u('A0:0:E0:0'),
      peer: u('C1:B0:A0:E0'),
      o: { agreedProtocol: 95 },
      hg: -1,
      rule: 51,
      peerAfter: u('C1:A0:E0:E0'),
    },
    { name: 'my Current in the peer’s H1 (no sync UUID pattern)', self: u('A0:0:0:0'), peer: u('C0:B0:A0:0'), hg: -2, rule: 60 },
    { name: 'my Current in the peer’s H2', self: u('A0:0:0:0'), peer: u('C0:B0:D0:A0'), hg: -2, rule: 60 },
    // link-failure capture (node1 side).
    {
      name: 'the peer’s Current is my Bitmap',
      self: u('F68DF6D3C7A84FAD:9D48FECDFDD8AC07:30081896DD18665D:0000000000000004'),
      peer: u('9D48FECDFDD8AC06:0000000000000000:30081896DD18665C:0000000000000004'),
      hg: 1,
      rule: 70,
    },
    {
      name: 'last syncUUID did not get through, proto 90',
      self: u('C0:B0:A0:E0'),
      peer: u('A0:0:E0:0'),
      o: { agreedProtocol: 90 },
      hg: HG_NEEDS_PROTO_91,
      rule: 71,
    },
    {
      name: 'last syncUUID did not get through: corrected myself',
      self: U(0xc1n, A + OFF, A, 0xe0n),
      peer: u('A0:0:E0:0'),
      hg: 1,
      rule: 71,
      selfAfter: u('C1:A0:E0:E0'),
      log: ['Last syncUUID did not get through, corrected:', 'self 00000000000000C1:00000000000000A0:00000000000000E0:00000000000000E0 bits:0 flags:0'],
    },
    { name: 'the peer’s Current in my history', self: u('C0:0:A0:0'), peer: u('A0:0:0:0'), hg: 2, rule: 80 },
    // split-brain capture (node1 side).
    {
      name: 'same Bitmap UUID: split brain',
      self: u('72F08A980A8DD311:0C6F380057E51FA1:DA4186190E1D5FF7:0000000000000004'),
      peer: u('DBA91720504A7CD1:0C6F380057E51FA0:DA4186190E1D5FF6:0000000000000004'),
      hg: 100,
      rule: 90,
    },
    { name: 'common history: split brain, disconnect', self: u('C0:0:D0:F0'), peer: u('E0:0:A0:D1'), hg: -100, rule: 100 },
    { name: 'zero history entries count as common', self: u('C0:0:0:0'), peer: u('E0:0:0:0'), hg: -100, rule: 100 },
    { name: 'unrelated', self: u('C0:0:D0:F0'), peer: u('E0:0:A0:B0'), hg: HG_UNRELATED, rule: 100 },
  ];
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_n, row) => {
    const res = uuidCompare({ ...cmpBase, ...row.o, self: row.self, peer: row.peer });
    expect({ hg: res.hg, rule: res.rule }).toEqual({ hg: row.hg, rule: row.rule });
    expect(res.self).toEqual(row.selfAfter ?? row.self);
    expect(res.peer).toEqual(row.peerAfter ?? row.peer);
    if (row.log) expect(res.log).toEqual(row.log);
    hitCompare.add(`${res.rule}:${res.hg}`);
  });
  it('reached every (rule, result)', () => {
    expect(UUID_COMPARE_OUTCOMES.filter((o) => !hitCompare.has(o))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

const logs = (ev: HandshakeEvent[]): string[] =>
  ev.map((e) => (e.kind === 'log' ? e.text : `<handler ${e.name}>`));

const hsBase = (o: Partial<SyncHandshakeInput>): SyncHandshakeInput => ({
  ...cmpBase,
  self: u('4:0:0:0'),
  peer: u('4:0:0:0'),
  disk: D.UpToDate,
  peerDisk: D.UpToDate,
  net: {
    afterSb0p: P.Disconnect,
    afterSb1p: P.Disconnect,
    afterSb2p: P.Disconnect,
    rrConflict: RR.Disconnect,
    alwaysAsbp: false,
    discardMyData: false,
    dryRun: false,
  },
  tryDemote: () => {
    throw new Error('no demotion expected');
  },
  ...o,
});
const netWith = (o: Partial<SyncHandshakeInput['net']>) => ({ ...hsBase({}).net, ...o });

describe('sync_handshake (§4)', () => {
  it('initial-sync capture, node1 after primary --force: full sync as source', () => {
    const r = syncHandshake(
      hsBase({
        self: u('1537E099F8168D59:4:0:0'),
        peer: u('4:0:0:0'),
        selfBits: 16374n,
        peerBits: 16374n,
        role: R.Primary,
        disk: D.UpToDate,
        peerDisk: D.Inconsistent,
      }),
    );
    expect(logs(r.events)).toEqual([
      'drbd_sync_handshake:',
      'self 1537E099F8168D59:0000000000000004:0000000000000000:0000000000000000 bits:16374 flags:0',
      'peer 0000000000000004:0000000000000000:0000000000000000:0000000000000000 bits:16374 flags:0',
      'uuid_compare()=2 by rule 30',
      'Becoming sync source due to disk states.',
      'Writing the whole bitmap, full sync required after drbd_sync_handshake.',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapS, hg: 2, fullSync: true, step: '11-source' });
    hitSteps.add(r.step);
  });

  it('initial-sync capture, node2: full sync as target', () => {
    const r = syncHandshake(
      hsBase({
        self: u('4:0:0:0'),
        peer: u('1537E099F8168D59:4:0:0'),
        selfBits: 16374n,
        peerBits: 16374n,
        peerRole: R.Primary,
        disk: D.Inconsistent,
        peerDisk: D.UpToDate,
      }),
    );
    expect(logs(r.events).slice(3)).toEqual([
      'uuid_compare()=-2 by rule 20',
      'Becoming sync target due to disk states.',
      'Writing the whole bitmap, full sync required after drbd_sync_handshake.',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapT, hg: -2, fullSync: true, step: '11-target' });
    hitSteps.add(r.step);
  });

  it('fresh pair: no resync, but bits in the bitmap', () => {
    const r = syncHandshake(hsBase({ selfBits: 16374n, peerBits: 16374n, disk: D.Inconsistent, peerDisk: D.Inconsistent }));
    expect(logs(r.events).slice(3)).toEqual(['uuid_compare()=0 by rule 10', 'No resync, but 16374 bits in bitmap!']);
    expect(r).toMatchObject({ conn: C.Connected, hg: 0, fullSync: false, step: '11-connected' });
    hitSteps.add(r.step);
  });

  it('split-brain capture: unresolved, both handlers, connection dropped', () => {
    const r = syncHandshake(
      hsBase({
        self: u('72F08A980A8DD311:0C6F380057E51FA1:DA4186190E1D5FF7:4'),
        peer: u('DBA91720504A7CD1:0C6F380057E51FA0:DA4186190E1D5FF6:4'),
        selfBits: 64n,
        peerBits: 32n,
        role: R.Primary,
        peerRole: R.Primary,
      }),
    );
    expect(logs(r.events).slice(1)).toEqual([
      'self 72F08A980A8DD311:0C6F380057E51FA1:DA4186190E1D5FF7:0000000000000004 bits:64 flags:0',
      'peer DBA91720504A7CD1:0C6F380057E51FA0:DA4186190E1D5FF6:0000000000000004 bits:32 flags:0',
      'uuid_compare()=100 by rule 90',
      '<handler initial-split-brain>',
      'Split-Brain detected but unresolved, dropping connection!',
      '<handler split-brain>',
    ]);
    expect(r).toMatchObject({ conn: undefined, step: '6-split-brain-unresolved', diskFailed: false });
    hitSteps.add(r.step);
  });

  it('split-brain capture: manual recovery, survivor side (peer said --discard-my-data)', () => {
    const r = syncHandshake(
      hsBase({
        self: u('72F08A980A8DD311:0C6F380057E51FA1:DA4186190E1D5FF7:4'),
        peer: u('DBA91720504A7CD0:0C6F380057E51FA0:DA4186190E1D5FF6:4'),
        selfBits: 64n,
        peerBits: 32n,
        peerFlags: 1,
        role: R.Primary,
      }),
    );
    expect(logs(r.events).slice(3)).toEqual([
      'uuid_compare()=100 by rule 90',
      '<handler initial-split-brain>',
      'Split-Brain detected, manually solved. Sync from this node',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapS, hg: 1, fullSync: false });
  });

  it('split-brain capture: manual recovery, victim side (--discard-my-data here)', () => {
    const r = syncHandshake(
      hsBase({
        self: u('DBA91720504A7CD0:0C6F380057E51FA0:DA4186190E1D5FF6:4'),
        peer: u('72F08A980A8DD311:0C6F380057E51FA1:DA4186190E1D5FF7:4'),
        selfBits: 32n,
        peerBits: 64n,
        peerRole: R.Primary,
        net: netWith({ discardMyData: true }),
      }),
    );
    expect(logs(r.events).slice(-1)).toEqual(['Split-Brain detected, manually solved. Sync from peer node']);
    expect(r).toMatchObject({ conn: C.WFBitMapT, hg: -1 });
  });

  it('both sides said --discard-my-data: unresolved', () => {
    const r = syncHandshake(
      hsBase({ self: u('C0:B1:0:0'), peer: u('E0:B0:0:0'), peerFlags: 1, net: netWith({ discardMyData: true }) }),
    );
    expect(r.step).toBe('6-split-brain-unresolved');
  });

  it('automatic recovery by after-sb-0pri', () => {
    const r = syncHandshake(
      hsBase({ self: u('C0:B1:0:0'), peer: u('E0:B0:0:0'), selfBits: 3n, peerBits: 0n, net: netWith({ afterSb0p: P.DiscardZeroChanges }) }),
    );
    expect(logs(r.events).slice(3)).toEqual([
      'uuid_compare()=100 by rule 90',
      '<handler initial-split-brain>',
      'Split-Brain detected, 0 primaries, automatically solved. Sync from this node',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapS, hg: 1, fullSync: false });
  });

  it('always-asbp: a -100 split brain solved by policy becomes a full sync', () => {
    const r = syncHandshake(
      hsBase({
        self: u('C0:0:D0:F0'),
        peer: u('E0:0:A0:D1'),
        selfBits: 0n,
        peerBits: 9n,
        role: R.Secondary,
        peerRole: R.Primary,
        net: netWith({ alwaysAsbp: true, afterSb1p: P.DiscardSecondary }),
      }),
    );
    expect(logs(r.events).slice(3)).toEqual([
      'uuid_compare()=-100 by rule 100',
      '<handler initial-split-brain>',
      'Split-Brain detected, 1 primaries, automatically solved. Sync from peer node',
      'Doing a full sync, since UUIDs where ambiguous.',
      'Writing the whole bitmap, full sync required after drbd_sync_handshake.',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapT, hg: -2, fullSync: true });
  });

  it('without always-asbp a -100 split brain is not given to the policies', () => {
    const r = syncHandshake(
      hsBase({ self: u('C0:0:D0:F0'), peer: u('E0:0:A0:D1'), peerRole: R.Primary, net: netWith({ afterSb1p: P.DiscardSecondary }) }),
    );
    expect(r.step).toBe('6-split-brain-unresolved');
  });

  it('after-sb-2pri call-pri-lost-after-sb: the demoted node becomes SyncTarget (no rr-conflict)', () => {
    let asked = 0;
    const r = syncHandshake(
      hsBase({
        self: u('C1:B1:0:0'),
        peer: u('E1:B0:0:0'),
        selfBits: 1n,
        peerBits: 5n,
        role: R.Primary,
        peerRole: R.Primary,
        net: netWith({ afterSb0p: P.DiscardLeastChanges, afterSb2p: P.CallPriLostAfterSb }),
        tryDemote: () => {
          asked++;
          return true;
        },
      }),
    );
    expect(asked).toBe(1);
    expect(logs(r.events).slice(5)).toEqual([
      'Successfully gave up primary role.',
      'Split-Brain detected, 2 primaries, automatically solved. Sync from peer node',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapT, hg: -1, demoted: true });
  });

  it('call-pri-lost-after-sb whose demotion fails runs pri-lost-after-sb and then split-brain', () => {
    const r = syncHandshake(
      hsBase({
        self: u('C1:B1:0:0'),
        peer: u('E0:B0:0:0'),
        role: R.Primary,
        net: netWith({ afterSb0p: P.DiscardLocal, afterSb1p: P.CallPriLostAfterSb }),
        tryDemote: () => false,
      }),
    );
    expect(logs(r.events).slice(4)).toEqual([
      '<handler initial-split-brain>',
      '<handler pri-lost-after-sb>',
      'Split-Brain detected but unresolved, dropping connection!',
      '<handler split-brain>',
    ]);
  });

  it('step 1: unrelated data', () => {
    const r = syncHandshake(hsBase({ self: u('C0:0:D0:F0'), peer: u('E0:0:A0:B0') }));
    expect(logs(r.events).slice(-1)).toEqual(['Unrelated data, aborting!']);
    expect(r).toMatchObject({ conn: undefined, step: '1-unrelated' });
    hitSteps.add(r.step);
  });

  it('step 1: needs protocol 91', () => {
    const r = syncHandshake(hsBase({ self: u('A0:B0:C0:0'), peer: u('A0:0:B0:C0'), agreedProtocol: 90 }));
    expect(logs(r.events).slice(-1)).toEqual(['To resolve this both sides have to support at least protocol 91']);
    expect(r.step).toBe('1-needs-protocol');
    hitSteps.add(r.step);
  });

  it('step 1: needs protocol 101 and WRITE_SAME (rule 41)', () => {
    const r = syncHandshake(hsBase({ self: u('A1:0:0:0'), peer: u('A0:0:0:0'), selfCrashedPrimary: true, role: R.Primary }));
    expect(logs(r.events).slice(-1)).toEqual(['To resolve this both sides have to support at least protocol 101 and feature flags 0x4']);
    expect(r.step).toBe('1-needs-features');
    hitSteps.add(r.step);
  });

  it('step 2: disk states override a split brain, doubling to a full sync', () => {
    const r = syncHandshake(hsBase({ self: u('C0:0:D0:F0'), peer: u('E0:0:A0:D1'), disk: D.UpToDate, peerDisk: D.Inconsistent }));
    expect(logs(r.events).slice(4)).toEqual([
      'Becoming sync source due to disk states.',
      'Writing the whole bitmap, full sync required after drbd_sync_handshake.',
    ]);
    expect(r).toMatchObject({ conn: C.WFBitMapS, hg: 2 });
  });

  it('step 2 uses the negotiated disk while attaching; a failure then fails the disk', () => {
    // link-failure style: rule 50 (-1), attach while connected, real disk will be Outdated.
    const ok = syncHandshake(
      hsBase({
        self: u('72BBF2BFDFCD520A:0:7BC7EF6934DCFF20:7BC6EF6934DCFF21'),
        peer: u('6EFDDCE7E860945F:72BBF2BFDFCD520B:7BC7EF6934DCFF21:7BC6EF6934DCFF21'),
        disk: D.Negotiating,
        negotiatedDisk: D.UpToDate,
        peerRole: R.Primary,
      }),
    );
    expect(ok).toMatchObject({ conn: C.WFBitMapT, hg: -1, diskFailed: false });
    const bad = syncHandshake(hsBase({ self: u('C0:0:D0:F0'), peer: u('E0:0:A0:B0'), disk: D.Negotiating, negotiatedDisk: D.UpToDate }));
    expect(bad).toMatchObject({ conn: undefined, diskFailed: true });
  });

  it('step 7: an inconsistent node cannot be SyncSource', () => {
    const r = syncHandshake(hsBase({ self: u('C0:A0:0:0'), peer: u('A0:0:0:0'), disk: D.Inconsistent, peerDisk: D.Inconsistent }));
    expect(logs(r.events).slice(-1)).toEqual(['I shall become SyncSource, but I am inconsistent!']);
    expect(r.step).toBe('7-source-inconsistent');
    hitSteps.add(r.step);
  });

  describe('step 8: rr-conflict for a Primary that should become SyncTarget', () => {
    const primaryBehind = { self: u('A1:0:0:0'), peer: u('C0:A0:0:0'), role: R.Primary, disk: D.UpToDate };
    it('disconnect', () => {
      const r = syncHandshake(hsBase(primaryBehind));
      expect(logs(r.events).slice(-1)).toEqual(['I shall become SyncTarget, but I am primary!']);
      expect(r.step).toBe('8-rr-disconnect');
      hitSteps.add(r.step);
    });
    it('call-pri-lost', () => {
      const r = syncHandshake(hsBase({ ...primaryBehind, net: netWith({ rrConflict: RR.CallPriLost }) }));
      expect(logs(r.events).slice(-2)).toEqual(['<handler pri-lost>', 'I shall become SyncTarget, but I am primary!']);
      expect(r.step).toBe('8-rr-call-pri-lost');
      hitSteps.add(r.step);
    });
    it('violently', () => {
      const r = syncHandshake(hsBase({ ...primaryBehind, net: netWith({ rrConflict: RR.Violently }) }));
      expect(logs(r.events).slice(-1)).toEqual(['Becoming SyncTarget, violating the stable-dataassumption']);
      expect(r).toMatchObject({ conn: C.WFBitMapT, hg: -1 });
    });
    it('does not apply to a Primary with an Inconsistent disk', () => {
      expect(syncHandshake(hsBase({ ...primaryBehind, disk: D.Inconsistent, peerDisk: D.Inconsistent })).conn).toBe(C.WFBitMapT);
    });
  });

  it('step 9: dry run says what would happen and drops the connection', () => {
    const none = syncHandshake(hsBase({ net: netWith({ dryRun: true }) }));
    expect(logs(none.events).slice(-1)).toEqual(['dry-run connect: No resync, would become Connected immediately.']);
    expect(none).toMatchObject({ conn: undefined, step: '9-dry-run' });
    hitSteps.add(none.step);
    const full = syncHandshake(hsBase({ self: u('A1:4:0:0'), peer: u('4:0:0:0'), net: netWith({ dryRun: true }) }));
    expect(logs(full.events).slice(-1)).toEqual(['dry-run connect: Would become SyncSource, doing a full resync.']);
    const bm = syncHandshake(hsBase({ self: u('A0:0:0:0'), peer: u('C0:A0:0:0'), net: netWith({ dryRun: true }) }));
    expect(logs(bm.events).slice(-1)).toEqual(['dry-run connect: Would become SyncTarget, doing a bit-map based resync.']);
  });

  it('a Negotiating peer is Inconsistent or Consistent by its UUID flag 4', () => {
    expect(effectivePeerDisk(D.Negotiating, 4)).toBe(D.Inconsistent);
    expect(effectivePeerDisk(D.Negotiating, 0)).toBe(D.Consistent);
    expect(effectivePeerDisk(D.Outdated, 4)).toBe(D.Outdated);
  });

  it('reached every step', () => {
    expect(SYNC_HANDSHAKE_STEPS.filter((s) => !hitSteps.has(s))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

const asb = (o: Partial<AfterSbInput> & { selfPri?: 0 | 1; peerPri?: 0 | 1 }): AfterSbInput => ({
  self: U(0xc0n, 0xb0n | BigInt(o.selfPri ?? 0), 0n, 0n),
  peer: U(0xe0n, 0xb0n | BigInt(o.peerPri ?? 0), 0n, 0n),
  selfBits: 1n,
  peerBits: 1n,
  resolveConflicts: false,
  role: R.Secondary,
  afterSb0p: P.Disconnect,
  afterSb1p: P.Disconnect,
  afterSb2p: P.Disconnect,
  tryDemote: () => {
    throw new Error('no demotion expected');
  },
  ...o,
});

describe('after-sb-0pri (§5)', () => {
  const rows: Array<[string, Partial<AfterSbInput> & { selfPri?: 0 | 1; peerPri?: 0 | 1 }, number, string[]?]> = [
    ['0p-disconnect', { afterSb0p: P.Disconnect }, -100],
    ['0p-config-error', { afterSb0p: P.Consensus }, -100, ['Configuration error.']],
    ['0p-config-error', { afterSb0p: P.DiscardSecondary }, -100],
    ['0p-config-error', { afterSb0p: P.CallPriLostAfterSb }, -100],
    ['0p-config-error', { afterSb0p: P.ViolentlyAs0p }, -100],
    ['0p-discard-local', { afterSb0p: P.DiscardLocal }, -1],
    ['0p-discard-remote', { afterSb0p: P.DiscardRemote }, 1],
    ['0p-younger-self-younger', { afterSb0p: P.DiscardYoungerPrimary, selfPri: 0, peerPri: 1 }, -1],
    ['0p-younger-peer-younger', { afterSb0p: P.DiscardYoungerPrimary, selfPri: 1, peerPri: 0 }, 1],
    ['0p-older-peer-older', { afterSb0p: P.DiscardOlderPrimary, selfPri: 0, peerPri: 1 }, 1],
    ['0p-older-self-older', { afterSb0p: P.DiscardOlderPrimary, selfPri: 1, peerPri: 0 }, -1],
    // younger → older → zero-changes → least-changes, each without a decision.
    [
      '0p-least-self',
      { afterSb0p: P.DiscardYoungerPrimary, selfPri: 1, peerPri: 1, selfBits: 2n, peerBits: 3n },
      -1,
      ['Discard younger/older primary did not find a decision', 'Using discard-least-changes instead'],
    ],
    ['0p-zero-both', { afterSb0p: P.DiscardOlderPrimary, selfBits: 0n, peerBits: 0n, resolveConflicts: true }, -1],
    ['0p-zero-both', { afterSb0p: P.DiscardZeroChanges, selfBits: 0n, peerBits: 0n, resolveConflicts: false }, 1],
    ['0p-zero-peer', { afterSb0p: P.DiscardZeroChanges, selfBits: 4n, peerBits: 0n }, 1],
    ['0p-zero-self', { afterSb0p: P.DiscardZeroChanges, selfBits: 0n, peerBits: 4n }, -1],
    ['0p-zero-undecided', { afterSb0p: P.DiscardZeroChanges, selfBits: 4n, peerBits: 4n }, -100],
    ['0p-least-peer', { afterSb0p: P.DiscardOlderPrimary, selfBits: 5n, peerBits: 4n }, 1],
    ['0p-least-self', { afterSb0p: P.DiscardLeastChanges, selfBits: 3n, peerBits: 4n }, -1],
    ['0p-least-peer', { afterSb0p: P.DiscardLeastChanges, selfBits: 5n, peerBits: 4n }, 1],
    ['0p-least-equal', { afterSb0p: P.DiscardLeastChanges, selfBits: 4n, peerBits: 4n, resolveConflicts: true }, -1],
    ['0p-least-equal', { afterSb0p: P.DiscardLeastChanges, selfBits: 4n, peerBits: 4n, resolveConflicts: false }, 1],
  ];
  it.each(rows.map((r, i) => [`${i} ${r[0]}`, ...r] as const))('%s', (_n, path, o, hg, log) => {
    const r = afterSb0p(asb(o));
    expect({ hg: r.hg, path: r.path }).toEqual({ hg, path });
    if (log) expect(r.log.map((l) => l.text)).toEqual(log);
    hitPaths.add(r.path);
  });
});

describe('after-sb-1pri (§5)', () => {
  const rows: Array<[string, Partial<AfterSbInput>, number, { demote?: boolean; handler?: string }?]> = [
    ['1p-disconnect', { afterSb1p: P.Disconnect }, -100],
    ['1p-consensus-agree', { afterSb1p: P.Consensus, afterSb0p: P.DiscardRemote, role: R.Primary }, 1],
    ['1p-consensus-agree', { afterSb1p: P.Consensus, afterSb0p: P.DiscardLocal, role: R.Secondary }, -1],
    ['1p-consensus-refuse', { afterSb1p: P.Consensus, afterSb0p: P.DiscardLocal, role: R.Primary }, -100],
    ['1p-consensus-refuse', { afterSb1p: P.Consensus, afterSb0p: P.Disconnect, role: R.Secondary }, -100],
    ['1p-violently', { afterSb1p: P.ViolentlyAs0p, afterSb0p: P.DiscardLocal, role: R.Primary }, -1],
    ['1p-discard-secondary-primary', { afterSb1p: P.DiscardSecondary, role: R.Primary }, 1],
    ['1p-discard-secondary-secondary', { afterSb1p: P.DiscardSecondary, role: R.Secondary }, -1],
    ['1p-call-pri-lost-demoted', { afterSb1p: P.CallPriLostAfterSb, afterSb0p: P.DiscardLocal, role: R.Primary }, -1, { demote: true }],
    [
      '1p-call-pri-lost-failed',
      { afterSb1p: P.CallPriLostAfterSb, afterSb0p: P.DiscardLocal, role: R.Primary },
      -100,
      { demote: false, handler: 'pri-lost-after-sb' },
    ],
    // The Secondary's data is discarded: no demotion needed.
    ['1p-call-pri-lost-keep', { afterSb1p: P.CallPriLostAfterSb, afterSb0p: P.DiscardLocal, role: R.Secondary }, -1],
    ['1p-call-pri-lost-keep', { afterSb1p: P.CallPriLostAfterSb, afterSb0p: P.DiscardRemote, role: R.Primary }, 1],
    ['1p-config-error', { afterSb1p: P.DiscardYoungerPrimary }, -100],
    ['1p-config-error', { afterSb1p: P.DiscardOlderPrimary }, -100],
    ['1p-config-error', { afterSb1p: P.DiscardZeroChanges }, -100],
    ['1p-config-error', { afterSb1p: P.DiscardLeastChanges }, -100],
    ['1p-config-error', { afterSb1p: P.DiscardLocal }, -100],
    ['1p-config-error', { afterSb1p: P.DiscardRemote }, -100],
  ];
  it.each(rows.map((r, i) => [`${i} ${r[0]}`, ...r] as const))('%s', (_n, path, o, hg, extra) => {
    let asked = 0;
    const input = asb({
      ...o,
      ...(extra?.demote !== undefined
        ? {
            tryDemote: () => {
              asked++;
              return extra.demote!;
            },
          }
        : {}),
    });
    const r = afterSb1p(input);
    expect({ hg: r.hg, path: r.path }).toEqual({ hg, path });
    if (extra?.demote !== undefined) expect(asked).toBe(1);
    expect(r.handler).toBe(extra?.handler);
    if (path === '1p-config-error') expect(r.log.map((l) => l.text)).toEqual(['Configuration error.']);
    hitPaths.add(r.path);
  });
});

describe('after-sb-2pri (§5)', () => {
  const rows: Array<[string, Partial<AfterSbInput>, number, boolean?]> = [
    ['2p-disconnect', { afterSb2p: P.Disconnect }, -100],
    ['2p-violently', { afterSb2p: P.ViolentlyAs0p, afterSb0p: P.DiscardRemote }, 1],
    // No role test in 2pri: both are Primary.
    ['2p-call-pri-lost-demoted', { afterSb2p: P.CallPriLostAfterSb, afterSb0p: P.DiscardLocal, role: R.Primary }, -1, true],
    ['2p-call-pri-lost-failed', { afterSb2p: P.CallPriLostAfterSb, afterSb0p: P.DiscardLocal, role: R.Primary }, -100, false],
    ['2p-call-pri-lost-keep', { afterSb2p: P.CallPriLostAfterSb, afterSb0p: P.DiscardRemote, role: R.Primary }, 1],
    ['2p-config-error', { afterSb2p: P.Consensus }, -100],
    ['2p-config-error', { afterSb2p: P.DiscardSecondary }, -100],
    ['2p-config-error', { afterSb2p: P.DiscardLeastChanges }, -100],
  ];
  it.each(rows.map((r, i) => [`${i} ${r[0]}`, ...r] as const))('%s', (_n, path, o, hg, demote) => {
    const r = afterSb2p(asb({ ...o, ...(demote !== undefined ? { tryDemote: () => demote } : {}) }));
    expect({ hg: r.hg, path: r.path }).toEqual({ hg, path });
    if (demote === true) expect(r.log.map((l) => l.text)).toEqual(['Successfully gave up primary role.']);
    if (demote === false) expect(r.handler).toBe('pri-lost-after-sb');
    hitPaths.add(r.path);
  });
  it('reached every decision path of the three policies', () => {
    expect(AFTER_SB_PATHS.filter((p) => !hitPaths.has(p))).toEqual([]);
  });
});

describe('policy names and the P_PROTOCOL check', () => {
  it('rewrites discard-node-NAME per host, parses the rest', () => {
    expect(parseAfterSbPolicy('discard-node-alice', 'alice')).toBe(P.DiscardLocal);
    expect(parseAfterSbPolicy('discard-node-alice', 'bob')).toBe(P.DiscardRemote);
    expect(parseAfterSbPolicy('discard-zero-changes', 'bob')).toBe(P.DiscardZeroChanges);
    expect(parseAfterSbPolicy('call-pri-lost-after-sb', 'bob')).toBe(P.CallPriLostAfterSb);
    expect(parseAfterSbPolicy('bogus', 'bob')).toBeUndefined();
    expect(parseRrConflict('call-pri-lost')).toBe(RR.CallPriLost);
    expect(parseRrConflict('violently')).toBe(RR.Violently);
    expect(parseRrConflict('disconnect')).toBe(RR.Disconnect);
    expect(parseRrConflict('x')).toBeUndefined();
  });

  const mine: ProtocolSettings = {
    protocol: WireProtocol.C,
    afterSb0p: P.DiscardLocal,
    afterSb1p: P.Consensus,
    afterSb2p: P.Disconnect,
    discardMyData: true,
    dryRun: false,
    twoPrimaries: false,
    integrityAlg: '',
  };
  const peerOk: ProtocolSettings = { ...mine, afterSb0p: P.DiscardRemote, discardMyData: false };
  it.each([
    ['compatible (discard-local faces discard-remote)', {}, undefined],
    ['protocol', { protocol: WireProtocol.A }, 'incompatible protocol settings'],
    ['after-sb-0pri', { afterSb0p: P.DiscardLocal }, 'incompatible after-sb-0pri settings'],
    ['after-sb-1pri', { afterSb1p: P.DiscardSecondary }, 'incompatible after-sb-1pri settings'],
    ['after-sb-2pri', { afterSb2p: P.ViolentlyAs0p }, 'incompatible after-sb-2pri settings'],
    ['discard-my-data', { discardMyData: true }, 'incompatible discard-my-data settings'],
    ['allow-two-primaries', { twoPrimaries: true }, 'incompatible allow-two-primaries settings'],
    ['data-integrity-alg', { integrityAlg: 'sha1' }, 'incompatible data-integrity-alg settings'],
  ] as const)('%s', (_n, change, expected) => {
    expect(checkProtocolCompat(mine, { ...peerOk, ...change })).toBe(expected);
  });
});
