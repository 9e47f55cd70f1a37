// The only place that loads the native addon (see DESIGN.md: src/engine is the boundary).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Synchronous positioned I/O on a backing file or block device (offline tools). */
export interface NativeBackingStore {
  readonly sizeBytes: number;
  readonly isBlockDevice: boolean;
  readAt(offset: number, length: number): Buffer;
  writeAt(offset: number, data: Buffer): void;
  flush(): void;
  close(): void;
}

/** A bitmap transfer packet (P_BITMAP 0x04 or P_COMPRESSED_BITMAP 0x24) without its header. */
export interface NativeBitmapPacket {
  command: number;
  payload: Buffer;
}

export interface NativeFeatures {
  protocolMin: number;
  featureFlags: number;
  protocolMax: number;
}

/**
 * Decoded data-path packet (native/wire.*). u64 fields are bigint; blockId (8 bytes) and barrier
 * (4 bytes) are the raw wire bytes, to be echoed unchanged. Which fields are present depends on
 * the command (p_data, p_block_req, p_block_ack, ...; see native/wire_binding.cc).
 */
export interface NativeWirePacket {
  sector?: bigint;
  blockId?: Buffer;
  seqNum?: number;
  dpFlags?: number;
  blksize?: number;
  /** p_block_req pad: not always 0 from a kernel (P_OV_REQUEST: 0x82); echoed for exact re-encoding, never interpreted */
  pad?: number;
  digest?: Buffer;
  data?: Buffer;
  barrier?: Buffer;
  setSize?: number;
  size?: number;
  offset?: number;
  protocolMin?: number;
  featureFlags?: number;
  protocolMax?: number;
  challenge?: Buffer;
  response?: Buffer;
  words?: Buffer;
  firstSet?: boolean;
  runs?: number[];
}

/**
 * The native wire codec. Errors are thrown as Error with `code` = ERR_WIRE_MAGIC,
 * ERR_WIRE_PADDING, ERR_WIRE_LENGTH, ERR_WIRE_COMMAND, ERR_WIRE_INCOMPATIBLE, ERR_WIRE_AUTH,
 * ERR_WIRE_BITMAP, ERR_WIRE_ALGORITHM or ERR_WIRE_ARGUMENT.
 */
export interface NativeWire {
  /** 16 at agreed >= 100, else 8 (agreed is 80 before the feature exchange). */
  headerSize(agreed: number): number;
  encodeHeader(agreed: number, command: number, length: number, volume?: number): Buffer;
  decodeHeader(agreed: number, header: Buffer): { command: number; volume: number; length: number };
  commandName(command: number): string;
  /** Exact meta-socket payload size, -1 if the command does not belong on the meta socket. */
  metaPayloadSize(command: number): number;
  /** Exact payload size (P_SIZES by features), -1 variable, -2 unknown command. */
  fixedPayloadSize(command: number, agreedFeatures?: number): number;
  /** The receiver's length check; throws ERR_WIRE_LENGTH / ERR_WIRE_COMMAND. */
  checkPayloadSize(command: number, size: number, sock: 'data' | 'meta', agreedFeatures?: number, digestSize?: number): void;
  negotiate(mine: NativeFeatures, peer: NativeFeatures): { version: number; features: number };
  /** digestSize: integrity digest in P_DATA* (default 0); csums/verify digest in P_CSUM_RS_REQUEST/P_OV_REPLY (default: the rest). */
  decodePacket(command: number, payload: Buffer, digestSize?: number): NativeWirePacket;
  encodePacket(command: number, fields?: NativeWirePacket): Buffer;
  makeChallenge(): Buffer;
  checkPeerChallenge(peerChallenge: Buffer, ownChallenge: Buffer): void;
  authResponse(alg: string, secret: string, peerChallenge: Buffer): Buffer;
  verifyAuthResponse(alg: string, secret: string, ownChallenge: Buffer, response: Buffer): boolean;
  /** Kernel crypto name: "crc32c" (own implementation, little-endian result) or any OpenSSL digest. */
  digest(alg: string, data: Buffer): Buffer;
  digestSize(alg: string): number;
  hmac(alg: string, key: Buffer, data: Buffer): Buffer;
  crc32c(data: Buffer, crc?: number): number;
  /** bits: the bitmap LSB-first (bit i = byte i/8, bit i%8). */
  encodeBitmap(bits: Buffer, nbits: number, useRle: boolean): NativeBitmapPacket[];
  /** Decodes one complete transfer; returns ceil(nbits/64) little-endian words. */
  decodeBitmapPackets(packets: NativeBitmapPacket[], nbits: number): Buffer;
}

/** Options of `new Device(...)`, fully normalised by src/engine/device.ts (C++ only reads them). */
export interface NativeDeviceConfig {
  backingPath: string;
  usableSizeBytes: number;
  bitmapOffsetBytes: number;
  bitmapBits: number;
  ioThreads: number;
  /** 0 = no activity log. */
  alExtents: number;
  alOffsetBytes: number;
  nbdSocketPath: string; // '' = none
  nbdTcpHost: string; // '' = none
  nbdTcpPort: number; // 0 = ephemeral
  exportName: string;
  workersPerClient: number;
  devicePool: boolean;
  maxInflightPerClient: number;
  maxClients: number;
}

export interface NativeDevicePolicy {
  primary: boolean;
  writable: boolean;
  diskUsable: boolean;
  markOutOfSync: boolean;
  /** SyncTarget: reads touching out-of-sync blocks go to the peer (P_DATA_REQUEST). */
  readFromPeerIfOutOfSync?: boolean;
}

/** The counter line of /proc/drbd (spec/proc-drbd.md §2.3): KiB for ns/nr/dw/dr/oos, else counts. */
export interface NativeDeviceCounters {
  ns: number;
  nr: number;
  dw: number;
  dr: number;
  al: number;
  bm: number;
  lo: number;
  pe: number;
  ua: number;
  ap: number;
  ep: number;
  oos: number;
  /** Activity-log updates suspended (the 6th /proc/drbd flag). */
  alSuspended: boolean;
}

export interface NativeDeviceEvent {
  type: 'clientConnected' | 'clientDisconnected' | 'ioError' | 'nbdError' | 'eventsDropped';
  client?: number;
  errno?: number;
  offset?: number;
  length?: number;
  message?: string;
  count?: number;
}

/** One minor's request path and NBD frontend (native/device_wrap.cc). */
export interface NativeDevice {
  open(): Promise<{ tcpPort: number }>;
  setPolicy(policy: NativeDevicePolicy): void;
  counters(): NativeDeviceCounters;
  clients(): number;
  bitmapCountSet(): number;
  bitmapSetAll(): void;
  bitmapClearAll(): void;
  bitmapSetRange(offsetBytes: number, lengthBytes: number): number;
  bitmapClearRange(offsetBytes: number, lengthBytes: number): number;
  bitmapTest(bit: number): boolean;
  bitmapFindNextSet(fromBit: number): number;
  bitmapDirtyPages(): number;
  flushBitmap(): Promise<number>;
  setAlSuspended(suspended: boolean): void;
  close(): Promise<void>;
}

/** Settings of `PeerLink.start`, normalised by src/engine/peer-link.ts. */
export interface NativeLinkSettings {
  localAddress: string;
  localPort: number;
  peerAddress: string;
  peerPort: number;
  protocol: 1 | 2 | 3;
  pingIntMs: number;
  pingTimeoutMs: number;
  timeoutMs: number;
  connectIntMs: number;
  koCount: number;
  maxEpochSize: number;
  sndbufSize: number;
  rcvbufSize: number;
  cramHmacAlg: string;
  sharedSecret: string;
}

/** A peer-link event as the native queue delivers it (numbers and a payload by event type). */
export interface NativeLinkEvent {
  type: 'connecting' | 'connected' | 'control' | 'lost' | 'fatal' | 'log' | 'bitmapReceived' | 'resyncDone';
  message?: string;
  agreedProtocol?: number;
  features?: number;
  resolveConflicts?: number;
  cmd?: number;
  meta?: number;
  level?: number;
  payload?: Buffer;
  bitsSet?: number;
  failedBits?: number;
}

/** Resync progress of one link (native/resync.h); sectors are 512 bytes, bits 4 KiB. */
export interface NativeResyncStatus {
  /** Sectors of resync data received since the previous call (reset by this call). */
  sectIn: number;
  /** Sectors requested and not yet received. */
  rsInFlight: number;
  /** Set bits in the device bitmap. */
  bitsLeft: number;
  /** Blocks that failed in this resync (they stay out of sync). */
  failedBits: number;
  /** Next bit the SyncTarget scans from. */
  position: number;
}

export interface NativeLinkCounters {
  nsBytes: number;
  nrBytes: number;
  pe: number;
  ua: number;
  ep: number;
  connected: boolean;
}

export interface NativePeerLink {
  start(settings: NativeLinkSettings): void;
  stop(): void;
  dropConnection(reason: string): void;
  resumeReceive(): void;
  setReplicating(on: boolean): void;
  sendControl(cmd: number, payload: Buffer, onMeta: boolean): boolean;
  counters(): NativeLinkCounters;
  sendBitmap(useRle: boolean): boolean;
  startResync(role: 'source' | 'target', maxBioSize: number, csumsAlg: string): void;
  stopResync(): void;
  resyncTick(nRequests: number): number;
  resyncStatus(): NativeResyncStatus;
}

export interface NativeAddon {
  BackingStore: new (path: string, writable: boolean, exclusive: boolean) => NativeBackingStore;
  wire: NativeWire;
  Device: new (config: NativeDeviceConfig, onEvents: (events: NativeDeviceEvent[]) => void) => NativeDevice;
  PeerLink: new (device: NativeDevice, onEvents: (events: NativeLinkEvent[]) => void) => NativePeerLink;
  /** The SyncTarget's request-building rule (native/resync.h): blocks in a request starting at `first`. */
  resyncRequestBlocks(first: number, budget: number, nbits: number, maxBioSize: number, bits: Buffer): number;
}

function findAddon(): string {
  // src/engine/native.ts (vitest) and dist/engine/native.js (built) are both two levels
  // below the package root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = join(root, 'build', 'Release', 'udrbd.node');
  if (!existsSync(file)) {
    throw new Error(`udrbd native addon not built (${file} missing): run "npm install" in ${root}`);
  }
  return file;
}

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  loaded ??= createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return loaded;
}
