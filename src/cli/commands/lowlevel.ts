// The low-level calls a drbdadm command makes, as data. Each call carries two faces:
// - argv: the drbdsetup/drbdmeta command line real drbdadm 8.4 would run. drbdadm prints it
//   for `-d` (shell-escaped) and in its `Command '...' terminated with exit code N` line
//   (joined as is);
// - what udrbd actually does: a request to udrbdd (drbdsetup's role), or an offline
//   meta-data operation (drbdmeta's role) done by an injected tool.
import type { MetaDisk } from '../../config/index.js';
import type { DaemonCommand, DaemonCommandArgs } from '../../daemon/commands.js';

/** argv[0] of the low-level tools: the plain names of the 8.4-era utilities (drbd-utils 9's
 * drbdadm-84 prints /lib/drbd/drbdsetup-84 instead). */
export const DRBDSETUP = 'drbdsetup';
export const DRBDMETA = 'drbdmeta';

/** drbdmeta operations drbdadm 8.4 runs (spec/states.md §5). */
export type MetaOp = 'apply-al' | 'dstate' | 'get-gi' | 'show-gi' | 'invalidate' | 'outdate';

/** The meta-data a drbdmeta call works on: `MINOR v08 MD-DEV MD-IDX`. */
export interface MetaTarget {
  minor: number;
  disk: string;
  metaDisk: MetaDisk;
}

export interface MetaStep {
  kind: 'meta';
  argv: string[];
  op: MetaOp;
  target: MetaTarget;
  /** Options passed on the drbdmeta line (drbdadm appends the command's options here too). */
  options: string[];
}

/**
 * The fallback rule (spec/states.md §5):
 * - 'offline-unless-11-17' (invalidate, dstate, get-gi, show-gi): a daemon answer of 11 or 17
 *   is reported (without the `Command ...` line); any other failure (minor not configured, no
 *   disk) runs the offline step instead, and the daemon's output is dropped;
 * - 'outdate': 17 ends the command silently with 17 (what drbdadm-84 does); any other failure
 *   runs the offline step.
 */
export type FallbackRule = 'offline-unless-11-17' | 'outdate';

export interface DaemonStep<C extends DaemonCommand = DaemonCommand> {
  kind: 'daemon';
  argv: string[];
  cmd: C;
  args: DaemonCommandArgs[C];
  /** How drbdsetup names the object in its messages: the minor, the resource, or `??`. */
  object: string;
  fallback?: { rule: FallbackRule; meta: MetaStep };
}

export type Step = DaemonStep | MetaStep;

/**
 * One schedulable piece of a command, as drbdadm 8.4 schedules them: `up` runs the units of
 * all resources stage by stage (every new-resource/new-minor, then every attach, then every
 * connect). A unit is skipped when an earlier unit of the same scope failed.
 */
export interface Unit {
  /** drbdadm's name for it, used in `drbdadm: new-minor r0: skipped due to earlier error`. */
  name: string;
  resource: string;
  /** Volume number for per-volume units. */
  volume?: number;
  /** What a failure of this unit stops: the rest of the resource (new-resource, new-minor) or
   * only that volume (a failed attach of volume 0 does not stop volume 1's). */
  scope: 'resource' | 'volume';
  stage: number;
  steps: Step[];
}

export function daemonStep<C extends DaemonCommand>(cmd: C, args: DaemonCommandArgs[C], argvTail: readonly string[], object: string): DaemonStep<C> {
  return { kind: 'daemon', argv: [DRBDSETUP, cmd, ...argvTail], cmd, args, object };
}

/** `MD-DEV MD-IDX` as drbdmeta takes it: internal → the disk itself, `flex-external`, or the index. */
function metaDevArgs(t: MetaTarget, forDrbdmeta: boolean): string[] {
  const md = t.metaDisk;
  switch (md.kind) {
    case 'internal':
      return [t.disk, 'internal'];
    case 'flexible':
      return [md.path, forDrbdmeta ? 'flex-external' : 'flexible'];
    case 'indexed':
      return [md.path, String(md.index)];
  }
}

/** `drbdsetup attach MINOR DISK MD-DEV MD-IDX`'s positional part after the minor. */
export function attachDiskArgs(t: MetaTarget): string[] {
  return [t.disk, ...metaDevArgs(t, false)];
}

export function metaStep(op: MetaOp, target: MetaTarget, options: readonly string[]): MetaStep {
  return {
    kind: 'meta',
    argv: [DRBDMETA, String(target.minor), 'v08', ...metaDevArgs(target, true), op, ...options],
    op,
    target,
    options: [...options],
  };
}

/** Characters drbdadm 8.4 prints bare in `-d` output; every other one gets a backslash
 * (observed with drbdadm-84 over all printable ASCII). */
const SHELL_SAFE = /[A-Za-z0-9%+\-./:=@_]/;

export function shellEscape(arg: string): string {
  let out = '';
  for (const ch of arg) out += SHELL_SAFE.test(ch) ? ch : `\\${ch}`;
  return out;
}

/** One `-d` line. */
export function dryRunLine(argv: readonly string[]): string {
  return argv.map(shellEscape).join(' ');
}
