// Typed wrapper over the native Device (request path + NBD frontend of one minor).
// Validates and normalises options here, so that the C++ side never parses user input;
// every method is one crossing per operation, never per block.
import {
  native,
  type NativeDevice,
  type NativeDeviceCounters,
  type NativeDeviceEvent,
  type NativeDevicePolicy,
} from './native.js';

export type DeviceCounters = NativeDeviceCounters;
export type DeviceEvent = NativeDeviceEvent;
export type DevicePolicy = NativeDevicePolicy;

export interface DeviceOptions {
  /** Backing file or block device; its first `usableSizeBytes` bytes are the data area. */
  backingPath: string;
  usableSizeBytes: number;
  /** Byte offset of the meta-data bitmap area (md_offset + bm_offset, spec/metadata-v08.md). */
  bitmapOffsetBytes: number;
  /** ceil(usableSizeBytes / 4096) for a DRBD device; more is allowed. */
  bitmapBits: number;
  /** Unix socket of the NBD export (DESIGN.md: $UDRBD_RUN_DIR/drbd<minor>.sock). */
  nbdSocketPath?: string;
  /** Optional TCP listener; loopback addresses only. Port 0 picks a free port. */
  nbdTcp?: { host: string; port: number };
  /** The export name served besides the default export "". */
  exportName?: string;
  /** Activity log: number of 4 MiB extents and the byte offset of its area; absent = none. */
  activityLog?: { extents: number; offsetBytes: number };
  /** Called with batches of events, on the JS thread. */
  onEvents?: (events: DeviceEvent[]) => void;
  /** Tuning; the defaults are what measured best in test/bench/nbd-local.bench.test.ts. */
  tuning?: {
    /** Threads of the device's own I/O pool (used when devicePool is set; later by the peer link). */
    ioThreads?: number;
    /** Threads per NBD client taking turns reading and running its requests. */
    workersPerClient?: number;
    /** Hand requests to the device's pool instead of running them on the client's workers. */
    devicePool?: boolean;
    /** Requests one client may have in flight before the server stops reading its socket. */
    maxInflightPerClient?: number;
    /** Connections beyond this many are closed at once (each client costs threads). */
    maxClients?: number;
  };
}

const BITMAP_BLOCK = 4096;

function safeInt(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export class Device {
  private closed = false;

  private constructor(
    private readonly dev: NativeDevice,
    /** TCP port of the NBD listener, or -1 without one. */
    readonly nbdTcpPort: number,
    readonly usableSizeBytes: number,
  ) {}

  /** Opens the backing device, loads the bitmap and starts the NBD frontend (off the JS thread). */
  static async create(opts: DeviceOptions): Promise<Device> {
    const usable = safeInt('usableSizeBytes', opts.usableSizeBytes, 512);
    if (usable % 512 !== 0) throw new RangeError(`usableSizeBytes must be a multiple of 512, got ${usable}`);
    const bits = safeInt('bitmapBits', opts.bitmapBits, Math.ceil(usable / BITMAP_BLOCK));
    const bmOffset = safeInt('bitmapOffsetBytes', opts.bitmapOffsetBytes, usable);
    if (!opts.nbdSocketPath && !opts.nbdTcp) throw new Error('a Device needs nbdSocketPath or nbdTcp');
    if (opts.nbdTcp && !/^127\.\d+\.\d+\.\d+$/.test(opts.nbdTcp.host)) {
      throw new RangeError(`nbdTcp.host must be a 127.0.0.0/8 address, got ${opts.nbdTcp.host}`);
    }
    const t = opts.tuning ?? {};
    const onEvents = opts.onEvents ?? (() => {});
    const dev = new (native().Device)(
      {
        backingPath: opts.backingPath,
        usableSizeBytes: usable,
        bitmapOffsetBytes: bmOffset,
        bitmapBits: bits,
        ioThreads: safeInt('tuning.ioThreads', t.ioThreads ?? 2, 1),
        alExtents: opts.activityLog ? safeInt('activityLog.extents', opts.activityLog.extents, 1) : 0,
        alOffsetBytes: opts.activityLog ? safeInt('activityLog.offsetBytes', opts.activityLog.offsetBytes, 0) : 0,
        nbdSocketPath: opts.nbdSocketPath ?? '',
        nbdTcpHost: opts.nbdTcp?.host ?? '',
        nbdTcpPort: opts.nbdTcp ? safeInt('nbdTcp.port', opts.nbdTcp.port, 0) : 0,
        exportName: opts.exportName ?? '',
        workersPerClient: safeInt('tuning.workersPerClient', t.workersPerClient ?? 4, 1),
        devicePool: t.devicePool ?? false,
        maxInflightPerClient: safeInt('tuning.maxInflightPerClient', t.maxInflightPerClient ?? 128, 1),
        maxClients: safeInt('tuning.maxClients', t.maxClients ?? 64, 1),
      },
      (events) => {
        // An exception here would surface as an uncaught error on a native callback.
        try {
          onEvents(events);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      },
    );
    const { tcpPort } = await dev.open();
    return new Device(dev, opts.nbdTcp ? tcpPort : -1, usable);
  }

  /** One call per state change. Secondary: writable false (clients see a read-only export). */
  setPolicy(policy: DevicePolicy): void {
    this.dev.setPolicy({
      primary: policy.primary,
      writable: policy.writable,
      diskUsable: policy.diskUsable,
      markOutOfSync: policy.markOutOfSync,
      readFromPeerIfOutOfSync: policy.readFromPeerIfOutOfSync ?? false,
    });
  }

  /** While every bit is out of sync the activity log is not written (/proc/drbd flag `s`). */
  setAlSuspended(suspended: boolean): void {
    this.dev.setAlSuspended(suspended);
  }

  /** The native object, for the peer link that replicates this device (src/engine only). */
  get handle(): NativeDevice {
    return this.dev;
  }

  counters(): DeviceCounters {
    return this.dev.counters();
  }

  /** Connected NBD clients. */
  clients(): number {
    return this.dev.clients();
  }

  /** Bitmap operations (bit n = 4 KiB block n of the device). */
  readonly bitmap = {
    countSet: (): number => this.dev.bitmapCountSet(),
    setAll: (): void => this.dev.bitmapSetAll(),
    clearAll: (): void => this.dev.bitmapClearAll(),
    /** Marks out of sync, rounding outward; returns the number of bits newly set. */
    setRange: (offsetBytes: number, lengthBytes: number): number =>
      this.dev.bitmapSetRange(safeInt('offset', offsetBytes, 0), safeInt('length', lengthBytes, 0)),
    /** Marks in sync, rounding inward (the device's last partial block counts); returns bits cleared. */
    clearRange: (offsetBytes: number, lengthBytes: number): number =>
      this.dev.bitmapClearRange(safeInt('offset', offsetBytes, 0), safeInt('length', lengthBytes, 0)),
    test: (bit: number): boolean => this.dev.bitmapTest(safeInt('bit', bit, 0)),
    /** First set bit at or after `fromBit`, or -1. */
    findNextSet: (fromBit: number): number => this.dev.bitmapFindNextSet(safeInt('fromBit', fromBit, 0)),
    dirtyPages: (): number => this.dev.bitmapDirtyPages(),
    /** Writes the dirty 4 KiB pages to the meta-data area and syncs; resolves to pages written. */
    flush: (): Promise<number> => this.dev.flushBitmap(),
  };

  /** Disconnects clients (after their in-flight requests), stops I/O, flushes the bitmap. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dev.close();
  }
}
