import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/meta/crc32c.js';
import { initializedAlBlock } from '../../../src/meta/activity-log.js';

describe('crc32c (Castagnoli, DRBD style: seed 0, no final xor)', () => {
  it('matches the standard check value when used with the usual seed and inversion', () => {
    // The catalogued CRC-32C of "123456789" is 0xE3069283 (init ~0, final xor ~0).
    expect((crc32c(Buffer.from('123456789'), 0xffffffff) ^ 0xffffffff) >>> 0).toBe(0xe3069283);
  });

  it('seed 0, no final xor: the CRC of the initialized AL block is 0x709CC651 (spec §4)', () => {
    const b = initializedAlBlock();
    expect(b.readUInt32BE(8)).toBe(0x709cc651);
    b.writeUInt32BE(0, 8);
    expect(crc32c(b)).toBe(0x709cc651);
  });

  it('continues from a seed like one pass over the concatenation', () => {
    const a = Buffer.from('activity ');
    const b = Buffer.from('log');
    expect(crc32c(b, crc32c(a))).toBe(crc32c(Buffer.concat([a, b])));
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });
});
