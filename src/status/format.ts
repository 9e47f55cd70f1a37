// Number formatting the way DRBD's C printf calls produce it. Pure helpers.

/**
 * DRBD's "thousands grouping" for rates in /proc/drbd (spec/proc-drbd.md §3.2): below 1000 plain;
 * from 1000 `a,bbb`; from 1,000,000 `a,bbb,ccc` where `a` is everything above the millions and is
 * not grouped further (the kernel prints it with a plain %ld, so 1234567890 → `1234,567,890`).
 */
export function groupThousands(v: number): string {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`groupThousands: ${v}`);
  const p3 = (n: number): string => String(n).padStart(3, '0');
  if (v >= 1_000_000) {
    const rest = v % 1_000_000;
    return `${Math.floor(v / 1_000_000)},${p3(Math.floor(rest / 1000))},${p3(rest % 1000)}`;
  }
  if (v >= 1000) return `${Math.floor(v / 1000)},${p3(v % 1000)}`;
  return String(v);
}

/** printf("%*d") / ("%*u"): right-aligned in `width`, never truncated. */
export function padLeft(v: number | string, width: number): string {
  return String(v).padStart(width, ' ');
}

/** The value a C `unsigned int` holds after counting up to v (wraps at 2^32). */
export function asU32(v: number): number {
  return ((v % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

/** The value a C `int` holds for v (two's complement wrap at 32 bits). */
export function asI32(v: number): number {
  return asU32(v) | 0;
}

/**
 * printf("%.2f", x) as glibc prints it: the exact binary value rounded to two decimals, ties to
 * even (JS toFixed breaks exact ties upwards: 0.125 → "0.13", glibc → "0.12"); NaN and the
 * infinities as glibc spells them. `negativeNaN` selects "-nan" (x86 produces a NaN with the sign
 * bit set for 0.0/0.0, and glibc prints that sign).
 */
export function printfFixed2(x: number, negativeNaN = false): string {
  if (Number.isNaN(x)) return negativeNaN ? '-nan' : 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  // An exact tie at the third decimal needs a value of the form k/8 with k odd (only those
  // binary fractions end in 5 at the third decimal); everything else toFixed rounds correctly.
  let s: string;
  if (Number.isInteger(a * 8) && !Number.isInteger(a * 4)) {
    let hundredths = Math.floor(a * 100); // exact: a*100 = integer + 0.5 here
    if (hundredths % 2 === 1) hundredths += 1;
    s = `${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}`;
  } else {
    s = a.toFixed(2);
  }
  return neg ? `-${s}` : s;
}
