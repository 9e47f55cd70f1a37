// udrbd's `drbdadm dump` against Debian's drbdadm-84 (drbd-utils 9.22), byte for byte:
// stdout, stderr and exit code, for `dump all` and `dump RES` of every corpus file.
// Needs root (unshare --uts for the fake hostname) and drbd-utils; fails if either is missing.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpus, oracle, resourceNames, testHost, udrbd } from './helpers.js';

const files = corpus();

describe('corpus', () => {
  it('has at least 25 configurations', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
  });
});

describe.each(files.map((f) => [path.relative(path.dirname(path.dirname(f)), f), f]))('dump of %s', (_name, file) => {
  const host = testHost(file);

  it('dump all matches drbdadm-84', async () => {
    const want = oracle(host, ['-c', file, 'dump']);
    const got = await udrbd(host, ['-c', file, 'dump']);
    expect(got).toEqual(want);
  });

  it('dump RES matches drbdadm-84 for every resource', async () => {
    const names = resourceNames(file);
    expect(names.length).toBeGreaterThan(0);
    for (const r of names) {
      const want = oracle(host, ['-c', file, 'dump', r]);
      const got = await udrbd(host, ['-c', file, 'dump', r]);
      expect({ r, ...got }).toEqual({ r, ...want });
    }
  });
});

describe('relative -c paths', () => {
  it('prints the canonical path in the header and the name as given in messages', async () => {
    const dir = path.join(path.dirname(files[0]));
    for (const f of ['23-ip-not-local.conf', './01-minimal-84.conf', '30-includes/../30-includes/drbd.conf']) {
      const want = oracle(testHost(path.join(dir, f)), ['-c', f, 'dump'], dir);
      const got = await udrbd(testHost(path.join(dir, f)), ['-c', f, 'dump'], dir);
      expect(got).toEqual(want);
    }
  });
});
