import { describe, expect, it } from 'vitest';
import { type DrbdadmStatusResource, type DrbdadmStatusVolume, doneField, renderDrbdadmStatus } from '../../../src/status/drbdadm-status.js';

function vol(over: Partial<DrbdadmStatusVolume> = {}): DrbdadmStatusVolume {
  return { volume: 0, minor: 0, disk: 'UpToDate', cs: 'Connected', peerDisk: 'UpToDate', userIsp: false, peerIsp: false, aftrIsp: false, sizeSectors: 130992, oosSectors: 0, ...over };
}
function res(over: Partial<DrbdadmStatusResource> = {}): DrbdadmStatusResource {
  return {
    name: 'r0', role: 'Secondary', suspended: { user: false, noData: false, fencing: false }, volumes: [vol()],
    connection: { cs: 'Connected', peerRole: 'Secondary', congested: false }, ...over,
  };
}

describe('drbdadm status (drbdsetup-84 status format)', () => {
  it('reproduces spec/kernel-captures/initial-sync-04-connected.txt (plus the blank line drbdsetup ends each resource with)', () => {
    const r = res({ volumes: [vol({ disk: 'Inconsistent', peerDisk: 'Inconsistent' })] });
    expect(renderDrbdadmStatus([r])).toBe('r0 role:Secondary\n  disk:Inconsistent\n  peer role:Secondary\n    replication:Established peer-disk:Inconsistent\n\n');
  });
  it('no net config: no peer section', () => {
    expect(renderDrbdadmStatus([res({ role: 'Primary', connection: null })])).toBe('r0 role:Primary\n  disk:UpToDate\n\n');
  });
  it('before WFReportParams: connection word, no peer devices', () => {
    const t = (cs: DrbdadmStatusVolume['cs']): string =>
      renderDrbdadmStatus([res({ volumes: [vol({ cs, peerDisk: 'DUnknown' })], connection: { cs, peerRole: 'Unknown', congested: false } })]);
    expect(t('WFConnection')).toBe('r0 role:Secondary\n  disk:UpToDate\n  peer connection:Connecting\n\n');
    expect(t('StandAlone')).toBe('r0 role:Secondary\n  disk:UpToDate\n  peer connection:StandAlone\n\n');
    expect(t('NetworkFailure')).toBe('r0 role:Secondary\n  disk:UpToDate\n  peer connection:NetworkFailure\n\n');
  });
  it('WFReportParams with DUnknown peer disk prints an empty peer-device line (as drbdsetup does)', () => {
    const r = res({ volumes: [vol({ cs: 'WFReportParams', peerDisk: 'DUnknown' })], connection: { cs: 'WFReportParams', peerRole: 'Unknown', congested: false } });
    expect(renderDrbdadmStatus([r])).toBe('r0 role:Secondary\n  disk:UpToDate\n  peer role:Unknown\n\n\n');
  });
  it('sync: replication name, done: from out-of-sync / size, resync-suspended', () => {
    const r = res({ role: 'Primary', volumes: [vol({ cs: 'SyncSource', peerDisk: 'Inconsistent', oosSectors: 64000 })] });
    expect(renderDrbdadmStatus([r])).toBe('r0 role:Primary\n  disk:UpToDate\n  peer role:Secondary\n    replication:SyncSource peer-disk:Inconsistent done:51.14\n\n');
    const p = res({ volumes: [vol({ cs: 'PausedSyncT', disk: 'Inconsistent', userIsp: true, aftrIsp: true, oosSectors: 130992 })] });
    expect(renderDrbdadmStatus([p])).toContain('    replication:PausedSyncT peer-disk:UpToDate done:0.00\n        resync-suspended:user,dependency\n');
  });
  it('resource suspension, blocked devices and congestion', () => {
    const r = res({ suspended: { user: true, noData: false, fencing: true }, volumes: [vol({ upperBlocked: true, lowerBlocked: true })], connection: { cs: 'Connected', peerRole: 'Primary', congested: true } });
    expect(renderDrbdadmStatus([r])).toBe('r0 role:Secondary suspended:user,fencing\n  disk:UpToDate blocked:upper,lower\n  peer role:Primary congested:yes\n    replication:Established peer-disk:UpToDate\n\n');
  });
  it('several volumes are listed with volume:N, sorted; resources sorted by name', () => {
    const a = res({ name: 'b', volumes: [vol({ volume: 1, minor: 2 }), vol({ volume: 0, minor: 1, cs: 'SyncTarget', disk: 'Inconsistent', oosSectors: 0 })] });
    const b = res({ name: 'a', volumes: [vol({ volume: 3 })] });
    expect(renderDrbdadmStatus([a, b])).toBe(
      'a role:Secondary\n  volume:3 disk:UpToDate\n  peer role:Secondary\n    volume:3 replication:Established peer-disk:UpToDate\n\n' +
        'b role:Secondary\n  volume:0 disk:Inconsistent\n  volume:1 disk:UpToDate\n  peer role:Secondary\n' +
        '    volume:0 replication:SyncTarget peer-disk:UpToDate done:100.00\n    volume:1 replication:Established peer-disk:UpToDate\n\n',
    );
  });
  it('wraps an item that would pass the width onto a new line at its indent', () => {
    const r = res({ volumes: [vol({ cs: 'PausedSyncS', peerDisk: 'Inconsistent', oosSectors: 64000, userIsp: true, peerIsp: true, aftrIsp: true })] });
    expect(renderDrbdadmStatus([r])).toContain(
      '    replication:PausedSyncS peer-disk:Inconsistent done:51.14\n        resync-suspended:user,peer,dependency\n',
    );
    expect(renderDrbdadmStatus([r], { columns: 200 })).toContain('done:51.14 resync-suspended:user,peer,dependency\n');
  });
  it('colours as drbdsetup --color=always: local items bold, peer items plain', () => {
    const r = res({ role: 'Primary', volumes: [vol({ cs: 'SyncTarget', disk: 'Inconsistent', oosSectors: 0 })], connection: { cs: 'Connected', peerRole: 'Secondary', congested: false } });
    expect(renderDrbdadmStatus([r], { color: true, columns: 200 })).toBe(
      'r0 role:\x1b[1;36mPrimary\x1b[0m\n  disk:\x1b[1;31mInconsistent\x1b[0m\n  peer role:Secondary\n' +
        '    replication:\x1b[1;31mSyncTarget\x1b[0m peer-disk:\x1b[32mUpToDate\x1b[0m done:100.00\n\n',
    );
    const c = res({ connection: { cs: 'WFConnection', peerRole: 'Unknown', congested: false }, volumes: [vol({ cs: 'WFConnection' })] });
    expect(renderDrbdadmStatus([c], { color: true })).toContain('  peer connection:\x1b[1;31mConnecting\x1b[0m\n');
  });
  it('done: with a zero size prints what glibc prints for the IEEE result', () => {
    expect(doneField(0, 0)).toBe('-nan');
    expect(doneField(8, 0)).toBe('-inf');
  });
});
