// One minor of a resource (DRBD's "device"): its state word, UUID set, meta-data flags, the
// native request path with its NBD export, and every state change of it. A state change is
// one request validated by src/state, then applied at once here: log line, UUID and meta-data
// updates, the native policy, handlers, and the P_STATE to the peer.
import { randomBytes } from 'node:crypto';
import type { MetaDisk } from '../config/model.js';
import type { DiskOptions } from '../config/resolve.js';
import { Device } from '../engine/device.js';
import { MetaDataStore } from '../engine/metadata-store.js';
import { native } from '../engine/native.js';
import type { ResyncRun } from './resync.js';
import type { BlockDeviceHandle } from './blockdev/index.js';
import type { Logger } from '../log.js';
import {
  ConnState,
  DiskState,
  FencingPolicy,
  OnNoDataAccessible,
  Role,
  SS,
  attachDiskState,
  crashedPrimaryAfter,
  initialState,
  mdFlagsForState,
  onDemote,
  onLostPeerData,
  onPeerPromotedDiskless,
  onPromote,
  requestStateChange,
  type DeviceState,
  type StateChange,
  type StateChangeResult,
  type StateContext,
  type Uuids,
} from '../state/index.js';
import { MD_MAGIC_84_UNCLEAN } from '../meta/constants.js';

/** A fresh random UUID for new_current (bit 0 is set per role by src/state). */
export function randomUuid(): bigint {
  return randomBytes(8).readBigUInt64BE();
}

export interface VolumeHooks {
  /** The state changed: send P_STATE if the peer should hear of it, refresh the status file. */
  changed(v: Volume, old: DeviceState, reason: 'local' | 'peer' | 'network'): void;
  /** A handler to run (pri-on-incon-degr, fence-peer...). */
  handler(v: Volume, name: 'pri-on-incon-degr' | 'fence-peer'): void;
  /** Context values that belong to the resource/connection. */
  context(): Pick<StateContext, 'hasNetConfig' | 'allowTwoPrimaries' | 'agreedProtocol' | 'stateSent' | 'verifyAlg'>;
}

export interface AttachSpec {
  disk: string;
  metaDisk: MetaDisk;
  diskOptions: DiskOptions;
  nbdSocketPath: string;
}

export class Volume {
  state: DeviceState = initialState();
  uuids: Uuids = [0n, 0n, 0n, 0n];
  mdFlags = 0;
  /** The UUIDs changed since the peer last heard them: P_UUIDS goes before the next P_STATE. */
  uuidsUnsent = false;
  crashedPrimary = false;
  /** PRIMARY_IND without CONNECTED_IND at attach: wait-connect uses degr-wfc-timeout. */
  useDegrWfc = false;
  device: Device | undefined;
  meta: MetaDataStore | undefined;
  attach: AttachSpec | undefined;
  /** The disk state an attach while Connected settles on after the handshake. */
  preNegotiation: StateContext['preNegotiation'];
  /** The resync in progress (SyncSource / SyncTarget), for its controller and the status bar. */
  resync: ResyncRun | undefined;
  /** /dev/drbdN while Primary. */
  blockdev: BlockDeviceHandle | undefined;
  /** Openers of /dev/drbdN (the block-device layer reports them). */
  openCount = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly resource: string,
    readonly minor: number,
    readonly vnr: number,
    readonly devicePath: string,
    private readonly hooks: VolumeHooks,
    readonly log: Logger,
  ) {}

  ctx(): StateContext {
    const o = this.attach?.diskOptions;
    return {
      ...this.hooks.context(),
      otherVolumePeerPrimary: false,
      fencing: fencingOf(o?.fencing),
      openCount: this.openCount,
      onNoDataAccessible: OnNoDataAccessible.IoError,
      ...(this.preNegotiation ? { preNegotiation: this.preNegotiation } : {}),
    };
  }

  /** Resolves at the next state change (wait-connect and friends poll the state on each). */
  nextChange(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  /** What a change would give, without applying it. */
  evaluate(change: StateChange, hard: boolean): StateChangeResult {
    return requestStateChange(this.state, change, { ctx: this.ctx(), hard });
  }

  /**
   * Requests a state change and applies it when allowed. Cluster-wide changes must have been
   * agreed with the peer by the caller (Connection.request) before `localOnly` is passed.
   */
  change(change: StateChange, opts: { hard?: boolean; localOnly?: boolean; reason?: 'local' | 'peer' | 'network' } = {}): StateChangeResult {
    const r = requestStateChange(this.state, change, { ctx: this.ctx(), hard: opts.hard, localOnly: opts.localOnly });
    if (!r.ok) {
      for (const l of r.logLines) this.log.error(`block drbd${this.minor}: ${l}`);
      return r;
    }
    if (r.code === SS.NothingToDo) return r;
    this.apply(r.oldState, r.newState, r.warnings, r.logLine, r.sideEffects, opts.reason ?? 'local');
    return r;
  }

  private apply(
    os: DeviceState,
    ns: DeviceState,
    warnings: string[],
    logLine: string,
    effects: Extract<StateChangeResult, { ok: true }>['sideEffects'],
    reason: 'local' | 'peer' | 'network',
  ): void {
    for (const w of warnings) this.log.warn(`block drbd${this.minor}: ${w}`);
    if (logLine) this.log.info(`block drbd${this.minor}: ${logLine}`);
    this.state = ns;
    for (const e of effects) {
      switch (e.kind) {
        case 'promoted': {
          // `primary --force` raises the disk to UpToDate in the same change: that promotion
          // always starts a new data generation (handshake-and-split-brain.md §2).
          const forced = os.disk < DiskState.UpToDate && ns.disk === DiskState.UpToDate;
          const r = onPromote(this.uuids, { forced, conn: ns.conn, pdsk: ns.pdsk }, randomUuid);
          this.setUuids(r.uuids, r.log);
          break;
        }
        case 'demoted':
          this.setUuids(onDemote(this.uuids).uuids, []);
          void this.device?.bitmap.flush();
          break;
        case 'lost-peer-data': {
          // The roles after the change count (DRBD's after_state_ch): a Secondary that lost its
          // Primary peer sees peer Unknown here and keeps its generation.
          const r = onLostPeerData(this.uuids, { role: ns.role, peer: ns.peer, disk: ns.disk, ioSuspended: ns.susp || ns.suspFen || ns.suspNod }, randomUuid);
          if (!r.deferred) this.setUuids(r.uuids, r.log);
          break;
        }
        case 'peer-promoted-diskless': {
          const r = onPeerPromotedDiskless(this.uuids, { role: ns.role, disk: ns.disk }, randomUuid);
          this.setUuids(r.uuids, r.log);
          break;
        }
        case 'handler':
          this.hooks.handler(this, e.name);
          break;
      }
    }
    this.crashedPrimary = crashedPrimaryAfter(this.crashedPrimary, ns);
    this.persistFlags();
    this.updatePolicy();
    this.hooks.changed(this, os, reason);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** UUID changes go to the meta-data at once (DRBD writes them synchronously too). */
  setUuids(u: Uuids, log: readonly string[]): void {
    for (const l of log) this.log.info(`block drbd${this.minor}: ${l}`);
    this.uuidsUnsent = true;
    this.uuids = u;
    this.meta?.writeUuids({ current: u[0], bitmap: u[1], history: [u[2], u[3]] });
  }

  private persistFlags(): void {
    if (!this.meta) return;
    const f = mdFlagsForState(this.mdFlags, this.state, this.crashedPrimary);
    if (f === undefined || f === this.mdFlags) return;
    this.mdFlags = f;
    // The 8.4 kernel writes the "unclean" magic while attached; apply-al makes it clean again.
    this.meta.writeFlags(f, MD_MAGIC_84_UNCLEAN);
  }

  /** The native request path's view of the state: one call per state change. */
  updatePolicy(): void {
    if (!this.device) return;
    const s = this.state;
    const primary = s.role === Role.Primary;
    const goodData = s.disk === DiskState.UpToDate || (s.conn >= ConnState.Connected && s.pdsk === DiskState.UpToDate);
    const replicating = s.conn >= ConnState.Connected && s.pdsk >= DiskState.Inconsistent;
    this.device.setPolicy({
      primary,
      writable: primary && goodData && !(s.susp || s.suspFen || s.suspNod),
      diskUsable: s.disk >= DiskState.Inconsistent,
      markOutOfSync: !replicating,
      // A SyncTarget's not-yet-synced blocks are read from the peer (replication-protocol §1).
      readFromPeerIfOutOfSync: s.conn === ConnState.SyncTarget || s.conn === ConnState.PausedSyncT,
    });
  }

  /** Bits set in the bitmap (P_UUIDS' bitmap weight, /proc/drbd oos). */
  bitsSet(): number {
    return this.device?.bitmap.countSet() ?? 0;
  }

  /**
   * drbdsetup attach: read and check the meta-data, open the request path and its NBD export,
   * decide the disk state from the flags (states.md §3), and mark the meta-data as in use.
   */
  async doAttach(spec: AttachSpec): Promise<StateChangeResult> {
    const meta = MetaDataStore.open({ minor: this.minor, diskPath: spec.disk, metaDisk: spec.metaDisk }, { writable: true });
    let device: Device;
    try {
      const sb = meta.readSuperblock();
      const layout = meta.layout;
      const usableSect = usableSectors(spec, layout.maxUsableSect);
      // The first attach after create-md (la_size 0) grows the device from nothing: every
      // bit of it is out of sync (resync.md §2).
      const firstAttach = sb.laSizeSect === 0;
      device = await Device.create({
        backingPath: spec.disk,
        usableSizeBytes: usableSect * 512,
        bitmapOffsetBytes: layout.bmStartBytes,
        bitmapBits: Math.ceil(usableSect / 8),
        nbdSocketPath: spec.nbdSocketPath,
        activityLog: { extents: spec.diskOptions.alExtents, offsetBytes: layout.alStartBytes },
      });
      if (firstAttach) device.bitmap.setAll();
      // AL_SUSPENDED while every bit is set anyway (proc-drbd.md §2.2, 6th flag).
      device.setAlSuspended(device.bitmap.countSet() === Math.ceil(usableSect / 8));
      this.uuids = [sb.uuids.current, sb.uuids.bitmap, sb.uuids.history[0], sb.uuids.history[1]];
      this.mdFlags = sb.flags;
      if (firstAttach) {
        meta.writeSuperblock({ ...sb, laSizeSect: usableSect, alNrExtents: spec.diskOptions.alExtents, magic: MD_MAGIC_84_UNCLEAN });
        await device.bitmap.flush();
      }
    } catch (e) {
      meta.close();
      throw e;
    }
    this.meta = meta;
    this.device = device;
    this.attach = spec;
    const d = attachDiskState({ mdFlags: this.mdFlags, fencing: fencingOf(spec.diskOptions.fencing), conn: this.state.conn });
    this.crashedPrimary = d.crashedPrimary;
    this.useDegrWfc = d.useDegrWfc;
    if (d.negotiating) this.preNegotiation = { disk: d.settled.disk, pdsk: d.settled.pdsk ?? this.state.pdsk };
    this.change({ disk: DiskState.Attaching }, { hard: true });
    return this.change(d.change, { hard: true });
  }

  /** Releases the request path and the meta-data (after the disk went Diskless). */
  async release(): Promise<void> {
    const dev = this.device;
    this.device = undefined;
    if (dev) await dev.close();
    this.meta?.flush();
    this.meta?.close();
    this.meta = undefined;
    this.attach = undefined;
  }
}

/**
 * The DRBD device's size in sectors: internal meta-data ends the data area; with external
 * meta-data the whole backing device is data, as far as the bitmap area can describe it.
 */
function usableSectors(spec: AttachSpec, maxUsableSect: number): number {
  if (spec.metaDisk.kind === 'internal') return maxUsableSect;
  const bs = new (native().BackingStore)(spec.disk, false, false);
  try {
    return Math.min(Math.floor(bs.sizeBytes / 4096) * 8, maxUsableSect);
  } finally {
    bs.close();
  }
}

export function fencingOf(v: string | undefined): FencingPolicy {
  if (v === 'resource-only') return FencingPolicy.ResourceOnly;
  if (v === 'resource-and-stonith') return FencingPolicy.ResourceAndStonith;
  return FencingPolicy.DontCare;
}
