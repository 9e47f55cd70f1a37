// The offline tools on an in-memory device: create-md's golden bytes (spec §5), what it
// writes and never writes, refusals, and apply-al's effect on the bitmap.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeAlTransaction } from '../../../src/meta/activity-log.js';
import { countBits } from '../../../src/meta/bitmap.js';
import { MD_MAGIC_08, MD_MAGIC_84_UNCLEAN } from '../../../src/meta/constants.js';
import { MDF } from '../../../src/state/attach.js';
import { MetaDataError } from '../../../src/meta/errors.js';
import { computeLayout } from '../../../src/meta/layout.js';
import { decodeSuperblock, encodeSuperblock } from '../../../src/meta/superblock.js';
import { applyAl, createMd, detectExistingData, dumpMd, getGi, type MetaIo, type MetaTarget } from '../../../src/meta/tools.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A device in memory that records which byte ranges were written. */
class MemIo implements MetaIo {
  readonly data: Buffer;
  readonly writes: Array<[number, number]> = [];
  flushes = 0;
  constructor(readonly sizeBytes: number) {
    this.data = Buffer.alloc(sizeBytes);
  }
  readAt(offset: number, length: number): Buffer {
    if (offset + length > this.sizeBytes) throw new Error('unexpected end of device');
    return Buffer.from(this.data.subarray(offset, offset + length));
  }
  writeAt(offset: number, data: Uint8Array): void {
    this.writes.push([offset, data.length]);
    Buffer.from(data).copy(this.data, offset);
  }
  flush(): void {
    this.flushes++;
  }
}

function capture() {
  const o = { stdout: '', stderr: '', out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

const target = (io: MemIo): MetaTarget => ({ io, kind: { kind: 'internal' }, deviceName: 'mem.img' });
const yes = async (): Promise<boolean> => true;
const no = async (): Promise<boolean> => false;

describe('create-md', () => {
  it('64 MiB: the meta-data area hashes to the spec\'s golden value; nothing else is written', async () => {
    const io = new MemIo(64 * MiB);
    const o = capture();
    expect(await createMd(target(io), { confirm: no, output: o })).toBe(0);
    expect(o.stdout).toBe('initializing activity log\nWriting meta data...\nNew drbd meta data block successfully created.\n');
    expect(o.stderr).toBe('initializing bitmap (4 KB) to all zero\n');
    expect(sha(io.data.subarray(67067904, 67108864))).toBe('c24df2a77aa56bbed2e7c1a7318bf907ebb53970d9413adda7ed6271420c97b2');
    for (const [off, len] of io.writes) {
      expect(off).toBeGreaterThanOrEqual(67067904);
      expect(off + len).toBeLessThanOrEqual(67108864);
    }
    expect(io.data.subarray(0, 67067904).every((b) => b === 0)).toBe(true);
    expect(io.flushes).toBeGreaterThan(0);
  });

  it('existing meta-data: "Do you really want to overwrite…"; no ⇒ exit 1, untouched', async () => {
    const io = new MemIo(64 * MiB);
    await createMd(target(io), { confirm: yes, output: capture() });
    io.writes.length = 0;
    const asked: string[] = [];
    const o = capture();
    await expect(
      createMd(target(io), {
        confirm: async (q) => {
          asked.push(q);
          return false;
        },
        output: o,
      }),
    ).rejects.toEqual(new MetaDataError('', 1));
    expect(asked).toEqual(['Do you really want to overwrite the existing meta-data?']);
    expect(o.stderr).toBe(
      'You want me to create a v08 style flexible-size internal meta data block.\n' +
        'There appears to be a v08 flexible-size internal meta data block\nalready in place on mem.img at byte offset 67104768\n',
    );
    expect(o.stdout).toBe('Operation cancelled.\n');
    expect(io.writes).toEqual([]);
  });

  it('also recognises the unclean 8.4 magic and 0.7 meta-data', async () => {
    for (const magic of [MD_MAGIC_84_UNCLEAN, 0x8374026a]) {
      const io = new MemIo(64 * MiB);
      io.data.writeUInt32BE(magic, 64 * MiB - 4096 + 0x3c);
      const asked: string[] = [];
      await createMd(target(io), {
        confirm: async (q) => {
          asked.push(q);
          return true;
        },
        output: capture(),
      });
      expect(asked).toHaveLength(1);
    }
  });

  it('file-system signatures: drbdmeta\'s guesses', () => {
    const head = Buffer.alloc(68 * 1024);
    expect(detectExistingData(head)).toBeUndefined();
    const lvm = Buffer.from(head);
    lvm.write('LVM2', 0x218, 'latin1');
    expect(detectExistingData(lvm)).toEqual({ type: 'LVM2 physical volume signature', sizeBytes: 'refuse', sizeUnknown: true });
    const ext2 = Buffer.from(head);
    ext2.writeUInt16LE(0xef53, 0x438);
    ext2.writeUInt32LE(1000, 0x404);
    ext2.writeUInt32LE(2, 0x418);
    expect(detectExistingData(ext2)).toEqual({ type: 'ext2 filesystem', sizeBytes: 4096000 });
    const luks = Buffer.from(head);
    luks.write('LUKS\xba\xbe', 0, 'latin1');
    // drbdmeta knows no LUKS: "some data", which still needs confirmation.
    expect(detectExistingData(luks)).toEqual({ type: 'some data', sizeBytes: 0 });
  });

  it('LVM2 physical volume: refused (size unknown), exit 40, nothing written', async () => {
    const io = new MemIo(64 * MiB);
    io.data.write('LVM2', 0x218, 'latin1');
    const o = capture();
    await expect(createMd(target(io), { confirm: yes, output: o })).rejects.toEqual(new MetaDataError('', 40));
    expect(o.stdout).toContain('Found LVM2 physical volume signature\n');
    expect(o.stdout).toContain('Could not determine the size of the actually used data area.');
    expect(o.stdout).toContain('Operation refused.');
    expect(io.writes).toEqual([]);
  });

  it('a device smaller than 68 KiB is refused before anything is read', async () => {
    const io = new MemIo(60 * 1024);
    await expect(createMd(target(io), { confirm: yes, output: capture() })).rejects.toEqual(
      new MetaDataError("mem.img is only 61440 bytes. That's not enough.", 10),
    );
  });
});

describe('dump-md / get-gi on damaged or unclean meta-data', () => {
  it('no meta-data: MetaDataError "No valid meta data found", exit 1', () => {
    const io = new MemIo(64 * MiB);
    expect(() => getGi(target(io), capture())).toThrow(new MetaDataError('No valid meta data found', 1));
  });

  it('unclean: dump-md refuses unless forced', async () => {
    const io = new MemIo(64 * MiB);
    await createMd(target(io), { confirm: yes, output: capture() });
    io.data.writeUInt32BE(MD_MAGIC_84_UNCLEAN, 64 * MiB - 4096 + 0x3c);
    const header = { now: new Date(0), hostname: 'h', commandLine: 'c' };
    const o = capture();
    expect(dumpMd(target(io), { output: o, header, force: false })).toBe(1);
    expect(o.stderr).toBe('Found meta data is "unclean", please apply-al first\n');
    expect(o.stdout).toBe('');
    const f = capture();
    expect(dumpMd(target(io), { output: f, header, force: true })).toBe(0);
    expect(f.stdout).toContain("This_is_an_unclean_meta_data_dump._Don't_trust_the_bitmap.");
  });
});

describe('apply-al', () => {
  /** 64 MiB device with meta-data, la-size set, given flags and magic, AL transactions. */
  async function setup(flags: number, trs: Parameters<typeof encodeAlTransaction>[0][]): Promise<MemIo> {
    const io = new MemIo(64 * MiB);
    await createMd(target(io), { confirm: yes, output: capture() });
    const layout = computeLayout({ kind: 'internal' }, 64 * MiB);
    const sb = decodeSuperblock(io.data.subarray(layout.mdOffsetBytes, layout.mdOffsetBytes + 4096));
    io.writeAt(layout.mdOffsetBytes, encodeSuperblock({ ...sb, laSizeSect: layout.maxUsableSect, flags, magic: MD_MAGIC_84_UNCLEAN }));
    for (const t of trs) io.writeAt(layout.alStartBytes + (t.trNumber % 8) * 4096, encodeAlTransaction(t));
    return io;
  }
  const layout = computeLayout({ kind: 'internal' }, 64 * MiB);
  const bitmap = (io: MemIo): Buffer => io.data.subarray(layout.bmStartBytes, layout.bmStartBytes + 4096);
  const sbOf = (io: MemIo) => decodeSuperblock(io.data.subarray(layout.mdOffsetBytes, layout.mdOffsetBytes + 4096));
  const trs = [{ trNumber: 5, type: 0, updates: [{ slot: 0, extent: 2 }, { slot: 1, extent: 15 }], contextSize: 0, contextStartSlot: 0, context: [] }];

  it('Primary: marks the AL extents (1024 bits each), re-initializes the AL, magic 08 + AL_CLEAN', async () => {
    const io = await setup(MDF.PRIMARY_IND | MDF.CONSISTENT, trs);
    const o = capture();
    expect(applyAl(target(io), o)).toBe(0);
    expect(o.stderr).toBe('Marked additional 8192 KB as out-of-sync based on AL.\n');
    const bm = bitmap(io);
    expect(countBits(bm)).toBe(2048);
    expect(countBits(bm, 2 * 128, 3 * 128)).toBe(1024);
    expect(countBits(bm, 15 * 128, 16 * 128)).toBe(1024);
    const sb = sbOf(io);
    expect(sb.magic).toBe(MD_MAGIC_08);
    expect(sb.flags).toBe(MDF.PRIMARY_IND | MDF.CONSISTENT | MDF.AL_CLEAN);
    expect(sha(io.data.subarray(layout.alStartBytes, layout.alStartBytes + 32768))).toBe(
      sha(Buffer.concat(Array.from({ length: 8 }, () => io.data.subarray(layout.alStartBytes, layout.alStartBytes + 4096)))),
    );
    // Applying again: nothing left in the AL.
    const again = capture();
    expect(applyAl(target(io), again)).toBe(0);
    expect(again.stderr).toBe('');
  });

  it('Secondary: bitmap untouched, still marked clean', async () => {
    const io = await setup(MDF.CONSISTENT, trs);
    expect(applyAl(target(io), capture())).toBe(0);
    expect(countBits(bitmap(io))).toBe(0);
    expect(sbOf(io).flags & MDF.AL_CLEAN).toBe(MDF.AL_CLEAN);
    expect(sbOf(io).magic).toBe(MD_MAGIC_08);
  });
});
