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

/** Options of `new Device(...)`, fully normalised by src/engine/device.ts (C++ only reads them). */
export interface NativeDeviceConfig {
  backingPath: string;
  usableSizeBytes: number;
  bitmapOffsetBytes: number;
  bitmapBits: number;
  ioThreads: number;
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
  close(): Promise<void>;
}

export interface NativeAddon {
  BackingStore: new (path: string, writable: boolean, exclusive: boolean) => NativeBackingStore;
  Device: new (config: NativeDeviceConfig, onEvents: (events: NativeDeviceEvent[]) => void) => NativeDevice;
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
