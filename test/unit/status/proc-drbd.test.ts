import { describe, expect, it } from 'vitest';
import { UDRBD_PROC_HEADER, renderHeader, renderProcDrbd } from '../../../src/status/proc-drbd.js';
import { HEADER_847, HEADER_8411, device, sync, type DeviceOverrides } from './fixtures.js';

const H = 'version: 8.4.7-1 (api:1/proto:86-101)\nGIT-hash: 3a6a769340ef93b1ba2792c6461250790795db49 build by root@node1, 2016-01-12 10:00:00\n';

describe('spec/proc-drbd.md §4 worked examples, byte for byte', () => {
  it('(a) fresh create-md + up, connected, nobody primary', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [device({ ds: 'Inconsistent', pds: 'Inconsistent', counters: { al: 8, oos: 65496 } })],
    });
    expect(text).toBe(
      H +
        ' 0: cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C r-----\n' +
        '    ns:0 nr:0 dw:0 dr:0 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:65496\n',
    );
  });

  it('(a) before the connection: WFConnection with AL suspended', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [device({ cs: 'WFConnection', peerRo: 'Unknown', ds: 'Inconsistent', pds: 'DUnknown', flags: { alSuspended: true }, counters: { al: 8, oos: 65496 } })],
    });
    expect(text.split('\n')[2]).toBe(' 0: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C r----s');
  });

  // left 8000 bits, mark 10 s old with 13000 left, 20 s since start, fixed rate 10M.
  const bSync = sync({ totalBits: 16374, leftBits: 8000, sinceStartS: 20, markAgeS: 10, markLeft: 13000, wantKiBps: 10240 });

  it('(b) SyncSource during the full sync', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [
        device({ ro: 'Primary', pds: 'Inconsistent', cs: 'SyncSource', sync: bSync, counters: { ns: 33496, dr: 33560, al: 8, pe: 2, oos: 32000 } }),
      ],
    });
    expect(text).toBe(
      H +
        ' 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----\n' +
        '    ns:33496 nr:0 dw:0 dr:33560 al:8 bm:0 lo:0 pe:2 ua:0 ap:0 ep:1 wo:f oos:32000\n' +
        "\t[==========>.........] sync'ed: 56.3% (32000/65496)K\n" +
        '\tfinish: 0:00:15 speed: 2,000 (1,672) K/sec\n',
    );
  });

  it('(b) the peer (SyncTarget) adds want:', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [device({ peerRo: 'Primary', ds: 'Inconsistent', cs: 'SyncTarget', sync: bSync, counters: { oos: 32000 } })],
    });
    expect(text.split('\n').slice(2)).toEqual([
      ' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----',
      '    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:32000',
      "\t[==========>.........] sync'ed: 56.3% (32000/65496)K",
      '\tfinish: 0:00:15 speed: 2,000 (1,672) want: 10,240 K/sec',
      '',
    ]);
  });

  it('(c) sync finished', () => {
    const text = renderProcDrbd({ header: HEADER_847, devices: [device({ ro: 'Primary', counters: { ns: 65496, dr: 65560, al: 8 } })] });
    expect(text).toBe(
      H +
        ' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n' +
        '    ns:65496 nr:0 dw:0 dr:65560 al:8 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n',
    );
  });

  it('(d) peer gone, primary keeps writing', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [device({ cs: 'WFConnection', ro: 'Primary', peerRo: 'Unknown', pds: 'DUnknown', counters: { ns: 65496, dw: 4096, dr: 65560, al: 9, oos: 4096 } })],
    });
    expect(text).toBe(
      H +
        ' 0: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r-----\n' +
        '    ns:65496 nr:0 dw:4096 dr:65560 al:9 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:4096\n',
    );
  });

  it('(e) StandAlone: no net config, the protocol column is a space', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [device({ cs: 'StandAlone', peerRo: 'Unknown', pds: 'DUnknown', protocol: null, counters: { nr: 65496, dw: 65496 } })],
    });
    expect(text).toBe(
      H +
        ' 0: cs:StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown   r-----\n' +
        '    ns:0 nr:65496 dw:65496 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n',
    );
  });
});

describe('header forms', () => {
  it('srcversion form pads to 24 columns (one trailing space for a 23-char srcversion)', () => {
    expect(renderHeader(HEADER_8411)).toBe('version: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n');
  });
  it('built-in form', () => {
    expect(renderHeader({ ...HEADER_8411, buildTag: { kind: 'built-in' } })).toBe('version: 8.4.11 (api:1/proto:86-101)\nbuilt-in\n');
  });
  it('GIT-hash form lists locally modified files after the hash', () => {
    const h = renderHeader({ ...HEADER_847, buildTag: { kind: 'git', hash: 'abc', modifiedFiles: ['drbd/a.c', 'drbd/b.c'], user: 'u', host: 'h', date: 'd' } });
    expect(h.split('\n')[1]).toBe('GIT-hash: abc drbd/a.c drbd/b.c build by u@h, d');
  });
  it("udrbd's default header is the 8.4.7 GIT-hash form", () => {
    expect(renderProcDrbd({ header: UDRBD_PROC_HEADER, devices: [] })).toBe(
      'version: 8.4.7-1 (api:1/proto:86-101)\nGIT-hash: 3a6a769340ef93b1ba2792c6461250790795db49 build by root@udrbd, 2016-01-12 10:00:00\n',
    );
  });
});

describe('device list', () => {
  const minorLines = (minors: number[]): string[] =>
    renderProcDrbd({ header: HEADER_847, devices: minors.map((minor) => device({ minor })) })
      .split('\n')
      .slice(2)
      .filter((l) => !l.startsWith('    '));

  it('no blank line for consecutive minors starting at 0', () => {
    expect(minorLines([0, 1, 2])).toEqual([' 0: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C r-----', ' 1: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C r-----', ' 2: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate C r-----', '']);
  });
  it('a blank line before a minor that does not follow the previous one, and before a first minor other than 0', () => {
    const l = minorLines([1, 2, 5, 9, 10]).map((s) => s.slice(0, 3));
    expect(l).toEqual(['', ' 1:', ' 2:', '', ' 5:', '', ' 9:', '10:', '']);
  });
  it('sorts by minor; minors of 3 digits widen the column', () => {
    const l = minorLines([100, 3]).map((s) => s.slice(0, 5));
    expect(l).toEqual(['', ' 3: c', '', '100: ', '']);
  });
  it('only the header when no minor exists (after down)', () => {
    expect(renderProcDrbd({ header: HEADER_8411, devices: [] })).toBe('version: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n');
  });
  it('rejects a minor listed twice', () => {
    expect(() => renderProcDrbd({ header: HEADER_847, devices: [device(), device()] })).toThrow(/twice/);
  });
});

describe('Unconfigured', () => {
  it('StandAlone + Diskless + Secondary prints only cs:Unconfigured', () => {
    const text = renderProcDrbd({ header: HEADER_8411, devices: [device({ cs: 'StandAlone', ds: 'Diskless', pds: 'DUnknown', protocol: null, peerRo: 'Unknown' })] });
    expect(text).toBe('version: 8.4.11 (api:1/proto:86-101)\nsrcversion: F73C670A7EC572DB9CF3E5B \n 0: cs:Unconfigured\n');
  });
  it('a diskless StandAlone Primary is not Unconfigured', () => {
    const text = renderProcDrbd({ header: HEADER_847, devices: [device({ cs: 'StandAlone', ro: 'Primary', ds: 'Diskless', pds: 'DUnknown', protocol: null, peerRo: 'Unknown' })] });
    expect(text.split('\n')[2]).toBe(' 0: cs:StandAlone ro:Primary/Unknown ds:Diskless/DUnknown   r-----');
  });
});

describe('flags and counters', () => {
  it('prints each of the six flag characters in its column', () => {
    const line = (flags: DeviceOverrides['flags']): string =>
      renderProcDrbd({ header: HEADER_847, devices: [device({ flags })] }).split('\n')[2]!.slice(-6);
    expect(line({})).toBe('r-----');
    expect(line({ susp: true })).toBe('s-----');
    expect(line({ aftrIsp: true })).toBe('ra----');
    expect(line({ peerIsp: true })).toBe('r-p---');
    expect(line({ userIsp: true })).toBe('r--u--');
    for (const c of ['d', 'c', 'b', 'n', 'a'] as const) expect(line({ congestion: c })).toBe(`r---${c}-`);
    expect(line({ alSuspended: true })).toBe('r----s');
    expect(line({ susp: true, aftrIsp: true, peerIsp: true, userIsp: true, congestion: 'a', alSuspended: true })).toBe('sapuas');
  });
  it('protocols A and B', () => {
    const l = (protocol: 'A' | 'B'): string => renderProcDrbd({ header: HEADER_847, devices: [device({ protocol })] }).split('\n')[2]!;
    expect(l('A')).toMatch(/UpToDate A r-----$/);
    expect(l('B')).toMatch(/UpToDate B r-----$/);
  });
  it('counters wrap like the kernel integers: ns..dr as 32-bit sector counts, al/bm unsigned, lo..ep signed', () => {
    const text = renderProcDrbd({
      header: HEADER_847,
      devices: [device({ counters: { ns: 2 ** 31, nr: 2 ** 31 + 5, dw: 2 ** 31 - 1, dr: 123, al: 2 ** 32 + 7, bm: 3, lo: -1, pe: 2 ** 31, ua: 4, ap: 5, ep: 6, wo: 'd', oos: 2 ** 40 } })],
    });
    expect(text.split('\n')[3]).toBe('    ns:0 nr:5 dw:2147483647 dr:123 al:7 bm:3 lo:-1 pe:-2147483648 ua:4 ap:5 ep:6 wo:d oos:1099511627776');
  });
});
