// Typed wrapper over the native PeerLink: the two TCP sockets to the peer and everything that
// happens per packet. The control plane sees connection events and control packets only.
import type { Device } from './device.js';
import { native, type NativeLinkCounters, type NativeLinkEvent, type NativeLinkSettings, type NativePeerLink } from './native.js';

export type LinkSettings = NativeLinkSettings;
export type LinkCounters = NativeLinkCounters;

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
  | { type: 'log'; level: number; msg: string };

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
}
