// dump-md text: the run-length bitmap form and the whole dump of spec/metadata-v08.md §6.
import { describe, expect, it } from 'vitest';
import { clipLaSize, dumpHeaderText, formatDumpTime, renderBitmap, renderDumpMd } from '../../../src/meta/dump-md.js';
import { computeLayout } from '../../../src/meta/layout.js';
import { freshSuperblock } from '../../../src/meta/superblock.js';

/** Renders a bitmap held in memory. */
function render(words64: bigint[], chunkBytes?: number, bmBytes = words64.length * 8): { text: string; bits: number } {
  const bm = Buffer.alloc(bmBytes);
  words64.forEach((w, i) => bm.writeBigUInt64LE(w, i * 8));
  let text = '';
  const bits = renderBitmap(bm.length, (off, len) => bm.subarray(off, off + len), (t) => (text += t), chunkBytes);
  return { text, bits };
}

const ALL = 0xffffffffffffffffn;

describe('bitmap run-length text', () => {
  it('reproduces drbdmeta 9.22\'s dump of a restored 1 GiB bitmap (captured output)', () => {
    const words = [1n, ALL, 0n, 0x8000000000000000n, ...Array<bigint>(100).fill(ALL), 3n];
    const { text, bits } = render([...words, ...Array<bigint>(4096 - words.length).fill(0n)]);
    expect(text).toBe(
      [
        '{',
        '   # at 0kB',
        '    0x0000000000000001; 0xFFFFFFFFFFFFFFFF; 0x0000000000000000; 0x8000000000000000;',
        '    100 times 0xFFFFFFFFFFFFFFFF;',
        '    0x0000000000000003; 0x0000000000000000; 0x0000000000000000; 0x0000000000000000;',
        '    3988 times 0x0000000000000000;',
        '}',
        '',
      ].join('\n'),
    );
    expect(bits).toBe(6468);
  });

  it('collapses only runs of at least two whole lines, starting at a line start', () => {
    // 8 equal words (two lines) collapse; 7 do not; a run starting mid-line waits for the next line.
    const a = render([...Array<bigint>(8).fill(0x0000000500000005n), 1n, 2n, 3n, 4n]).text;
    expect(a).toBe('{\n   # at 0kB\n    8 times 0x0000000500000005;\n    0x0000000000000001; 0x0000000000000002; 0x0000000000000003; 0x0000000000000004;\n}\n');
    const b = render([...Array<bigint>(7).fill(0n), 9n]).text;
    expect(b).toBe(
      '{\n   # at 0kB\n    0x0000000000000000; 0x0000000000000000; 0x0000000000000000; 0x0000000000000000;\n' +
        '    0x0000000000000000; 0x0000000000000000; 0x0000000000000000; 0x0000000000000009;\n}\n',
    );
    // 64-bit words whose halves differ are not a 32-bit run: printed in full.
    expect(render(Array<bigint>(8).fill(0xffffffffn)).text).not.toContain('times');
  });

  it('prints "# at NkB" before every line that starts a new 8 MiB of data', () => {
    // 32 64-bit words = 2048 bits = 8 MiB of data.
    const { text } = render(Array.from({ length: 128 }, (_, i) => BigInt(i + 1)));
    expect(text.match(/# at \d+kB/g)).toEqual(['# at 0kB', '# at 8192kB', '# at 16384kB', '# at 24576kB']);
  });

  it('empty bitmap: "{" and "}" only', () => {
    expect(render([]).text).toBe('{\n}\n');
  });

  it('a run crossing a read window keeps counting only while it covers two whole lines there', () => {
    // Window of 4096 bytes = 512 64-bit words. Zero run to word 512 + 5 (< 8 words into the
    // next window): the count stops at the window, the rest is printed as words.
    const words = Array<bigint>(1024).fill(0n);
    words[512 + 5] = 7n;
    const chunked = render(words, 4096).text;
    expect(chunked).toContain('    512 times 0x0000000000000000;\n   # at 131072kB\n    0x0000000000000000; 0x0000000000000000; 0x0000000000000000; 0x0000000000000000;\n');
    // Read in one window, the same bitmap collapses the run further.
    expect(render(words, 8192).text).toContain('    516 times 0x0000000000000000;');
    // A run going on for 8 and more words into the next window is counted as one.
    const long = Array<bigint>(1024).fill(0n);
    long[512 + 40] = 7n;
    expect(render(long, 4096).text).toContain('    552 times 0x0000000000000000;');
  });
});

describe('whole dump', () => {
  it('fresh 64 MiB meta-data: the text of spec §6 after the header', () => {
    const layout = computeLayout({ kind: 'internal' }, 64 * 1024 * 1024);
    let text = '';
    renderDumpMd(
      {
        header: { now: new Date(1795311446000), hostname: 'node1', commandLine: 'drbdmeta --force 0 v08 d.img internal dump-md' },
        sb: freshSuperblock(layout),
        layout,
        laSizeSect: 0,
        bmBytes: 0,
        clean: true,
        readBitmap: () => Buffer.alloc(0),
      },
      (t) => (text += t),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('# DRBD meta data dump');
    expect(lines[1]).toMatch(/^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \[1795311446\]$/);
    expect(lines[2]).toBe('# node1> drbdmeta --force 0 v08 d.img internal dump-md');
    expect(lines.slice(3).join('\n')).toBe(
      [
        '#',
        '',
        'version "v08";',
        '',
        '# md_size_sect 80',
        '# md_offset 67104768',
        '# al_offset 67072000',
        '# bm_offset 67067904',
        '',
        'uuid {',
        '    0x0000000000000004; 0x0000000000000000; 0x0000000000000000; 0x0000000000000000;',
        '    flags 0x00000000;',
        '}',
        '# al-extents 257;',
        'la-size-sect 0;',
        'bm-byte-per-bit 4096;',
        'device-uuid 0x0000000000000000;',
        'la-peer-max-bio-size 0;',
        'al-stripes 1;',
        'al-stripe-size-4k 8;',
        '# bm-bytes 0;',
        'bm {',
        '}',
        '# bits-set 0;',
        '',
      ].join('\n'),
    );
  });

  it('unclean meta-data carries the restore-md trap lines', () => {
    const layout = computeLayout({ kind: 'internal' }, 64 * 1024 * 1024);
    let text = '';
    renderDumpMd(
      { header: { now: new Date(0), hostname: 'h', commandLine: 'c' }, sb: freshSuperblock(layout), layout, laSizeSect: 0, bmBytes: 0, clean: false, readBitmap: () => Buffer.alloc(0) },
      (t) => (text += t),
    );
    expect(text).toContain('version "v08";\n\nThis_is_an_unclean_meta_data_dump._Don\'t_trust_the_bitmap.\n# You should "apply-al" first, if you plan to restore this.\n\n# md_size_sect 80\n');
  });

  it('header time is local strftime "%F %T %z [%s]"', () => {
    const d = new Date(2026, 10, 22, 1, 37, 26);
    expect(formatDumpTime(d)).toMatch(/^2026-11-22 01:37:26 [+-]\d{4} \[\d+\]$/);
    expect(dumpHeaderText({ now: d, hostname: 'n', commandLine: 'drbdadm dump-md r0' })).toMatch(/^# DRBD meta data dump\n# .*\n# n> drbdadm dump-md r0\n#\n\n$/);
  });

  it('a last-agreed size beyond the meta-data is clipped with drbdmeta\'s notice', () => {
    expect(clipLaSize(100, 200)).toEqual({ laSizeSect: 100 });
    expect(clipLaSize(300, 200)).toEqual({ laSizeSect: 200, notice: '# la-size-sect was too big (300), truncated (200)!\n' });
  });
});
