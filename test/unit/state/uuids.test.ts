// handshake-and-split-brain.md §1–2: UUID primitives and events, checked against the spec's
// worked example and the UUID lines of the kernel captures.
import { describe, expect, it } from 'vitest';
import {
  ConnState as C,
  createMdUuids,
  DiskState as D,
  ERR,
  formatUuids,
  newCurrentUuid,
  newCurrentUuidCommand,
  onDemote,
  onIoResumed,
  onLostPeerData,
  onPeerPromotedDiskless,
  onPromote,
  onResyncFinishedSource,
  onResyncFinishedTarget,
  onSkipInitialSyncReceived,
  onSyncStartAsSource,
  onSyncUuidReceived,
  rawSet,
  Role as R,
  setBitmapUuid,
  setUuid,
  uuidCompare,
  uuidDumpLine,
  UI_BITMAP,
  UI_CURRENT,
  UI_HISTORY_START,
  type Uuids,
} from '../../../src/state/index.js';

/** Parses `CUR:BM:H1:H2` as printed by the kernel. */
const u = (s: string): Uuids => s.split(':').map((x) => BigInt(`0x${x}`)) as unknown as Uuids;
/** A random source that hands out the given values in order (and fails if asked for more). */
const seq = (...vals: bigint[]) => {
  const queue = [...vals];
  return () => {
    const v = queue.shift();
    if (v === undefined) throw new Error('random source exhausted');
    return v;
  };
};
const never = () => {
  throw new Error('no random value expected');
};

describe('primitives (§1)', () => {
  it('create-md gives 4:0:0:0', () => {
    expect(formatUuids(createMdUuids())).toBe('0000000000000004:0000000000000000:0000000000000000:0000000000000000');
  });

  it('set(idx, v) rotates a non-zero old value into history; raw set does not', () => {
    const start = u('A0:B0:C0:D0');
    expect(setUuid(start, UI_BITMAP, 0xe0n, R.Secondary)).toEqual(u('A0:E0:B0:C0'));
    expect(setUuid(u('A0:0:C0:D0'), UI_BITMAP, 0xe0n, R.Secondary)).toEqual(u('A0:E0:C0:D0'));
    expect(rawSet(start, UI_BITMAP, 0xe1n, R.Secondary)).toEqual(u('A0:E1:C0:D0'));
    // Current carries the role in bit 0, also on raw set.
    expect(rawSet(start, UI_CURRENT, 0xf0n, R.Primary)[0]).toBe(0xf1n);
    expect(setUuid(start, UI_CURRENT, 0xf1n, R.Secondary)).toEqual(u('F0:B0:A0:C0'));
  });

  it('set_bm(0) rotates a non-zero Bitmap; set_bm(v) clears bit 0 and warns if one was set', () => {
    expect(setBitmapUuid(u('A0:B1:C0:D0'), 0n)).toEqual({ uuids: u('A0:0:B1:C0'), log: [] });
    expect(setBitmapUuid(u('A0:0:C0:D0'), 0n)).toEqual({ uuids: u('A0:0:C0:D0'), log: [] });
    expect(setBitmapUuid(u('A0:0:C0:D0'), 0xe1n)).toEqual({ uuids: u('A0:E0:C0:D0'), log: [] });
    expect(setBitmapUuid(u('A0:B1:C0:D0'), 0xe1n)).toEqual({
      uuids: u('A0:E0:C0:D0'),
      log: ['bm UUID was already set: B1'],
    });
  });

  it('new_current: Bitmap := Current, random Current with the role bit, history untouched', () => {
    const r = newCurrentUuid(u('72BBF2BFDFCD520B:0:7BC7EF6934DCFF21:7BC6EF6934DCFF21'), R.Primary, seq(0x6efddce7e860945en));
    // cli-errors capture: "pdsk( UpToDate -> Failed )" then this line on the Primary.
    expect(r.log).toEqual(['new current UUID 6EFDDCE7E860945F:72BBF2BFDFCD520B:7BC7EF6934DCFF21:7BC6EF6934DCFF21']);
    expect(r.writeMetaData).toBe(true);
    const warn = newCurrentUuid(u('A0:B0:0:0'), R.Secondary, seq(0x11n));
    expect(warn.log[0]).toBe('bm UUID was already set: B0');
    expect(warn.uuids).toEqual(u('10:A0:0:0'));
  });

  it('formats dump lines like drbd_sync_handshake', () => {
    expect(uuidDumpLine('peer', u('DBA91720504A7CD0:0C6F380057E51FA0:DA4186190E1D5FF6:4'), 32n, 1)).toBe(
      'peer DBA91720504A7CD0:0C6F380057E51FA0:DA4186190E1D5FF6:0000000000000004 bits:32 flags:1',
    );
    expect(uuidDumpLine('self', createMdUuids(), 16374, 0)).toBe(
      'self 0000000000000004:0000000000000000:0000000000000000:0000000000000000 bits:16374 flags:0',
    );
  });
});

describe('events (§2)', () => {
  it('the worked example: initial full sync after primary --force on A (initial-sync capture)', () => {
    const R_ = 0x1537e099f8168d58n;
    const S = 0xb8755e67123e8683n;
    let a = createMdUuids();
    let b = createMdUuids();

    const promoted = onPromote(a, { conn: C.Connected, pdsk: D.Inconsistent, forced: true }, seq(R_));
    a = promoted.uuids;
    expect(promoted.log).toEqual(['new current UUID 1537E099F8168D59:0000000000000004:0000000000000000:0000000000000000']);

    // Handshake: B rule 20 (−2), A rule 30 (+2).
    const base = { selfBits: 16374n, peerBits: 16374n, peerFlags: 0, selfCrashedPrimary: false, agreedProtocol: 101, agreedFeatures: 0, resolveConflicts: false };
    expect(uuidCompare({ ...base, self: b, peer: a, role: R.Secondary, peerRole: R.Primary })).toMatchObject({ hg: -2, rule: 20 });
    expect(uuidCompare({ ...base, self: a, peer: b, role: R.Primary, peerRole: R.Secondary })).toMatchObject({ hg: 2, rule: 30 });
    const bSeenByA = b; // P_UUIDS as last received
    const aSeenByB = a;

    const start = onSyncStartAsSource(a, R.Primary, seq(S));
    a = start.uuids;
    expect(start.syncUuid).toBe(S);
    expect(start.log).toEqual(['updated sync UUID 1537E099F8168D59:B8755E67123E8683:0000000000000004:0000000000000000']);

    const got = onSyncUuidReceived(b, start.syncUuid, R.Secondary);
    b = got.uuids;
    expect(got.log).toEqual(['updated sync uuid B8755E67123E8682:0000000000000000:0000000000000000:0000000000000000']);

    const srcDone = onResyncFinishedSource(a);
    a = srcDone.uuids;
    expect(srcDone.log).toEqual(['updated UUIDs 1537E099F8168D59:0000000000000000:B8755E67123E8683:0000000000000004']);
    expect(srcDone.peerUuids).toEqual(a);

    const tgtDone = onResyncFinishedTarget(b, aSeenByB, R.Secondary);
    b = tgtDone.uuids;
    expect(tgtDone.log).toEqual(['updated UUIDs 1537E099F8168D58:0000000000000000:B8755E67123E8682:0000000000000004']);
    // The spec's notation: A `R|1 : 0 : S : 4`, B `R : 0 : S : 4`.
    expect(a).toEqual([R_ | 1n, 0n, S, 4n]);
    expect(b).toEqual([R_, 0n, S & ~1n, 4n]);
    expect(bSeenByA).toEqual(createMdUuids());
  });

  it('bitmap-based resync after a link failure (link-failure capture)', () => {
    const src = u('F68DF6D3C7A84FAD:9D48FECDFDD8AC07:30081896DD18665D:0000000000000004');
    const tgt = u('9D48FECDFDD8AC06:0000000000000000:30081896DD18665C:0000000000000004');
    const start = onSyncStartAsSource(src, R.Primary, never);
    expect(start.log).toEqual(['updated sync UUID F68DF6D3C7A84FAD:9D49FECDFDD8AC07:9D48FECDFDD8AC07:30081896DD18665D']);
    const got = onSyncUuidReceived(tgt, start.syncUuid, R.Secondary);
    expect(got.log).toEqual(['updated sync uuid 9D49FECDFDD8AC06:0000000000000000:30081896DD18665C:0000000000000004']);
    expect(onResyncFinishedSource(start.uuids).log).toEqual([
      'updated UUIDs F68DF6D3C7A84FAD:0000000000000000:9D49FECDFDD8AC07:9D48FECDFDD8AC07',
    ]);
    expect(onResyncFinishedTarget(got.uuids, src, R.Secondary).log).toEqual([
      'updated UUIDs F68DF6D3C7A84FAC:0000000000000000:9D49FECDFDD8AC06:9D48FECDFDD8AC07',
    ]);
  });

  it('the sync UUID wraps around 2^64', () => {
    const r = onSyncStartAsSource(u('A1:FFFF000000000002:0:0'), R.Primary, never);
    expect(r.syncUuid).toBe(2n);
  });

  it('promotion: new current only when alone without Bitmap UUID, or forced; bit 0 set', () => {
    const sec = u('0C6F380057E51FA0:0:DA4186190E1D5FF6:4');
    // split-brain-02 capture: StandAlone Secondary promoted.
    const alone = onPromote(sec, { conn: C.StandAlone, pdsk: D.DUnknown, forced: false }, seq(0xdba91720504a7cd0n));
    expect(alone.log).toEqual(['new current UUID DBA91720504A7CD1:0C6F380057E51FA0:DA4186190E1D5FF6:0000000000000004']);
    const peerFailed = onPromote(sec, { conn: C.Connected, pdsk: D.Failed, forced: false }, seq(0x10n));
    expect(peerFailed.uuids[UI_BITMAP]).toBe(0x0c6f380057e51fa0n);
    const conn = onPromote(sec, { conn: C.Connected, pdsk: D.UpToDate, forced: false }, never);
    expect(conn).toEqual({ uuids: u('0C6F380057E51FA1:0:DA4186190E1D5FF6:4'), log: [], writeMetaData: false });
    const withBm = onPromote(u('A0:B0:0:0'), { conn: C.WFConnection, pdsk: D.DUnknown, forced: false }, never);
    expect(withBm.uuids).toEqual(u('A1:B0:0:0'));
  });

  it('demotion clears bit 0', () => {
    expect(onDemote(u('A1:B0:0:0')).uuids).toEqual(u('A0:B0:0:0'));
  });

  it('lost peer data: new current for a Primary with UpToDate disk and no Bitmap UUID', () => {
    const pri = u('72F08A980A8DD311:0:DA4186190E1D5FF7:4');
    const base = { role: R.Primary, peer: R.Unknown, disk: D.UpToDate, ioSuspended: false };
    // split-brain-01 capture.
    expect(onLostPeerData(pri, base, seq(0x0c6f380057e51fa0n)).log).toEqual([
      'new current UUID 0C6F380057E51FA1:72F08A980A8DD311:DA4186190E1D5FF7:0000000000000004',
    ]);
    expect(onLostPeerData(pri, { ...base, ioSuspended: true }, never)).toMatchObject({ deferred: true, uuids: pri });
    expect(onIoResumed(pri, R.Primary, seq(0x20n)).uuids).toEqual(u('21:72F08A980A8DD311:DA4186190E1D5FF7:4'));
    expect(onLostPeerData(pri, { ...base, role: R.Secondary }, never)).toMatchObject({ deferred: false, uuids: pri });
    expect(onLostPeerData(pri, { ...base, disk: D.Consistent }, never).uuids).toBe(pri);
    expect(onLostPeerData(u('A1:B0:0:0'), base, never).log).toEqual([]);
  });

  it('peer promoted while diskless', () => {
    const mine = u('A0:0:0:0');
    expect(onPeerPromotedDiskless(mine, { role: R.Secondary, disk: D.UpToDate }, seq(0xb0n)).uuids).toEqual(u('B0:A0:0:0'));
    expect(onPeerPromotedDiskless(mine, { role: R.Secondary, disk: D.Outdated }, never).uuids).toBe(mine);
  });
});

describe('new-current-uuid', () => {
  const base = { role: R.Secondary, hasDisk: true, agreedProtocol: 101, clearBitmap: false };
  it('StandAlone: Bitmap into history, then a new current UUID', () => {
    const r = newCurrentUuidCommand({ ...base, uuids: u('A0:B0:C0:D0'), conn: C.StandAlone }, seq(0xe0n));
    expect(r).toMatchObject({ ok: true, uuids: u('E0:A0:B0:C0'), clearBitmap: false, skipInitialSync: false });
    const clr = newCurrentUuidCommand({ ...base, uuids: u('A0:0:C0:D0'), conn: C.StandAlone, clearBitmap: true }, seq(0xe0n));
    expect(clr).toMatchObject({ ok: true, uuids: u('E0:A0:C0:D0'), clearBitmap: true });
  });
  it('refuses without a disk (138) and when connected without the skip conditions (151)', () => {
    expect(newCurrentUuidCommand({ ...base, hasDisk: false, uuids: createMdUuids(), conn: C.StandAlone }, never)).toEqual({
      ok: false,
      err: ERR.NoDiskConfig,
    });
    expect(newCurrentUuidCommand({ ...base, uuids: createMdUuids(), conn: C.Connected }, never)).toEqual({
      ok: false,
      err: ERR.NeedStandalone,
    });
    expect(
      newCurrentUuidCommand({ ...base, uuids: createMdUuids(), conn: C.Connected, clearBitmap: true, agreedProtocol: 89 }, never),
    ).toEqual({ ok: false, err: ERR.NeedStandalone });
    expect(
      newCurrentUuidCommand({ ...base, uuids: u('A0:0:0:0'), conn: C.WFConnection, clearBitmap: true }, never),
    ).toEqual({ ok: false, err: ERR.NeedStandalone });
  });
  it('skip initial sync: both sides end with the same Current, no Bitmap UUID, UpToDate', () => {
    const r = newCurrentUuidCommand({ ...base, uuids: createMdUuids(), conn: C.Connected, clearBitmap: true }, seq(0xabc0n));
    expect(r).toMatchObject({
      ok: true,
      uuids: u('ABC0:0:0:0'),
      sendUuids: u('ABC0:4:0:0'),
      skipInitialSync: true,
      clearBitmap: true,
    });
    if (!r.ok) return;
    expect(r.log).toEqual([
      'Preparing to skip initial sync',
      'new current UUID 000000000000ABC0:0000000000000004:0000000000000000:0000000000000000',
      'cleared bitmap UUID 000000000000ABC0:0000000000000000:0000000000000000:0000000000000000',
    ]);
    const peer = onSkipInitialSyncReceived({
      uuids: createMdUuids(),
      role: R.Secondary,
      conn: C.Connected,
      agreedProtocol: 101,
      peerUuids: r.sendUuids!,
      peerFlags: 8,
    });
    expect(peer).toEqual({
      uuids: u('ABC0:0:0:0'),
      log: ['Accepted new current UUID, preparing to skip initial sync'],
      clearBitmap: true,
      stateChange: { disk: D.UpToDate, pdsk: D.UpToDate },
    });
    expect(
      onSkipInitialSyncReceived({ uuids: createMdUuids(), role: R.Secondary, conn: C.Connected, agreedProtocol: 101, peerUuids: r.sendUuids!, peerFlags: 0 }),
    ).toBeUndefined();
    expect(
      onSkipInitialSyncReceived({ uuids: u('A0:0:0:0'), role: R.Secondary, conn: C.Connected, agreedProtocol: 101, peerUuids: r.sendUuids!, peerFlags: 8 }),
    ).toBeUndefined();
  });
  it('keeps history on the history index too', () => {
    expect(setUuid(u('A0:B0:C0:D0'), UI_HISTORY_START, 0xe0n, R.Secondary)).toEqual(u('A0:B0:E0:C0'));
  });
});
