// A minimal NBD client over a unix socket (newstyle fixed handshake, NBD_OPT_GO, simple
// replies): the counterpart of the engine's NBD frontend. `udrbd demo` writes and reads
// the device with it, so no NBD tools (Debian's libnbd-bin) are needed for that; the
// frontend tests use its low-level half (send, reply, raw writes) to misbehave on purpose.
// Pure TypeScript: it talks to the socket only, never to the native addon.
import { connect, type Socket } from 'node:net';

export const NBD = {
  CMD_READ: 0,
  CMD_WRITE: 1,
  CMD_DISC: 2,
  CMD_FLUSH: 3,
  CMD_TRIM: 4,
  CMD_WRITE_ZEROES: 6,
  FLAG_FUA: 1,
  FLAG_READ_ONLY: 2,
  EPERM: 1,
  EIO: 5,
  EINVAL: 22,
  ENOSPC: 28,
  REQUEST_MAGIC: 0x25609513,
} as const;

const REPLY_MAGIC = 0x67446698;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;

export interface Reply {
  error: number;
  handle: bigint;
  data?: Buffer;
}

/** A request the server answered with an error (errno values as in NBD.E*). */
export class NbdRequestError extends Error {
  constructor(
    readonly what: string,
    readonly errno: number,
  ) {
    super(`NBD ${what} failed: ${errnoName(errno)}`);
  }
}

export function errnoName(errno: number): string {
  const names: Record<number, string> = { [NBD.EPERM]: 'EPERM', [NBD.EIO]: 'EIO', [NBD.EINVAL]: 'EINVAL', [NBD.ENOSPC]: 'ENOSPC' };
  return names[errno] ?? `errno ${errno}`;
}

export class RawNbdClient {
  // Received bytes as a list of chunks: a large read arrives in many socket chunks, and
  // concatenating on every chunk would copy the data over and over.
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: Array<() => void> = [];
  private ended = false;
  private readLens = new Map<bigint, number>();
  exportSize = 0n;
  flags = 0;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    sock.on('end', end);
    sock.on('close', end);
    sock.on('error', end);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(path: string): Promise<RawNbdClient> {
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new RawNbdClient(sock);
  }

  /** Connects and negotiates the export NAME with NBD_OPT_GO. */
  static async open(path: string, name = ''): Promise<RawNbdClient> {
    const c = await RawNbdClient.connect(path);
    try {
      await c.handshake(name);
    } catch (e) {
      c.destroy();
      throw e;
    }
    return c;
  }

  /** Whether the export was offered read-only (a Secondary's export is). */
  get readOnly(): boolean {
    return (this.flags & NBD.FLAG_READ_ONLY) !== 0;
  }

  private take(n: number): Buffer {
    const out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const head = Buffer.from(out.subarray(0, n));
    const rest = out.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }

  /** Resolves with N bytes, or null when the server closed the connection first. */
  async read(n: number, timeoutMs = 10_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered < n) {
      if (this.ended) return null;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes from the NBD server`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.take(n);
  }

  /** Resolves true once the server has closed the connection. */
  async closedByServer(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.ended;
  }

  write(b: Buffer): void {
    this.sock.write(b);
  }

  async handshake(name: string): Promise<void> {
    const hello = await this.read(18);
    if (!hello) throw new Error('server closed during handshake');
    if (hello.subarray(0, 16).toString('latin1') !== 'NBDMAGICIHAVEOPT') throw new Error('bad greeting');
    const cf = Buffer.alloc(4);
    cf.writeUInt32BE(3); // FIXED_NEWSTYLE | NO_ZEROES
    this.write(cf);
    const nameBuf = Buffer.from(name);
    const data = Buffer.alloc(4 + nameBuf.length + 2);
    data.writeUInt32BE(nameBuf.length, 0);
    nameBuf.copy(data, 4);
    data.writeUInt16BE(0, 4 + nameBuf.length);
    this.write(optionHeader(OPT_GO, data.length));
    this.write(data);
    for (;;) {
      const h = await this.read(20);
      if (!h) throw new Error('server closed during NBD_OPT_GO');
      const type = h.readUInt32BE(12);
      const len = h.readUInt32BE(16);
      const body = len ? await this.read(len) : Buffer.alloc(0);
      if (type === REP_ACK) return;
      if (type === REP_INFO && body && body.readUInt16BE(0) === INFO_EXPORT) {
        this.exportSize = body.readBigUInt64BE(2);
        this.flags = body.readUInt16BE(10);
        continue;
      }
      if (type >= 0x80000000) throw new Error(`NBD_OPT_GO refused: reply type 0x${type.toString(16)}`);
    }
  }

  /** Sends one request; `data` is the write payload. */
  send(cmd: number, handle: bigint, offset: bigint | number, length: number, flags = 0, data?: Buffer): void {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(NBD.REQUEST_MAGIC, 0);
    h.writeUInt16BE(flags, 4);
    h.writeUInt16BE(cmd, 6);
    h.writeBigUInt64BE(handle, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length, 24);
    if (cmd === NBD.CMD_READ) this.readLens.set(handle, length);
    this.write(data ? Buffer.concat([h, data]) : h);
  }

  /** Reads one simple reply (with its data when it answers a successful read). */
  async reply(timeoutMs = 10_000): Promise<Reply | null> {
    const h = await this.read(16, timeoutMs);
    if (!h) return null;
    if (h.readUInt32BE(0) !== REPLY_MAGIC) throw new Error(`bad reply magic 0x${h.readUInt32BE(0).toString(16)}`);
    const error = h.readUInt32BE(4);
    const handle = h.readBigUInt64BE(8);
    const len = this.readLens.get(handle);
    this.readLens.delete(handle);
    if (len !== undefined && error === 0) {
      const data = await this.read(len, timeoutMs);
      if (!data) return null;
      return { error, handle, data };
    }
    return { error, handle };
  }

  /** One request, one reply. */
  async request(cmd: number, offset: number, length: number, flags = 0, data?: Buffer): Promise<Reply> {
    // Random handles: tests interleave requests with their own send() calls and handles.
    const handle = BigInt(Math.floor(Math.random() * 2 ** 48));
    this.send(cmd, handle, offset, length, flags, data);
    const r = await this.reply();
    if (!r) throw new Error('server closed the connection instead of replying');
    if (r.handle !== handle) throw new Error(`reply for handle ${r.handle}, expected ${handle}`);
    return r;
  }

  /** Writes DATA at OFFSET; rejects with NbdRequestError when the server refuses. */
  async pwrite(offset: number, data: Buffer, flags = 0): Promise<void> {
    const r = await this.request(NBD.CMD_WRITE, offset, data.length, flags, data);
    if (r.error) throw new NbdRequestError(`write of ${data.length} bytes at ${offset}`, r.error);
  }

  /** Reads LENGTH bytes at OFFSET. */
  async pread(offset: number, length: number): Promise<Buffer> {
    const r = await this.request(NBD.CMD_READ, offset, length);
    if (r.error || !r.data) throw new NbdRequestError(`read of ${length} bytes at ${offset}`, r.error || NBD.EIO);
    return r.data;
  }

  /** Asks the server to make every acknowledged write durable. */
  async flush(): Promise<void> {
    const r = await this.request(NBD.CMD_FLUSH, 0, 0);
    if (r.error) throw new NbdRequestError('flush', r.error);
  }

  /** Ends the session politely (NBD_CMD_DISC), then closes the socket. */
  async close(): Promise<void> {
    if (!this.ended) this.send(NBD.CMD_DISC, 0n, 0, 0);
    await this.closedByServer(2_000);
    this.sock.destroy();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

export function optionHeader(opt: number, len: number): Buffer {
  const b = Buffer.alloc(16);
  b.write('IHAVEOPT', 0, 'latin1');
  b.writeUInt32BE(opt, 8);
  b.writeUInt32BE(len, 12);
  return b;
}
