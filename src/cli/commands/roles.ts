// primary, secondary: one drbdsetup call per volume (spec/states.md §3 "Who may become Primary").
import { flagOption, type DrbdadmArgs } from '../drbdadm-args.js';
import type { DrbdadmDeps } from './runner.js';
import { runPerTarget } from './shared.js';
import { minorStep } from './steps.js';

/** `primary --force`; 8.3 spelled it `-- --overwrite-data-of-peer primary`. */
export function runPrimary(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  const force = flagOption(args, 'force', ['overwrite-data-of-peer']);
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, 'primary', v, { force })));
}

export function runSecondary(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, 'secondary', v, {})));
}
