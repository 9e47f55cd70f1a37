// Every /proc/drbd text the real 8.4.11 module printed in spec/kernel-captures/*.txt, rebuilt by
// renderProcDrbd from the values visible in it and compared byte for byte. The state and counter
// lines are parsed back into input; the progress lines need the sync marks the kernel had, which
// a capture does not show: the table below gives, per capture, a mark age/left and seconds since
// start that reproduce the printed speed/average/finish under the spec formulas (derived by hand
// from the kernel arithmetic; marks older than ~18 s are the initial ones).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConnStateName, DiskStateName, RoleName } from '../../../src/status/names.js';
import { type ProcDevice, renderProcDrbd } from '../../../src/status/proc-drbd.js';
import { HEADER_8411, sync } from './fixtures.js';
import { specPath } from '../../support/spec.js';

const DIR = specPath('kernel-captures');
const VERSION_LINE = 'version: 8.4.11 (api:1/proto:86-101)';

// oos KiB of the capture → { seconds since start, mark age, bits left at the mark, want }
const SYNC_TABLE: Record<number, { sinceStartS: number; markAgeS: number; markLeft: number; want?: number }> = {
  65288: { sinceStartS: 1, markAgeS: 1, markLeft: 16374 },
  65184: { sinceStartS: 1, markAgeS: 1, markLeft: 16374, want: 1024 },
  56760: { sinceStartS: 8, markAgeS: 8, markLeft: 16374 },
  56552: { sinceStartS: 8, markAgeS: 8, markLeft: 16374, want: 1024 },
  48232: { sinceStartS: 17, markAgeS: 17, markLeft: 16374 },
  48128: { sinceStartS: 17, markAgeS: 17, markLeft: 16374, want: 1024 },
  39808: { sinceStartS: 25, markAgeS: 17, markLeft: 14355 },
  39600: { sinceStartS: 25, markAgeS: 17, markLeft: 14337, want: 1024 },
  31384: { sinceStartS: 34, markAgeS: 17, markLeft: 12096 },
  31280: { sinceStartS: 34, markAgeS: 17, markLeft: 12087, want: 1024 },
  22960: { sinceStartS: 42, markAgeS: 18, markLeft: 10366 },
  22856: { sinceStartS: 42, markAgeS: 17, markLeft: 10066, want: 1024 },
};

const STATE_RE =
  /^ ?(\d+): cs:(\w+) ro:(\w+)\/(\w+) ds:(\w+)\/(\w+) ([ABC ]) ([rs])([a-])([p-])([u-])([-dcbna])([s-])$/;
const COUNTER_RE =
  /^ {4}ns:(\d+) nr:(\d+) dw:(\d+) dr:(\d+) al:(\d+) bm:(\d+) lo:(-?\d+) pe:(-?\d+) ua:(-?\d+) ap:(-?\d+) ep:(-?\d+) wo:([bfdn]) oos:(\d+)$/;
const UNCONF_RE = /^ ?(\d+): cs:Unconfigured$/;
const BAR_RE = /^\t\[[=>.]+\] sync'ed:/;

/** A /proc/drbd block: the two header lines and the minor lines that follow. */
function blocks(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== VERSION_LINE) continue;
    let j = i + 2;
    for (;;) {
      const l = lines[j];
      if (l === undefined) break;
      if (STATE_RE.test(l) || COUNTER_RE.test(l) || UNCONF_RE.test(l) || l.startsWith('\t')) j++;
      else if (l === '' && lines[j + 1] !== undefined && (STATE_RE.test(lines[j + 1]!) || UNCONF_RE.test(lines[j + 1]!))) j++;
      else break;
    }
    out.push(lines.slice(i, j).join('\n') + '\n');
  }
  return out;
}

function parse(block: string): ProcDevice[] {
  const devices: ProcDevice[] = [];
  for (const l of block.split('\n').slice(2)) {
    let m = UNCONF_RE.exec(l);
    if (m) {
      devices.push({
        minor: Number(m[1]), cs: 'StandAlone', ro: 'Secondary', peerRo: 'Unknown', ds: 'Diskless', pds: 'DUnknown', protocol: null,
        flags: { susp: false, aftrIsp: false, peerIsp: false, userIsp: false, congestion: '-', alSuspended: false },
        counters: { ns: 0, nr: 0, dw: 0, dr: 0, al: 0, bm: 0, lo: 0, pe: 0, ua: 0, ap: 0, ep: 0, wo: 'f', oos: 0 },
      });
      continue;
    }
    m = STATE_RE.exec(l);
    if (m) {
      devices.push({
        minor: Number(m[1]), cs: m[2] as ConnStateName, ro: m[3] as RoleName, peerRo: m[4] as RoleName,
        ds: m[5] as DiskStateName, pds: m[6] as DiskStateName, protocol: m[7] === ' ' ? null : (m[7] as 'A' | 'B' | 'C'),
        flags: { susp: m[8] === 's', aftrIsp: m[9] === 'a', peerIsp: m[10] === 'p', userIsp: m[11] === 'u', congestion: m[12] as '-', alSuspended: m[13] === 's' },
        counters: { ns: 0, nr: 0, dw: 0, dr: 0, al: 0, bm: 0, lo: 0, pe: 0, ua: 0, ap: 0, ep: 0, wo: 'f', oos: 0 },
      });
      continue;
    }
    m = COUNTER_RE.exec(l);
    if (m) {
      const d = devices[devices.length - 1]!;
      const n = m.slice(1).map(Number);
      d.counters = { ns: n[0]!, nr: n[1]!, dw: n[2]!, dr: n[3]!, al: n[4]!, bm: n[5]!, lo: n[6]!, pe: n[7]!, ua: n[8]!, ap: n[9]!, ep: n[10]!, wo: m[12] as 'f', oos: n[12]! };
      continue;
    }
    if (BAR_RE.test(l)) {
      const d = devices[devices.length - 1]!;
      const sizes = /\((\d+)\/(\d+)\)K$/.exec(l)!;
      const row = SYNC_TABLE[Number(sizes[1])];
      if (!row) throw new Error(`no sync table row for ${l}`);
      d.sync = sync({ totalBits: Number(sizes[2]) / 4, leftBits: Number(sizes[1]) / 4, sinceStartS: row.sinceStartS, markAgeS: row.markAgeS, markLeft: row.markLeft, wantKiBps: row.want ?? 0 });
    }
  }
  return devices;
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort();
const all = files.flatMap((f) => blocks(readFileSync(join(DIR, f), 'utf8')).map((b, i) => ({ name: `${f} #${i + 1}`, block: b })));

describe('kernel captures', () => {
  it('finds every /proc/drbd text (guards against a parser that silently finds nothing)', () => {
    const expected = files.reduce((n, f) => n + readFileSync(join(DIR, f), 'utf8').split('\n').filter((l) => l === VERSION_LINE).length, 0);
    expect(all.length).toBe(expected);
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((b) => b.block.includes("sync'ed:")).length).toBe(Object.keys(SYNC_TABLE).length);
    expect(all.filter((b) => b.block.includes('cs:Unconfigured')).length).toBeGreaterThan(0);
  });

  for (const { name, block } of all) {
    it(`reproduces ${name}`, () => {
      expect(renderProcDrbd({ header: HEADER_8411, devices: parse(block) })).toBe(block);
    });
  }
});
