// The connection of a resource to its peer, as DRBD's receiver thread runs it: parameter
// exchange after the sockets are up (P_PROTOCOL, P_SYNC_PARAM89, P_SIZES, P_UUIDS, P_STATE),
// the resync handshake on the peer's first P_STATE, mirroring the peer's later states,
// cluster-wide state changes (P_STATE_CHG_REQ / P_CONN_ST_CHG_REQ and their replies), and
// what a lost connection means for the state. Packets per request stay in native code.
import type { DaemonCommandArgs } from './commands.js';
import { PeerLink, type LinkEvent, type LinkLoss, type LinkSettings } from '../engine/peer-link.js';
import type { Logger } from '../log.js';
import {
  ProtocolError,
  decodeControl,
  decodeStateChange,
  encodeControl,
  encodeStateChange,
  type ControlPacket,
  type Uuids as WireUuids,
} from '../protocol/index.js';
import {
  AfterSbPolicy,
  ConnState,
  DiskState,
  Role,
  RrConflictPolicy,
  SS,
  UUID_FLAG_CRASHED_PRIMARY,
  UUID_FLAG_DISCARD_MY_DATA,
  UUID_FLAG_INCONSISTENT,
  checkProtocolCompat,
  effectivePeerDisk,
  evaluatePeerRequest,
  isClusterWide,
  mirrorChange,
  WireProtocol,
  parseAfterSbPolicy,
  parseRrConflict,
  onResyncFinishedSource,
  onResyncFinishedTarget,
  onSyncStartAsSource,
  onSyncUuidReceived,
  onSkipInitialSyncReceived,
  ssText,
  syncHandshake,
  type DeviceState,
  type ProtocolSettings,
  type StateChange,
  type Uuids,
} from '../state/index.js';
import { randomUuid, type Volume } from './volume.js';
import { ResyncRun } from './resync.js';

/** How long a cluster-wide request waits for the peer's reply before counting as refused. */
const REPLY_TIMEOUT_MS = 10_000;

/** What `connect` configures: the daemon command's arguments without the resource name. */
export type ConnectSpec = Omit<DaemonCommandArgs['connect'], 'resource'>;

export interface ConnectionHooks {
  /** A handler requested by the handshake (split-brain, initial-split-brain, pri-lost...). */
  handler(name: string): void;
  /** The connection is gone for good (StandAlone): the resource drops it. */
  closed(): void;
}

/** drbd.conf's after-sb words (discard-node-NAME already resolved by the config module). */
function afterSb(word: string): AfterSbPolicy {
  const p = parseAfterSbPolicy(word, '');
  if (p === undefined) throw new Error(`unknown after-sb policy ${word}`);
  return p;
}

export class Connection {
  readonly link: PeerLink;
  agreedProtocol = 0;
  agreedFeatures = 0;
  resolveConflicts = false;
  /** Our first P_STATE of this connection went out and the handshake has not finished. */
  stateSent = false;
  private peerUuids: WireUuids | undefined;
  private discardMyData: boolean;
  private pending: { resolve: (code: number) => void; timer: NodeJS.Timeout } | undefined;
  private localChange = false;
  /** The peer's UUIDs changed while we are Inconsistent: handshake on its next P_STATE. */
  private considerResync = false;
  /** Stops the link of a StandAlone connection that waits for the peer to close first. */
  private lingerStop: (() => void) | undefined;
  private stopped = false;
  /** Gone StandAlone: the network configuration is discarded. */
  private closed = false;

  constructor(
    readonly volume: Volume,
    readonly spec: ConnectSpec,
    private readonly hooks: ConnectionHooks,
    private readonly log: Logger,
  ) {
    this.discardMyData = spec.discardMyData;
    const device = volume.device;
    if (!device) throw new Error('connect needs an attached disk in this version of udrbd');
    this.link = new PeerLink(device, (events) => this.onEvents(events));
  }

  private get minorPrefix(): string {
    return `block drbd${this.volume.minor}: `;
  }

  settings(): LinkSettings {
    const n = this.spec.net;
    return {
      localAddress: this.spec.local.ip,
      localPort: this.spec.local.port,
      peerAddress: this.spec.peer.ip,
      peerPort: this.spec.peer.port,
      protocol: ({ A: 1, B: 2, C: 3 } as const)[n.protocol],
      pingIntMs: n.pingIntSec * 1000,
      pingTimeoutMs: n.pingTimeoutDeciSec * 100,
      timeoutMs: n.timeoutDeciSec * 100,
      connectIntMs: n.connectIntSec * 1000,
      koCount: n.koCount,
      maxEpochSize: n.maxEpochSize,
      sndbufSize: n.sndbufSizeBytes,
      rcvbufSize: n.rcvbufSizeBytes,
      cramHmacAlg: n.cramHmacAlg ?? '',
      sharedSecret: n.sharedSecret ?? '',
    };
  }

  start(): void {
    this.link.start(this.settings());
  }

  stop(): void {
    this.failPending(SS.CwFailedByPeer);
    this.link.stop();
  }

  // ---------------------------------------------------------------- our packets

  private send(p: ControlPacket): void {
    const { command, payload } = encodeControl(p);
    const onMeta = p.type === 'P_STATE_CHG_REPLY' || p.type === 'P_CONN_ST_CHG_REPLY';
    this.link.sendControl(command, payload, onMeta);
  }

  private myProtocol(): ProtocolSettings {
    const n = this.spec.net;
    return {
      protocol: WireProtocol[n.protocol],
      afterSb0p: afterSb(n.afterSb0pri),
      afterSb1p: afterSb(n.afterSb1pri),
      afterSb2p: afterSb(n.afterSb2pri),
      discardMyData: this.discardMyData,
      dryRun: this.spec.dryRun,
      twoPrimaries: n.allowTwoPrimaries,
      integrityAlg: n.dataIntegrityAlg ?? '',
    };
  }

  sendUuids(extraFlags = 0n): void {
    const v = this.volume;
    v.uuidsUnsent = false;
    let flags = extraFlags;
    if (this.discardMyData) flags |= BigInt(UUID_FLAG_DISCARD_MY_DATA);
    if (v.crashedPrimary) flags |= BigInt(UUID_FLAG_CRASHED_PRIMARY);
    const disk = v.state.disk === DiskState.Negotiating ? (v.preNegotiation?.disk ?? v.state.disk) : v.state.disk;
    if (disk === DiskState.Inconsistent) flags |= BigInt(UUID_FLAG_INCONSISTENT);
    this.send({
      type: 'P_UUIDS',
      uuids: {
        current: v.uuids[0],
        bitmap: v.uuids[1],
        history: [v.uuids[2], v.uuids[3]],
        bitmapWeight: BigInt(v.bitsSet()),
        flags,
      },
    });
  }

  sendState(): void {
    this.send({ type: 'P_STATE', state: this.volume.state });
  }

  private sendParams(): void {
    const n = this.spec.net;
    const d = this.volume.attach?.diskOptions;
    this.send({ type: 'P_PROTOCOL', settings: this.myProtocol() });
    this.send({
      type: 'P_SYNC_PARAM89',
      params: {
        resyncRate: d?.resyncRateKiBps ?? 250,
        verifyAlg: n.verifyAlg ?? '',
        csumsAlg: n.csumsAlg ?? '',
        cPlanAhead: d?.cPlanAheadDeciSec ?? 20,
        cDelayTarget: d?.cDelayTargetDeciSec ?? 10,
        cFillTarget: d?.cFillTargetSectors ?? 100,
        cMaxRate: d?.cMaxRateKiBps ?? 102400,
      },
    });
    const usable = BigInt((this.volume.device?.usableSizeBytes ?? 0) / 512);
    this.send({
      type: 'P_SIZES',
      sizes: { dSize: usable, uSize: 0n, cSize: usable, maxBioSize: 1 << 20, queueOrderType: 0, ddsFlags: 0 },
    });
    this.sendUuids();
    this.sendState();
  }

  // ---------------------------------------------------------------- cluster-wide changes

  /**
   * A state change the peer must agree to first (states.md §2.5). Resolves to the SS code:
   * the peer's refusal comes back as SS_CW_FAILED_BY_PEER.
   */
  async request(change: StateChange, opts: { hard?: boolean } = {}): Promise<number> {
    const v = this.volume;
    // Evaluate locally first: a change we would refuse never goes to the peer.
    const local = v.evaluate(change, opts.hard ?? false);
    if (!local.ok) return v.change(change, { hard: opts.hard }).code;
    if (v.state.conn < ConnState.Connected || !isClusterWide(local.oldState, local.newState)) {
      return v.change(change, { hard: opts.hard }).code;
    }
    const connWide = change.conn !== undefined;
    const mv = encodeStateChange(change);
    this.localChange = true;
    try {
      const code = await new Promise<number>((resolve) => {
        const timer = setTimeout(() => this.failPending(SS.CwFailedByPeer), REPLY_TIMEOUT_MS);
        this.pending = { resolve, timer };
        this.send({ type: connWide ? 'P_CONN_ST_CHG_REQ' : 'P_STATE_CHG_REQ', request: mv });
      });
      if (code < SS.Success) {
        this.log.error(`${this.minorPrefix}State change failed: ${ssText(SS.CwFailedByPeer)}`);
        return SS.CwFailedByPeer;
      }
      const r = v.change(change, { hard: opts.hard, localOnly: true });
      if (r.ok && !connWide) this.sendState();
      return r.code;
    } finally {
      this.localChange = false;
    }
  }

  private stopResync(): void {
    const run = this.volume.resync;
    if (!run) return;
    this.volume.resync = undefined;
    run.stop();
  }

  private failPending(code: number): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(code);
  }

  // ---------------------------------------------------------------- events from the link

  private onEvents(events: LinkEvent[]): void {
    for (const e of events) {
      try {
        this.onEvent(e);
      } catch (err) {
        this.log.error({ err }, 'connection event failed');
        this.link.dropConnection('ProtocolError');
      }
    }
  }

  private onEvent(e: LinkEvent): void {
    const v = this.volume;
    // After StandAlone the link is being stopped: what it still reports is moot, except that
    // the peer closing ends a lingering connection at once.
    if (this.closed && e.type !== 'log') {
      if (e.type === 'control' && !e.meta) this.link.resumeReceive();
      if (e.type === 'lost' || e.type === 'connecting') setImmediate(() => this.lingerStop?.());
      return;
    }
    switch (e.type) {
      case 'log': {
        const msg = `drbd ${v.resource}: ${e.msg}`;
        if (e.level >= 50) this.log.error(msg);
        else if (e.level >= 40) this.log.warn(msg);
        else this.log.info(msg);
        return;
      }
      case 'connecting':
        if (v.state.conn !== ConnState.WFConnection) v.change({ conn: ConnState.WFConnection }, { hard: true, reason: 'network' });
        return;
      case 'connected':
        this.agreedProtocol = e.agreedProtocol;
        this.agreedFeatures = e.features;
        this.resolveConflicts = e.resolveConflicts;
        this.peerUuids = undefined;
        this.sendParams();
        this.stateSent = true;
        v.change({ conn: ConnState.WFReportParams }, { hard: true, reason: 'network' });
        return;
      case 'control':
        try {
          this.onControl(decodeControl(e.cmd, e.payload, { agreedFeatures: this.agreedFeatures }));
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          this.log.error(`drbd ${v.resource}: ${err.message}`);
          this.link.dropConnection('ProtocolError');
        } finally {
          if (!e.meta) this.link.resumeReceive();
        }
        return;
      case 'lost':
        this.onLost(e.reason);
        return;
      case 'fatal':
        this.log.error(`drbd ${v.resource}: ${e.reason}`);
        this.goStandAlone();
        return;
      case 'bitmapReceived':
        this.onBitmapReceived();
        return;
      case 'resyncDone':
        this.finishResyncTarget(e.failedBits);
        return;
    }
  }

  private onLost(reason: LinkLoss): void {
    const v = this.volume;
    this.stateSent = false;
    // An interrupted resync changes no UUID: the next handshake continues bitmap-based.
    this.stopResync();
    this.failPending(SS.CwFailedByPeer);
    if (v.state.conn === ConnState.StandAlone || v.state.conn === ConnState.Disconnecting) return;
    v.change({ conn: ConnState[reason] }, { hard: true, reason: 'network' });
    v.change({ conn: ConnState.Unconnected }, { hard: true, reason: 'network' });
  }

  /** Network configuration discarded: Disconnecting → StandAlone, the link stops. */
  goStandAlone(opts: { linger?: boolean } = {}): void {
    const v = this.volume;
    if (this.closed) return;
    this.closed = true;
    this.stopResync();
    this.stateSent = false;
    this.failPending(SS.CwFailedByPeer);
    if (v.state.conn !== ConnState.StandAlone) {
      v.change({ conn: ConnState.Disconnecting }, { hard: true, reason: 'network' });
      v.change({ conn: ConnState.StandAlone }, { hard: true, reason: 'network' });
    }
    // Stopping joins native threads; never from inside their callbacks' call stack.
    // StandAlone means no net config: the resource forgets this connection now (a new
    // `connect` may follow at once); only the old sockets may linger below.
    this.hooks.closed();
    const stop = () => {
      if (this.stopped) return;
      this.stopped = true;
      this.link.stop();
    };
    if (!opts.linger) {
      setImmediate(stop);
      return;
    }
    // After a failed handshake the peer is still reading what we sent and will reach its own
    // verdict (a kernel peer drops the connection as a plain network failure if we close
    // first): wait for it to close, or a few ping-timeouts at most.
    this.lingerStop = stop;
    setTimeout(stop, Math.max(1000, 3 * this.spec.net.pingTimeoutDeciSec * 100));
  }

  private onControl(p: ControlPacket): void {
    const v = this.volume;
    switch (p.type) {
      case 'P_PROTOCOL':
      case 'P_PROTOCOL_UPDATE': {
        const err = checkProtocolCompat(this.myProtocol(), p.settings);
        if (err) {
          this.log.error(`drbd ${v.resource}: ${err}`);
          this.goStandAlone();
        }
        return;
      }
      case 'P_SYNC_PARAM89': {
        const n = this.spec.net;
        for (const [what, me, peer] of [
          ['verify-alg', n.verifyAlg ?? '', p.params.verifyAlg],
          ['csums-alg', n.csumsAlg ?? '', p.params.csumsAlg],
        ] as const) {
          if (me !== peer && me !== '' && peer !== '') {
            this.log.error(`drbd ${v.resource}: Different ${what} settings. me="${me}" peer="${peer}"`);
            this.goStandAlone();
            return;
          }
        }
        return;
      }
      case 'P_SIZES': {
        const mine = BigInt((v.device?.usableSizeBytes ?? 0) / 512);
        if (p.sizes.dSize !== 0n && p.sizes.dSize < mine) {
          // The exported device keeps its size while attached: a smaller peer cannot hold it.
          this.log.error(`${this.minorPrefix}The peer's disk size is too small! (${p.sizes.dSize} < ${mine} sectors)`);
          this.goStandAlone();
        }
        return;
      }
      case 'P_UUIDS':
        this.onPeerUuids(p.uuids);
        return;
      case 'P_STATE':
        this.onPeerState(p.state);
        return;
      case 'P_STATE_CHG_REQ':
      case 'P_CONN_ST_CHG_REQ':
        this.onPeerRequest(p.type, decodeStateChange(p.request));
        return;
      case 'P_STATE_CHG_REPLY':
      case 'P_CONN_ST_CHG_REPLY':
        this.failPending(p.retcode);
        return;
      case 'P_SYNC_UUID':
        this.onSyncUuid(p.uuid);
        return;
    }
  }

  private onPeerUuids(u: WireUuids): void {
    const v = this.volume;
    // The peer ran `new-current-uuid --clear-bitmap` on a fresh pair: both skip the initial
    // sync and are UpToDate (handshake-and-split-brain.md §2).
    const skip = onSkipInitialSyncReceived({
      uuids: v.uuids,
      role: v.state.role,
      conn: v.state.conn,
      agreedProtocol: this.agreedProtocol,
      peerUuids: [u.current, u.bitmap, u.history[0], u.history[1]],
      peerFlags: Number(u.flags),
    });
    if (skip) {
      this.peerUuids = u;
      v.setUuids(skip.uuids, skip.log);
      v.device?.bitmap.clearAll();
      void v.device?.bitmap.flush();
      v.device?.setAlSuspended(false);
      v.change(skip.stateChange, { hard: true, reason: 'peer' });
      return;
    }
    // A new generation from the peer while we hold no good data (it was forced Primary):
    // the next P_STATE runs the resync handshake again (DRBD's CONSIDER_RESYNC).
    if (v.state.conn === ConnState.Connected && v.state.disk === DiskState.Inconsistent && this.peerUuids && this.peerUuids.current !== u.current) {
      this.considerResync = true;
    }
    this.peerUuids = u;
  }

  private onPeerRequest(type: 'P_STATE_CHG_REQ' | 'P_CONN_ST_CHG_REQ', peerChange: StateChange): void {
    const v = this.volume;
    const verdict = evaluatePeerRequest(v.state, peerChange, {
      ctx: v.ctx(),
      resolveConflicts: this.resolveConflicts,
      localChangeInProgress: this.localChange,
    });
    this.send({ type: type === 'P_STATE_CHG_REQ' ? 'P_STATE_CHG_REPLY' : 'P_CONN_ST_CHG_REPLY', retcode: verdict.replyCode });
    const r = verdict.result;
    if (!r || !r.ok) return;
    if (r.newState.conn === ConnState.TearDown) {
      // The peer disconnects: both close the sockets; we go back to waiting for it.
      v.change({ conn: ConnState.TearDown }, { hard: true, reason: 'peer' });
      this.link.dropConnection('TearDown');
      return;
    }
    // Applied as evaluated: in our view (role↔peer, disk↔pdsk swapped).
    v.change(mirrorChange(peerChange), { hard: true, localOnly: true, reason: 'peer' });
    this.sendState();
  }

  private onPeerState(peer: DeviceState): void {
    const v = this.volume;
    const peerFlags = Number(this.peerUuids?.flags ?? 0n);
    const pdsk = effectivePeerDisk(peer.disk, peerFlags);
    // The handshake runs on a new connection, and again when the peer changed generation
    // while we hold no good data (handshake-and-split-brain.md §4, receive_state).
    // ... and when the peer, from Connected, enters StartingSyncS..WFBitMapT (its own
    // handshake decided a sync, or invalidate / invalidate-remote).
    const peerStartsSync = v.state.conn === ConnState.Connected && peer.conn >= ConnState.StartingSyncS && peer.conn <= ConnState.WFBitMapT;
    if (v.state.conn === ConnState.WFReportParams || this.considerResync || peerStartsSync) {
      this.considerResync = false;
      this.handshake(peer.role, pdsk, peerFlags);
      return;
    }
    if (v.resync?.role === 'source' && peer.conn === ConnState.Connected && peer.disk === DiskState.UpToDate) {
      this.finishResyncSource();
      return;
    }
    v.change({ peer: peer.role, pdsk, peerIsp: peer.aftrIsp || peer.userIsp }, { hard: true, reason: 'peer' });
  }

  /** The resync handshake on the peer's first P_STATE (handshake-and-split-brain.md §4). */
  private handshake(peerRole: Role, peerDisk: DiskState, peerFlags: number): void {
    const v = this.volume;
    const pu = this.peerUuids;
    if (!pu) {
      this.log.error(`drbd ${v.resource}: P_STATE before P_UUIDS`);
      this.link.dropConnection('ProtocolError');
      return;
    }
    const n = this.spec.net;
    const peer: Uuids = [pu.current, pu.bitmap, pu.history[0], pu.history[1]];
    const r = syncHandshake({
      self: v.uuids,
      peer,
      selfBits: BigInt(v.bitsSet()),
      peerBits: pu.bitmapWeight,
      peerFlags,
      selfCrashedPrimary: v.crashedPrimary,
      role: v.state.role,
      peerRole,
      agreedProtocol: this.agreedProtocol,
      agreedFeatures: this.agreedFeatures,
      resolveConflicts: this.resolveConflicts,
      disk: v.state.disk,
      ...(v.preNegotiation ? { negotiatedDisk: v.preNegotiation.disk } : {}),
      peerDisk,
      net: {
        afterSb0p: afterSb(n.afterSb0pri),
        afterSb1p: afterSb(n.afterSb1pri),
        afterSb2p: afterSb(n.afterSb2pri),
        rrConflict: parseRrConflict(n.rrConflict) ?? RrConflictPolicy.Disconnect,
        alwaysAsbp: n.alwaysAsbp,
        discardMyData: this.discardMyData,
        dryRun: this.spec.dryRun,
      },
      tryDemote: () => v.change({ role: Role.Secondary }).ok,
    });
    for (const ev of r.events) {
      if (ev.kind === 'handler') this.hooks.handler(ev.name);
      else if (ev.level === 'info') this.log.info(`${this.minorPrefix}${ev.text}`);
      else if (ev.level === 'warn') this.log.warn(`${this.minorPrefix}${ev.text}`);
      else this.log.error(`${this.minorPrefix}${ev.text}`);
    }
    // discard-my-data is one-shot: it applies to this handshake only.
    this.discardMyData = false;
    if (r.conn === undefined) {
      this.goStandAlone({ linger: true });
      return;
    }
    v.setUuids(r.self, []);
    this.stateSent = false;
    const negotiated = v.state.disk === DiskState.Negotiating && v.preNegotiation ? { disk: v.preNegotiation.disk } : {};
    v.preNegotiation = undefined;
    if (r.conn === ConnState.Connected) {
      v.change({ conn: ConnState.Connected, peer: peerRole, pdsk: peerDisk, ...negotiated }, { hard: true, reason: 'network' });
      this.sendState();
      return;
    }
    if (r.fullSync) {
      // Writing the whole bitmap: every block goes over (handshake step 10).
      v.device?.bitmap.setAll();
      void v.device?.bitmap.flush();
    }
    // The future SyncSource sends its bitmap first; the SyncTarget answers with the merge
    // (wire-protocol-84.md §9).
    v.change({ conn: r.conn, peer: peerRole, pdsk: peerDisk, ...negotiated }, { hard: true, reason: 'network' });
    this.sendState();
    if (r.conn === ConnState.WFBitMapS) this.link.sendBitmap(this.spec.net.useRle);
  }

  /** The peer's bitmap is merged into ours: the next step of the exchange (§9). */
  private onBitmapReceived(): void {
    const v = this.volume;
    if (v.state.conn === ConnState.WFBitMapT) {
      this.link.sendBitmap(this.spec.net.useRle);
      v.change({ conn: ConnState.WFSyncUUID }, { hard: true, reason: 'network' });
      return;
    }
    if (v.state.conn === ConnState.WFBitMapS) {
      // SyncSource: a new sync UUID names this resync (handshake-and-split-brain.md §2).
      const r = onSyncStartAsSource(v.uuids, v.state.role, randomUuid);
      v.setUuids(r.uuids, r.log);
      this.send({ type: 'P_SYNC_UUID', uuid: r.syncUuid });
      this.beginResync('source');
    }
  }

  /** SyncTarget: the source's sync UUID arrived; data starts to move. */
  private onSyncUuid(uuid: bigint): void {
    const v = this.volume;
    if (v.state.conn !== ConnState.WFSyncUUID) {
      this.log.error(`${this.minorPrefix}unexpected P_SYNC_UUID in ${ConnState[v.state.conn]}`);
      this.link.dropConnection('ProtocolError');
      return;
    }
    const r = onSyncUuidReceived(v.uuids, uuid, v.state.role);
    v.setUuids(r.uuids, r.log);
    this.beginResync('target');
  }

  private beginResync(role: 'source' | 'target'): void {
    const v = this.volume;
    const dev = v.device;
    const disk = v.attach?.diskOptions;
    if (!dev || !disk) return;
    const bits = dev.bitmap.countSet();
    v.resync = new ResyncRun(role, bits, this.link, disk, this.spec.net);
    v.change({ conn: role === 'source' ? ConnState.SyncSource : ConnState.SyncTarget }, { hard: true, reason: 'network' });
    this.log.info(`${this.minorPrefix}Began resync as ${role === 'source' ? 'SyncSource' : 'SyncTarget'} (will sync ${bits * 4} KB [${bits} bits set]).`);
    // A SyncTarget reads not-yet-synced blocks from the peer meanwhile.
    v.updatePolicy();
    v.resync.start();
    if (bits === 0 && role === 'target') this.finishResyncTarget(0);
  }

  /** SyncTarget finished: take the source's generation, UpToDate, tell the peer. */
  private finishResyncTarget(failedBits: number): void {
    const v = this.volume;
    const run = v.resync;
    if (!run) return;
    run.stop();
    v.resync = undefined;
    this.log.info(`${this.minorPrefix}${run.doneLine(Date.now())}`);
    void v.device?.bitmap.flush();
    if (failedBits > 0) {
      // Failed blocks: no UUID change, the target stays Inconsistent (resync.md §3 step 7).
      this.log.warn(`${this.minorPrefix}            ${failedBits} failed blocks`);
      v.change({ conn: ConnState.Connected }, { hard: true, reason: 'network' });
      this.sendState();
      return;
    }
    const pu = this.peerUuids;
    const peer: Uuids = pu ? [pu.current, pu.bitmap, pu.history[0], pu.history[1]] : v.uuids;
    const r = onResyncFinishedTarget(v.uuids, peer, v.state.role);
    v.setUuids(r.uuids, r.log);
    v.change({ conn: ConnState.Connected, disk: DiskState.UpToDate, pdsk: DiskState.UpToDate }, { hard: true, reason: 'network' });
    this.sendUuids();
    this.sendState();
    this.hooks.handler('after-resync-target');
  }

  /** SyncSource: the target said Connected UpToDate — the resync is over here too. */
  private finishResyncSource(): void {
    const v = this.volume;
    const run = v.resync;
    if (!run) return;
    run.stop();
    v.resync = undefined;
    this.log.info(`${this.minorPrefix}${run.doneLine(Date.now())}`);
    const r = onResyncFinishedSource(v.uuids);
    v.setUuids(r.uuids, r.log);
    void v.device?.bitmap.flush();
    v.change({ conn: ConnState.Connected, pdsk: DiskState.UpToDate }, { hard: true, reason: 'network' });
  }
}
