// states.md §4: every SS_* refusal with its text and drbdsetup exit code, the ERR_* texts, and
// drbdsetup/drbdadm's stderr as captured (kernel-captures/cli-errors-01-outputs.txt).
import { describe, expect, it } from 'vitest';
import {
  drbdadmChildFailureLine,
  drbdsetupExitCode,
  drbdsetupReport,
  ERR,
  ERR_CODES,
  errText,
  SS,
  SS_FAILURE_CODES,
  ssIsSuccess,
  ssName,
  ssText,
} from '../../../src/state/index.js';

// The spec's table, row by row: code, name, text, exit code.
const SS_TABLE: Array<[number, string, string, number]> = [
  [-1, 'SS_TWO_PRIMARIES', 'Multiple primaries not allowed by config', 11],
  [-2, 'SS_NO_UP_TO_DATE_DISK', 'Need access to UpToDate data', 17],
  [-4, 'SS_NO_LOCAL_DISK', 'Can not resync without local disk', 16],
  [-5, 'SS_NO_REMOTE_DISK', 'Can not resync without remote disk', 11],
  [-6, 'SS_CONNECTED_OUTDATES', 'Refusing to be Outdated while Connected', 11],
  [-7, 'SS_PRIMARY_NOP', 'Refusing to be Primary while peer is not outdated', 11],
  [-8, 'SS_RESYNC_RUNNING', 'Can not start OV/resync since it is already active', 11],
  [-9, 'SS_ALREADY_STANDALONE', 'Can not disconnect a StandAlone device', 11],
  [-10, 'SS_CW_FAILED_BY_PEER', 'State change was refused by peer node', 11],
  [-11, 'SS_IS_DISKLESS', 'Device is diskless, the requested operation requires a disk', 11],
  [-12, 'SS_DEVICE_IN_USE', 'Device is held open by someone', 11],
  [-13, 'SS_NO_NET_CONFIG', 'Have no net/connection configuration', 11],
  [-14, 'SS_NO_VERIFY_ALG', 'Need a verify algorithm to start online verify', 11],
  [-15, 'SS_NEED_CONNECTION', 'Need a connection to start verify or resync', 11],
  [-16, 'SS_LOWER_THAN_OUTDATED', 'Disk state is lower than outdated', 5],
  [-17, 'SS_NOT_SUPPORTED', 'Peer does not support protocol', 11],
  [-18, 'SS_IN_TRANSIENT_STATE', 'In transient state, retry after next state change', 11],
  [-19, 'SS_CONCURRENT_ST_CHG', 'Concurrent state changes detected and aborted', 11],
  [-20, 'SS_O_VOL_PEER_PRI', 'Other vol primary on peer not allowed by config', 11],
  [-21, 'SS_OUTDATE_WO_CONN', 'Need a connection for a graceful disconnect/outdate peer', 11],
];

describe('SS_* refusals', () => {
  it.each(SS_TABLE)('%i %s', (code, name, text, exit) => {
    expect(ssName(code as SS)).toBe(name);
    expect(ssText(code as SS)).toBe(text);
    expect(drbdsetupExitCode(code)).toBe(exit);
    expect(drbdsetupReport('0', code)).toEqual({
      stderr: `0: State change failed: (${code}) ${text}\n`,
      exitCode: exit,
    });
  });

  it('the table covers every refusal code of the enum', () => {
    expect([...SS_FAILURE_CODES]).toEqual(SS_TABLE.map((r) => r[0]));
  });

  it('successes exit 0 and print nothing', () => {
    for (const c of [SS.Success, SS.NothingToDo, SS.CwSuccess, SS.CwNoNeed]) {
      expect(drbdsetupReport('r0', c)).toEqual({ stderr: '', exitCode: 0 });
      expect(ssIsSuccess(c)).toBe(true);
    }
    expect(ssIsSuccess(SS.UnknownError)).toBe(false);
    expect(ssIsSuccess(SS.TwoPrimaries)).toBe(false);
  });

  it('wire values of P_STATE_CHG_REPLY (wire-protocol-84.md §5.3): 25 codes, ≥ 1 is success', () => {
    expect(SS.Success).toBe(1);
    expect(SS.CwFailedByPeer).toBe(-10);
    expect(SS.ConcurrentStChg).toBe(-19);
    expect(Object.values(SS).filter((v) => typeof v === 'number').length).toBe(25);
    expect(ssName(-3 as SS)).toBeUndefined();
    expect([4, 3, 2, 1].every(ssIsSuccess)).toBe(true);
    expect([0, -1].some(ssIsSuccess)).toBe(false);
  });

  it('SS_UNKNOWN_ERROR has its own wording', () => {
    expect(drbdsetupReport('0', SS.UnknownError)).toEqual({
      stderr: '0: State change failed: (0)unknown error.\n',
      exitCode: 11,
    });
  });

  it('adds the kernel’s reason (down while open, cli-errors capture)', () => {
    expect(drbdsetupReport('r0', SS.DeviceInUse, 'failed to demote')).toEqual({
      stderr: 'r0: State change failed: (-12) Device is held open by someone\nadditional info from kernel:\nfailed to demote\n',
      exitCode: 11,
    });
  });
});

describe('ERR_* failures', () => {
  const ERR_TABLE: Array<[ERR, string]> = [
    [ERR.LocalAddr, 'Local address(port) already in use.'],
    [ERR.MdInvalid, "No valid meta-data signature found.\n\n\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==\n"],
    [ERR.DiscardNotAllowed, '--discard-my-data not allowed when primary.'],
    [ERR.DiskConfigured, 'Device is attached to a disk (use detach first)'],
    [ERR.NetConfigured, 'Device has a net-config (use disconnect first)'],
    [ERR.MinorInvalid, 'Device minor not allocated'],
    [ERR.ResyncAfter, 'The sync-after minor number is invalid'],
    [ERR.ResyncAfterCycle, 'This would cause a sync-after dependency cycle'],
    [ERR.PauseIsSet, 'Sync-pause flag is already set'],
    [ERR.PauseIsClear, 'Sync-pause flag is already cleared'],
    [ERR.NoDiskConfig, 'Device does not have a disk-config'],
    [ERR.NotProtoC, 'Protocol C required'],
    [ERR.NeedStandalone, 'Need to be StandAlone'],
    [ERR.PicAfterDep, 'Sync-pause flag is already cleared.\nNote: Resync pause caused by a local resync-after dependency.'],
    [ERR.PicPeerDep, 'Sync-pause flag is already cleared.\nNote: Resync pause caused by the peer node.'],
    [ERR.InvalidRequest, 'Invalid configuration request'],
    [ERR.MdUnclean, "Unclean meta-data found.\nYou need to 'drbdadm apply-al res'\n"],
  ];
  it.each(ERR_TABLE)('%i', (code, text) => {
    expect(errText(code)).toBe(text);
    expect(drbdsetupExitCode(code)).toBe(10);
  });
  it('the table covers every ERR code', () => {
    expect([...ERR_CODES].sort()).toEqual(ERR_TABLE.map((r) => r[0]).sort());
  });

  it('prints "Failure: (n) text" and the kernel reason (unknown minor capture)', () => {
    expect(drbdsetupReport('0', ERR.MinorInvalid, 'unknown minor')).toEqual({
      stderr: '0: Failure: (127) Device minor not allocated\nadditional info from kernel:\nunknown minor\n',
      exitCode: 10,
    });
    expect(drbdsetupReport('r0', ERR.LocalAddr).stderr).toBe('r0: Failure: (102) Local address(port) already in use.\n');
    // A text that already ends in a newline gets no second one.
    expect(drbdsetupReport('0', ERR.MdUnclean).stderr).toBe("0: Failure: (165) Unclean meta-data found.\nYou need to 'drbdadm apply-al res'\n");
  });
});

describe('drbdadm wrapper line', () => {
  it('is printed for child exit codes ≥ 10 only', () => {
    expect(drbdadmChildFailureLine(['drbdsetup-84', 'primary', '0'], 17)).toBe(
      "Command 'drbdsetup-84 primary 0' terminated with exit code 17\n",
    );
    expect(drbdadmChildFailureLine(['drbdsetup-84', 'secondary', '0'], 11)).toBe(
      "Command 'drbdsetup-84 secondary 0' terminated with exit code 11\n",
    );
    expect(drbdadmChildFailureLine(['drbdsetup', 'outdate', '0'], 5)).toBeUndefined();
  });
});
