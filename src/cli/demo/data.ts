// Data through a node's NBD socket ($UDRBD_RUN_DIR/drbdN.sock, the device's export): random
// blocks written with their SHA-256, regions read back and hashed, and the hash of a whole
// device — compared with the hash of the other node's backing file to show that every byte
// was replicated.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { RawNbdClient } from '../../engine/nbd-client.js';

const CHUNK = 1024 * 1024;

/** Reads LENGTH bytes at OFFSET of some copy of the device. */
export type Reader = (offset: number, length: number) => Promise<Buffer>;

export const MiB = 1024 * 1024;

export async function withNbd<T>(socket: string, fn: (c: RawNbdClient) => Promise<T>): Promise<T> {
  const c = await RawNbdClient.open(socket);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

/** Writes LENGTH random bytes at OFFSET, flushes, and returns their SHA-256. */
export async function writeRandom(c: RawNbdClient, offset: number, length: number): Promise<string> {
  const h = createHash('sha256');
  for (let done = 0; done < length; done += CHUNK) {
    const block = randomBytes(Math.min(CHUNK, length - done));
    h.update(block);
    await c.pwrite(offset + done, block);
  }
  await c.flush();
  return h.digest('hex');
}

/** What hashRegion reads from: an NBD client, or anything with the same two members. */
export type Readable = Pick<RawNbdClient, 'exportSize'> & { pread: Reader };

/** SHA-256 of LENGTH bytes at OFFSET (the whole export by default). */
export async function hashRegion(c: Readable, offset = 0, length = Number(c.exportSize)): Promise<string> {
  const h = createHash('sha256');
  for (let done = 0; done < length; done += CHUNK) h.update(await c.pread(offset + done, Math.min(CHUNK, length - done)));
  return h.digest('hex');
}

/**
 * SHA-256 of the first LENGTH bytes of a backing file: with internal meta-data the device's
 * data starts at offset 0 of its backing disk (the meta-data sits at the end).
 */
export async function hashFile(path: string, length: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export const nbdReader = (c: RawNbdClient): Reader => (offset, length) => c.pread(offset, length);

/** A backing file as a Reader (the data area starts at offset 0, see hashFile). */
export async function withFileReader<T>(path: string, fn: (r: Reader) => Promise<T>): Promise<T> {
  const fh = await open(path, 'r');
  try {
    return await fn(async (offset, length) => {
      const b = Buffer.alloc(length);
      const { bytesRead } = await fh.read(b, 0, length, offset);
      return b.subarray(0, bytesRead);
    });
  } finally {
    await fh.close();
  }
}

/**
 * Where two copies differ, by MiB (at most LIMIT places): when a checksum does not match,
 * this says which part of the device to look at.
 */
export async function differingMiB(a: Reader, b: Reader, length: number, limit = 8): Promise<number[]> {
  const out: number[] = [];
  for (let off = 0; off < length && out.length < limit; off += CHUNK) {
    const n = Math.min(CHUNK, length - off);
    const [x, y] = await Promise.all([a(off, n), b(off, n)]);
    if (!x.equals(y)) out.push(off / CHUNK);
  }
  return out;
}

/** The first 16 hex digits: enough to compare by eye in the narration. */
export const short = (sha: string): string => sha.slice(0, 16);
