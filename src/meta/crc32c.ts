// CRC-32C (Castagnoli), as DRBD's activity log uses it: reflected polynomial 0x82F63B78,
// caller-supplied seed (DRBD uses 0), no final xor. Table-driven, one byte at a time. Pure.

const POLY_REFLECTED = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of data continuing from `seed` (0 for DRBD's AL), without the final inversion. */
export function crc32c(data: Uint8Array, seed = 0): number {
  let crc = seed >>> 0;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return crc >>> 0;
}
