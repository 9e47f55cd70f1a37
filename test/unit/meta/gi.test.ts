// get-gi / show-gi / dstate text (drbdmeta 9.22 for v08).
import { describe, expect, it } from 'vitest';
import { dstateFromFlags, flagsSummary, formatGi, getGiText, ppsize, showGiText } from '../../../src/meta/gi.js';
import { computeLayout } from '../../../src/meta/layout.js';
import { freshSuperblock } from '../../../src/meta/superblock.js';
import { MDF } from '../../../src/state/attach.js';

const fresh = freshSuperblock(computeLayout({ kind: 'internal' }, 64 * 1024 * 1024));

describe('get-gi', () => {
  it('fresh meta-data', () => {
    expect(getGiText(fresh)).toBe('0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0\n');
  });

  it('flag digits in drbdmeta\'s order c:u:p:n:f:o:x', () => {
    const uuids = { current: 0x1234567890abcdefn, bitmap: 0xan, history: [0xffee000000000001n, 0xb00n] as [bigint, bigint] };
    const each: Array<[number, string]> = [
      [MDF.CONSISTENT, '1:0:0:0:0:0:0'],
      [MDF.WAS_UP_TO_DATE, '0:1:0:0:0:0:0'],
      [MDF.PRIMARY_IND, '0:0:1:0:0:0:0'],
      [MDF.CONNECTED_IND, '0:0:0:1:0:0:0'],
      [MDF.FULL_SYNC, '0:0:0:0:1:0:0'],
      [MDF.PEER_OUT_DATED, '0:0:0:0:0:1:0'],
      [MDF.CRASHED_PRIMARY, '0:0:0:0:0:0:1'],
      [MDF.AL_CLEAN | MDF.AL_DISABLED, '0:0:0:0:0:0:0'],
    ];
    for (const [flag, digits] of each) {
      expect(formatGi(uuids, flag)).toBe(`1234567890ABCDEF:000000000000000A:FFEE000000000001:0000000000000B00:${digits}`);
    }
  });
});

describe('show-gi', () => {
  it('fresh meta-data: exactly drbdmeta\'s text (captured)', () => {
    expect(showGiText(fresh)).toBe(
      [
        '',
        '       +--<  Current data generation UUID  >-',
        "       |               +--<  Bitmap's base data generation UUID  >-",
        '       |               |                 +--<  younger history UUID  >-',
        '       |               |                 |         +-<  older history  >-',
        '       V               V                 V         V',
        '0000000000000004:0000000000000000:0000000000000000:0000000000000000:0:0:0:0:0:0:0',
        '                                                                    ^ ^ ^ ^ ^ ^ ^',
        '                                      -<  Data consistency flag  >--+ | | | | | |',
        '                             -<  Data was/is currently up-to-date  >--+ | | | | |',
        '                                  -<  Node was/is currently primary  >--+ | | | |',
        '                                  -<  Node was/is currently connected  >--+ | | |',
        '         -<  Node was in the progress of setting all bits in the bitmap  >--+ | |',
        "                        -<  The peer's disk was out-dated or inconsistent  >--+ |",
        '      -<  This node was a crashed primary, and has not seen its peer since   >--+',
        '',
        'flags: Secondary, StandAlone, Inconsistent',
        'meta-data: clean',
        'zero size device -- never seen peer yet?',
        '',
      ].join('\n'),
    );
  });

  it('size lines and the flags summary (values seen with drbdmeta)', () => {
    const sb = { ...fresh, flags: 0xd7, laSizeSect: 2097016, laPeerMaxBioSize: 131072 };
    const text = showGiText(sb);
    expect(text).toContain('\nflags: crashed Primary, Connected, UpToDate\nmeta-data: clean\nlast agreed size: 1024 MB (2097016 sectors)\nlast agreed max bio size: 131072 Byte\n');
    expect(flagsSummary(MDF.CONSISTENT | MDF.FULL_SYNC | MDF.PEER_OUT_DATED)).toBe('flags: Secondary, StandAlone, Outdated, need full sync, peer Outdated');
    expect(showGiText({ ...fresh, flags: 0x11 })).toContain('meta-data: need apply-al\n');
  });

  it('ppsize: KiB in, unit switch at 10000 with rounding (DRBD\'s ppsize)', () => {
    expect(ppsize(1)).toBe('1 KB');
    expect(ppsize(1023)).toBe('1023 KB');
    expect(ppsize(9999)).toBe('9999 KB');
    expect(ppsize(10000)).toBe('10 MB');
    expect(ppsize(1048508)).toBe('1024 MB');
    expect(ppsize(524288000)).toBe('500 GB');
    expect(ppsize(1073676288)).toBe('1024 GB');
    expect(ppsize(2 ** 60)).toBe('1024 EB');
  });
});

describe('dstate from flags', () => {
  it('Inconsistent / Outdated / Consistent / UpToDate', () => {
    expect(dstateFromFlags(0)).toBe('Inconsistent');
    expect(dstateFromFlags(MDF.WAS_UP_TO_DATE)).toBe('Inconsistent');
    expect(dstateFromFlags(MDF.CONSISTENT)).toBe('Outdated');
    expect(dstateFromFlags(MDF.CONSISTENT | MDF.WAS_UP_TO_DATE)).toBe('Consistent');
    expect(dstateFromFlags(MDF.CONSISTENT | MDF.WAS_UP_TO_DATE | MDF.PEER_OUT_DATED)).toBe('UpToDate');
  });
});
