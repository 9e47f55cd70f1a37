// invalidate, invalidate-remote, verify, pause-sync, resume-sync, outdate, new-current-uuid,
// wait-connect, wait-sync: requests about resync and data generations. Whether a request is
// allowed is the daemon's decision; these only build the calls.
import { CliError } from '../cli-error.js';
import { flagOption, optionValue, type DrbdadmArgs } from '../drbdadm-args.js';
import { parseScaledNumber } from '../../config/options.js';
import type { DrbdadmDeps } from './runner.js';
import { runPerTarget } from './shared.js';
import { minorStep, minorStepWithFallback, waitStep } from './steps.js';
import { EXIT_USAGE } from './target.js';

/** invalidate: the daemon starts a full sync; a minor that is not up gets the flag offline. */
export function runInvalidate(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStepWithFallback(pc, 'invalidate', v, 'offline-unless-11-17')));
}

/** outdate: the daemon outdates a running disk; otherwise the meta-data on disk is marked. */
export function runOutdate(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStepWithFallback(pc, 'outdate', v, 'outdate')));
}

type PlainSyncCommand = 'invalidate-remote' | 'pause-sync' | 'resume-sync';

export function runPlainMinor(cmd: PlainSyncCommand) {
  return (args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> =>
    runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, cmd, v, {})));
}

/** A sector position for verify (`-- --start=S verify`); drbdsetup takes sectors, suffixes allowed. */
function sectorOption(args: DrbdadmArgs, name: string): number | undefined {
  const v = optionValue(args, name);
  if (v === undefined) return undefined;
  const n = parseScaledNumber(v, 's');
  if (!n.ok) throw new CliError(`Option --${name}: invalid argument '${v}'`, 20);
  return Number(n.value);
}

/** verify: online verify from the given start (and to the given stop) sector. */
export function runVerify(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  const startSector = sectorOption(args, 'start');
  const stopSector = sectorOption(args, 'stop');
  const range = { ...(startSector !== undefined ? { startSector } : {}), ...(stopSector !== undefined ? { stopSector } : {}) };
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, 'verify', v, range)));
}

/**
 * new-current-uuid [--clear-bitmap]: a multi-volume resource named on its own needs `RES/VNR`
 * or `minor-N` (drbdadm-84's message and exit 1); `all` means every volume.
 */
export function runNewCurrentUuid(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  const clearBitmap = flagOption(args, 'clear-bitmap');
  const everything = args.positionals.includes('all');
  return runPerTarget(args, deps, {}, (pc, t) => {
    if (!everything && t.whole && t.res.local.volumes.length > 1) {
      throw new CliError(
        `new-current-uuid requires a specific volume id, but none is specified.\nTry 'new-current-uuid minor-<minor_number>' or 'new-current-uuid ${t.res.name}/<vnr>'`,
        EXIT_USAGE,
      );
    }
    return t.volumes.map((v) => minorStep(pc, 'new-current-uuid', v, { clearBitmap }));
  });
}

/** wait-connect / wait-sync: timeouts from the startup section; a timeout ends with exit 5. */
export function runWait(cmd: 'wait-connect' | 'wait-sync') {
  return (args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> =>
    runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => waitStep(pc, cmd, t, v)));
}
