// Peer-link settings for engine-level tests and benchmarks: two nodes on 127.0.0.x with
// DRBD's defaults, protocol C, a short connect interval.
import type { LinkSettings } from '../../src/engine/peer-link.js';

export function linkSettings(local: string, peer: string, port: number, extra: Partial<LinkSettings> = {}): LinkSettings {
  return {
    localAddress: local,
    localPort: port,
    peerAddress: peer,
    peerPort: port,
    protocol: 3,
    pingIntMs: 10_000,
    pingTimeoutMs: 500,
    timeoutMs: 6000,
    connectIntMs: 500,
    koCount: 7,
    maxEpochSize: 2048,
    sndbufSize: 0,
    rcvbufSize: 0,
    cramHmacAlg: '',
    sharedSecret: '',
    ...extra,
  };
}
