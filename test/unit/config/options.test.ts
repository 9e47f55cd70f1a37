// The option table: defaults, ranges, units, 8.3 spellings — the facts of
// spec/config-defaults.md §2, and the number rules of §1.
import { describe, expect, it } from 'vitest';
import { findNoFlag, findOption, findSyncerOption, OPTIONS, optionByName, parseScaledNumber, type OptionSpec } from '../../../src/config/options.js';

const table = OPTIONS as readonly OptionSpec[];

describe('option table', () => {
  it('has one row per (section, name) and unique keys', () => {
    const names = table.map((o) => `${o.section}/${o.name}`);
    expect(new Set(names).size).toBe(names.length);
    const keys = table.map((o) => `${o.section}/${o.key}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('every numeric option has a scale or is global, a range, and a default inside it', () => {
    for (const o of table.filter((x) => x.type === 'numeric')) {
      expect(o.min, o.name).toBeTypeOf('number');
      expect(o.max, o.name).toBeTypeOf('number');
      expect(o.def84 as number, o.name).toBeGreaterThanOrEqual(o.min as number);
      expect(o.def84 as number, o.name).toBeLessThanOrEqual(o.max as number);
      if (o.section !== 'global') expect(o.scale, o.name).toBeDefined();
    }
  });

  it('every enum default is one of its values', () => {
    for (const o of table.filter((x) => x.type === 'enum')) expect(o.values, o.name).toContain(o.def84);
  });

  // spec/config-defaults.md §2: option → [8.4.7 default, 8.3.9 default or undefined, min, max]
  const SPEC: Record<string, [unknown, unknown, number?, number?]> = {
    protocol: ['C', undefined],
    'resync-rate': [250, undefined, 1, 4194304],
    'al-extents': [1237, 127, 67, 65534],
    'on-io-error': ['detach', 'pass_on'],
    fencing: ['dont-care', undefined],
    'disk-barrier': [false, true],
    'disk-flushes': [true, undefined],
    'disk-drain': [true, undefined],
    'md-flushes': [true, undefined],
    'c-plan-ahead': [20, 0, 0, 300],
    'c-delay-target': [10, undefined, 1, 100],
    'c-fill-target': [100, 0, 0, 1048576],
    'c-max-rate': [102400, undefined, 250, 4194304],
    'c-min-rate': [250, 4096, 0, 4194304],
    'disk-timeout': [0, null, 0, 6000],
    'ping-int': [10, undefined, 1, 120],
    'ping-timeout': [5, undefined, 1, 300],
    timeout: [60, undefined, 1, 600],
    'connect-int': [10, undefined, 1, 120],
    'ko-count': [7, 0, 0, 200],
    'max-buffers': [2048, undefined, 32, 131072],
    'max-epoch-size': [2048, undefined, 1, 20000],
    'sndbuf-size': [0, undefined, 0, 10485760],
    'rcvbuf-size': [0, undefined, 0, 10485760],
    'allow-two-primaries': [false, undefined],
    'after-sb-0pri': ['disconnect', undefined],
    'after-sb-1pri': ['disconnect', undefined],
    'after-sb-2pri': ['disconnect', undefined],
    'rr-conflict': ['disconnect', undefined],
    'always-asbp': [false, undefined],
    'on-congestion': ['block', null],
    'tcp-cork': [true, undefined],
    'use-rle': [true, undefined],
    'wfc-timeout': [0, undefined, 0, 300000],
    'degr-wfc-timeout': [0, undefined, 0, 300000],
    'outdated-wfc-timeout': [0, undefined, 0, 300000],
    'wait-after-sb': [false, undefined],
    'on-no-data-accessible': ['io-error', undefined],
    'minor-count': [32, undefined, 1, 255],
    'usage-count': ['ask', undefined],
  };
  it.each(Object.entries(SPEC))('%s: defaults and range as in the spec', (name, [d84, d83, min, max]) => {
    const o = optionByName(name);
    expect(o.def84).toEqual(d84);
    expect(o.def83).toEqual(d83);
    if (min !== undefined) expect([o.min, o.max]).toEqual([min, max]);
  });

  it('enum values as in the spec', () => {
    expect(optionByName('after-sb-1pri').values).toEqual(['disconnect', 'consensus', 'violently-as0p', 'discard-secondary', 'call-pri-lost-after-sb']);
    expect(optionByName('after-sb-2pri').values).toEqual(['disconnect', 'violently-as0p', 'call-pri-lost-after-sb']);
    expect(optionByName('on-congestion').values).toEqual(['block', 'pull-ahead', 'disconnect']);
    expect(optionByName('fencing').values).toEqual(['dont-care', 'resource-only', 'resource-and-stonith']);
  });

  it('ranges drbdadm-84 checks (and those it lets through)', () => {
    const checked = table.filter((o) => o.rangeChecked).map((o) => o.name);
    expect(checked).toEqual(expect.arrayContaining(['resync-rate', 'c-max-rate', 'max-buffers', 'sndbuf-size', 'wfc-timeout', 'minor-count']));
    for (const n of ['ping-timeout', 'al-extents', 'disk-timeout']) expect(optionByName(n).rangeChecked, n).toBeFalsy();
  });

  it('8.3 spellings map to 8.4 options', () => {
    expect(findSyncerOption('rate')?.name).toBe('resync-rate');
    expect(findSyncerOption('after')?.name).toBe('resync-after');
    expect(findSyncerOption('verify-alg')?.section).toBe('net');
    expect(findSyncerOption('cpu-mask')?.section).toBe('options');
    expect(findNoFlag('disk', 'no-disk-flushes')?.name).toBe('disk-flushes');
    expect(findNoFlag('net', 'no-tcp-cork')?.name).toBe('tcp-cork');
    expect(findOption('handlers', 'outdate-peer')?.name).toBe('fence-peer');
  });
});

describe('numbers and units', () => {
  const n = (t: string, s: 'k' | 's' | '1') => {
    const r = parseScaledNumber(t, s);
    return r.ok ? r.value : 'invalid';
  };
  it('rate options take KiB: 10M = 10240, 1G = 1048576, bare = KiB', () => {
    expect(n('10M', 'k')).toBe(10240n);
    expect(n('10m', 'k')).toBe(10240n);
    expect(n('1G', 'k')).toBe(1048576n);
    expect(n('250', 'k')).toBe(250n);
    expect(n('4K', 'k')).toBe(4n);
  });
  it('sector options take 512-byte sectors: 1M = 2048', () => {
    expect(n('1M', 's')).toBe(2048n);
    expect(n('100s', 's')).toBe(100n);
    expect(n('1k', 's')).toBe(2n);
  });
  it('converting to a coarser unit rounds up', () => {
    expect(n('1s', 'k')).toBe(1n);
    expect(n('3s', 'k')).toBe(2n);
    expect(n('1025', 'k')).toBe(1025n);
  });
  it('scale-1 options: suffixes multiply', () => {
    expect(n('512k', '1')).toBe(524288n);
    expect(n('1k', '1')).toBe(1024n);
  });
  it('anything else is not a number', () => {
    for (const t of ['5X', '10MB', '1.5', '0x10', '', 'abc', '+5']) expect(n(t, 'k'), t).toBe('invalid');
  });
  it('negative numbers wrap like drbdadm (unsigned 64 bits)', () => {
    expect(n('-1', '1')).toBe(18446744073709551615n);
  });
});
