// Typed wrapper over the native PeerLink: the two TCP sockets to the peer and everything that
// happens per packet. The control plane sees connection events and control packets only.
import type { Device } from './device.js';
import {
  native,
  type NativeLinkCounters,
  type NativeLinkEvent,
  type NativeLinkSettings,
  type NativePeerLink,
  type NativeResyncStatus,
} from './native.js';

export type LinkSettings = NativeLinkSettings;
export type LinkCounters = NativeLinkCounters;
export type ResyncStatus = NativeResyncStatus;
export type ResyncRole = 'source' | 'target';

export interface ResyncOptions {
  /** Largest resync request in bytes: the smaller of both sides' max_bio_size (P_SIZES), ≤ 1 MiB. */
  maxBioSize: number;
  /** csums-alg (the same on both sides; kernel crypto name, e.g. "md5", "sha1", "crc32c"); absent or "": none. */
  csumsAlg?: string;
}

/** Why a connection ended, as DRBD's connection state after it. */
export type LinkLoss = 'NetworkFailure' | 'BrokenPipe' | 'Timeout' | 'ProtocolError' | 'TearDown';

export type LinkEvent =
  | { type: 'connecting' }
  | { type: 'connected'; agreedProtocol: number; features: number; resolveConflicts: boolean }
  /** A control packet; for one from the data socket (meta false) call resumeReceive() when handled. */
  | { type: 'control'; cmd: number; payload: Buffer; meta: boolean }
  | { type: 'lost'; reason: LinkLoss }
  /** The link stopped for good (incompatible peer, failed authentication). */
  | { type: 'fatal'; reason: string }
  /** A kernel-style log line; level as pino's (30 info, 40 warn, 50 error). */
  | { type: 'log'; level: number; msg: string }
  /** The peer's whole bitmap was OR-ed into ours; bitsSet: our set bits after the merge. */
  | { type: 'bitmapReceived'; bitsSet: number }
  /** SyncTarget: nothing left to resync but failedBits failed blocks (emitted once per startResync). */
  | { type: 'resyncDone'; failedBits: number };

function toEvent(e: NativeLinkEvent): LinkEvent {
  switch (e.type) {
    case 'connecting':
      return { type: 'connecting' };
    case 'connected':
      return { type: 'connected', agreedProtocol: e.agreedProtocol ?? 0, features: e.features ?? 0, resolveConflicts: e.resolveConflicts === 1 };
    case 'control':
      return { type: 'control', cmd: e.cmd ?? -1, payload: e.payload ?? Buffer.alloc(0), meta: e.meta === 1 };
    case 'lost':
      return { type: 'lost', reason: (e.message ?? 'NetworkFailure') as LinkLoss };
    case 'fatal':
      return { type: 'fatal', reason: e.message ?? '' };
    case 'log':
      return { type: 'log', level: e.level ?? 30, msg: e.message ?? '' };
    case 'bitmapReceived':
      return { type: 'bitmapReceived', bitsSet: e.bitsSet ?? 0 };
    case 'resyncDone':
      return { type: 'resyncDone', failedBits: e.failedBits ?? 0 };
  }
}

export class PeerLink {
  private readonly link: NativePeerLink;

  constructor(device: Device, onEvents: (events: LinkEvent[]) => void) {
    this.link = new (native().PeerLink)(device.handle, (events) => {
      // An exception here would surface as an uncaught error on a native callback.
      try {
        onEvents(events.map(toEvent));
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    });
  }

  /** StandAlone → connecting: listen on our address and connect to the peer's, every connect-int. */
  start(settings: LinkSettings): void {
    for (const k of ['localPort', 'peerPort'] as const) {
      if (!Number.isInteger(settings[k]) || settings[k] < 1 || settings[k] > 65535) throw new RangeError(`${k} out of range: ${settings[k]}`);
    }
    this.link.start(settings);
  }

  /** Closes both sockets and stops; the link cannot be started again. */
  stop(): void {
    this.link.stop();
  }

  /** Ends the current connection; the link reconnects by itself. */
  dropConnection(reason: LinkLoss): void {
    this.link.dropConnection(reason);
  }

  resumeReceive(): void {
    this.link.resumeReceive();
  }

  /** Application writes go to the peer (Connected, peer disk ≥ Inconsistent). */
  setReplicating(on: boolean): void {
    this.link.setReplicating(on);
  }

  sendControl(cmd: number, payload: Buffer, onMeta: boolean): boolean {
    return this.link.sendControl(cmd, payload, onMeta);
  }

  counters(): LinkCounters {
    return this.link.counters();
  }

  /**
   * Sends the device's whole bitmap on the data socket, after everything queued before it:
   * P_COMPRESSED_BITMAP where run-length coding pays when useRle, else plain P_BITMAP chunks
   * and the empty terminator (spec/wire-protocol-84.md §9). False when not connected.
   */
  sendBitmap(useRle: boolean): boolean {
    return this.link.sendBitmap(useRle);
  }

  /**
   * Enters a sync state. Target: resets sect_in, rs_in_flight, failed blocks and the scan
   * position; requests come only from resyncTick. Source: the target's P_RS_WRITE_ACKs clear
   * our bits. Both: replicated writes carry DP_MAY_SET_IN_SYNC. An empty target resync emits
   * resyncDone at once.
   */
  startResync(role: ResyncRole, opts: ResyncOptions): void {
    if (role !== 'source' && role !== 'target') throw new RangeError(`resync role must be source or target, got ${String(role)}`);
    const m = opts.maxBioSize;
    if (!Number.isInteger(m) || m < 4096 || m > 1 << 20) throw new RangeError(`maxBioSize must be an integer in [4096, 1048576], got ${m}`);
    this.link.startResync(role, m, opts.csumsAlg ?? '');
  }

  /** Leaves the sync state (pause, done, disconnect): no new requests; outstanding ones complete. */
  stopResync(): void {
    this.link.stopResync();
  }

  /** SyncTarget, every 100 ms: requests up to nRequests 4 KiB blocks; returns the requests sent. */
  resyncTick(nRequests: number): number {
    if (!Number.isInteger(nRequests) || nRequests < 0) throw new RangeError(`nRequests must be a non-negative integer, got ${nRequests}`);
    return this.link.resyncTick(Math.min(nRequests, 0xffffffff));
  }

  /** Progress; sectIn counts since the previous call. */
  resyncStatus(): ResyncStatus {
    return this.link.resyncStatus();
  }
}
