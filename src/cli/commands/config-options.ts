// The configured options drbdadm puts on drbdsetup's command lines, in drbdadm 8.4's order.
//
// Observed with drbdadm-84 -d (test/unit/cli/dry-run.test.ts compares):
// - only configured options are passed (defaults never), common merged into the resource:
//   the resource's own statements in file order, and before them each common option the
//   resource does not set — each one put in front, so they come out in reverse;
// - attach takes the volume's list, built by putting each option of that merged list in front
//   (reversing it), then each of the volume's own `disk {}` options the list lacks;
// - startup options go to wait-connect the same way as net options; become-primary-on and
//   stacked-timeouts are drbdadm's own and never passed.
//
// Deliberate difference: drbdadm-84 keeps the first of repeated options and lets resource and
// common values beat a volume's own `disk {}` value; udrbd applies the volume's value and the
// last of repeated statements (src/config/resolve.ts), so where they differ the line shows the
// value udrbd applies, at drbdadm-84's position.
import type { Config, OptionStmt, Resource, Volume } from '../../config/index.js';

type Section = 'options' | 'net' | 'disk' | 'startup';

/** Startup options the kernel's wait-connect takes. */
const KERNEL_STARTUP = new Set(['wfc-timeout', 'degr-wfc-timeout', 'outdated-wfc-timeout', 'wait-after-sb']);

function lastOf(list: readonly OptionStmt[], name: string): OptionStmt | undefined {
  for (let i = list.length - 1; i >= 0; i--) if (list[i].name === name) return list[i];
  return undefined;
}

/** The resource's own statements, then in front each inherited option it lacks (value: the
 * last inherited statement of that name, the one udrbd applies). */
function inheritInFront(own: readonly OptionStmt[], inherited: readonly OptionStmt[]): OptionStmt[] {
  const out = [...own];
  for (const s of inherited) {
    if (!out.some((o) => o.name === s.name)) out.unshift(lastOf(inherited, s.name) as OptionStmt);
  }
  return out;
}

function sectionStmts(config: Config, res: Resource, section: Section): OptionStmt[] {
  const pick = (l: readonly OptionStmt[]) => (section === 'startup' ? l.filter((o) => KERNEL_STARTUP.has(o.name)) : [...l]);
  return inheritInFront(pick(res.sections[section]), pick(config.common?.[section] ?? []));
}

export interface OptionContext {
  hostname: string;
  /** The minor drbdadm passes for resync-after; undefined drops the option (unknown resource). */
  resyncAfterMinor: number | undefined;
}

/** `--name=value` as drbdadm passes it: the literal value, except the two it translates. */
function toArg(s: OptionStmt, ctx: OptionContext): string | undefined {
  if (s.value === undefined) return `--${s.name}`;
  if (s.name === 'resync-after') return ctx.resyncAfterMinor === undefined ? undefined : `--resync-after=${ctx.resyncAfterMinor}`;
  if (s.name === 'after-sb-0pri' && s.value.startsWith('discard-node-')) {
    return `--after-sb-0pri=${s.value.slice('discard-node-'.length) === ctx.hostname ? 'discard-local' : 'discard-remote'}`;
  }
  return `--${s.name}=${s.value}`;
}

function toArgs(list: readonly OptionStmt[], ctx: OptionContext): string[] {
  return list.map((s) => toArg(s, ctx)).filter((a): a is string => a !== undefined);
}

/** new-resource's options (the `options {}` section). */
export function resourceOptionArgs(config: Config, res: Resource, ctx: OptionContext): string[] {
  return toArgs(sectionStmts(config, res, 'options'), ctx);
}

/** connect's options (the `net {}` section). */
export function netOptionArgs(config: Config, res: Resource, ctx: OptionContext): string[] {
  return toArgs(sectionStmts(config, res, 'net'), ctx);
}

/** wait-connect's options (the kernel's part of `startup {}`). */
export function startupOptionArgs(config: Config, res: Resource, ctx: OptionContext): string[] {
  return toArgs(sectionStmts(config, res, 'startup'), ctx);
}

/** attach's options for one volume. */
export function diskOptionArgs(config: Config, res: Resource, volume: Volume | undefined, ctx: OptionContext): string[] {
  const own = volume?.diskOptions ?? [];
  const names: string[] = [];
  for (const s of sectionStmts(config, res, 'disk')) if (!names.includes(s.name)) names.unshift(s.name);
  for (const s of own) if (!names.includes(s.name)) names.unshift(s.name);
  // The value udrbd applies: the volume's own, else the resource's, else common's (last of each).
  const effective = (name: string) =>
    lastOf(own, name) ?? lastOf(res.sections.disk, name) ?? (lastOf(config.common?.disk ?? [], name) as OptionStmt);
  return toArgs(names.map(effective), ctx);
}
