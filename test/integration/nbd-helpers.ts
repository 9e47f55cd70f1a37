// Shared helpers of the NBD frontend tests: required tools, a backing file with DRBD's
// internal meta-data layout, and a raw NBD client that can also misbehave on purpose.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, openSync, closeSync, ftruncateSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** Throws (never skips) when a test tool is missing, naming the Debian package. */
export function requireTool(tool: string, pkg: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${tool} is required by this test but not installed: apt-get install ${pkg}`);
  }
}

/** Internal meta-data layout of spec/metadata-v08.md §1 for a backing device of SIZE bytes. */
export function internalLayout(sizeBytes: number): { usableSizeBytes: number; bitmapOffsetBytes: number; bitmapBits: number; bitmapBytes: number } {
  const s = Math.floor(sizeBytes / 512);
  const bmSect = Math.ceil(Math.ceil(s / 32768) / 8) * 8;
  const mdSize = bmSect + 8 + 64;
  const usableSect = (s - (s % 8)) - mdSize;
  return {
    usableSizeBytes: usableSect * 512,
    bitmapOffsetBytes: usableSect * 512,
    bitmapBits: Math.ceil(usableSect / 8),
    bitmapBytes: bmSect * 512,
  };
}

export function sparseFile(path: string, sizeBytes: number): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, sizeBytes);
  closeSync(fd);
}

export async function sha256File(path: string, length?: number): Promise<string> {
  const h = createHash('sha256');
  const stream = createReadStream(path, length === undefined ? {} : { start: 0, end: length - 1 });
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

let nbdshPython: string | undefined;

/**
 * Runs nbdsh. nbdsh is `python3 -m nbd`, and the first python3 on PATH (e.g. a pyenv one) may
 * not see Debian's python3-libnbd module, so the interpreter that can import it is used.
 */
export async function nbdsh(args: string[]): Promise<{ stdout: string; stderr: string }> {
  if (!nbdshPython) {
    requireTool('nbdsh', 'python3-libnbd');
    for (const py of ['python3', '/usr/bin/python3']) {
      try {
        execFileSync(py, ['-c', 'import nbd'], { stdio: 'ignore' });
        nbdshPython = py;
        break;
      } catch {
        // try the next interpreter
      }
    }
    if (!nbdshPython) throw new Error('nbdsh is installed but no python3 can import nbd: apt-get install python3-libnbd');
  }
  return run(nbdshPython, ['-m', 'nbd', ...args]);
}

// ---- raw NBD client

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

export interface Reply {
  error: number;
  handle: bigint;
  data?: Buffer;
}

/** A minimal NBD client over a unix socket: newstyle fixed, NBD_OPT_GO, simple replies. */
export class RawNbdClient {
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private ended = false;
  private readLens = new Map<bigint, number>();
  exportSize = 0n;
  flags = 0;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
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
    await c.handshake(name);
    return c;
  }

  /** Resolves with N bytes, or null when the server closed the connection first. */
  async read(n: number, timeoutMs = 10_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.ended) return null;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes from the NBD server`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
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
    this.write(optionHeader(7, data.length));
    this.write(data);
    for (;;) {
      const h = await this.read(20);
      if (!h) throw new Error('server closed during NBD_OPT_GO');
      const type = h.readUInt32BE(12);
      const len = h.readUInt32BE(16);
      const body = len ? await this.read(len) : Buffer.alloc(0);
      if (type === 1) return; // ACK
      if (type === 3 && body && body.readUInt16BE(0) === 0) {
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
  async reply(): Promise<Reply | null> {
    const h = await this.read(16);
    if (!h) return null;
    if (h.readUInt32BE(0) !== 0x67446698) throw new Error(`bad reply magic 0x${h.readUInt32BE(0).toString(16)}`);
    const error = h.readUInt32BE(4);
    const handle = h.readBigUInt64BE(8);
    const len = this.readLens.get(handle);
    this.readLens.delete(handle);
    if (len !== undefined && error === 0) {
      const data = await this.read(len);
      if (!data) return null;
      return { error, handle, data };
    }
    return { error, handle };
  }

  /** One request, one reply. */
  async request(cmd: number, offset: number, length: number, flags = 0, data?: Buffer): Promise<Reply> {
    const handle = BigInt(Math.floor(Math.random() * 2 ** 48));
    this.send(cmd, handle, offset, length, flags, data);
    const r = await this.reply();
    if (!r) throw new Error('server closed the connection instead of replying');
    if (r.handle !== handle) throw new Error(`reply for handle ${r.handle}, expected ${handle}`);
    return r;
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
