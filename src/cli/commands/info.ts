// role, cstate, dstate, get-gi, show-gi, status and the sh-* helpers: reading state, never
// changing it. The daemon's text is printed as it comes; status renders the daemon's numbers.
import type { DrbdadmArgs } from '../drbdadm-args.js';
import type { NodeStatus } from '../../daemon/commands.js';
import type { ResolvedVolume } from '../../config/index.js';
import { renderDrbdadmStatus } from '../../status/index.js';
import { daemonStep, dryRunLine } from './lowlevel.js';
import { Runner, wrapperLine, type DrbdadmDeps } from './runner.js';
import { planContext, requireNames, runPerTarget } from './shared.js';
import { minorStep, minorStepWithFallback } from './steps.js';
import { expandNames, resolveTarget, type Target } from './target.js';

export function runRole(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, 'role', v, {})));
}

export function runCstate(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, 'cstate', v, {})));
}

/** dstate, get-gi, show-gi: the daemon's answer, or the meta-data on disk when the minor is not up. */
export function runWithMetaFallback(cmd: 'dstate' | 'get-gi' | 'show-gi') {
  return (args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> =>
    runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStepWithFallback(pc, cmd, v, 'offline-unless-11-17')));
}

/** Terminal width for drbdsetup's line wrapping; 80 when stdout is not a terminal. */
function columns(): number {
  return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80;
}

/**
 * `drbdadm status [RES...|all]` (no name = all): one `drbdsetup status RES` per resource, each
 * rendered from the daemon's NodeStatus. A resource udrbdd does not have is drbdsetup's
 * `RES: No such resource` (exit 10).
 */
export async function runStatus(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  const pc = planContext(args);
  const names = expandNames(pc.config, args.positionals.length ? args.positionals : ['all'], pc.ctx);
  const targets: Target[] = [];
  for (const n of names) targets.push(resolveTarget(pc.config, n, pc.ctx));
  const runner = new Runner(deps, args.dryRun);
  if (args.dryRun) {
    for (const t of targets) process.stdout.write(`${dryRunLine(['drbdsetup', 'status', t.res.name])}\n`);
    return 0;
  }
  const reply = await runner.ask(daemonStep('status', {}, ['status'], '??'));
  const running = reply.exitCode === 0 ? (reply.result as NodeStatus).resources : [];
  let worst = 0;
  for (const t of targets) {
    const r = running.find((x) => x.name === t.res.name);
    if (r) {
      process.stdout.write(renderDrbdadmStatus([r], { columns: columns() }));
    } else {
      process.stderr.write(`${t.res.name}: No such resource\n${wrapperLine(['drbdsetup', 'status', t.res.name], 10)}`);
      worst = Math.max(worst, 10);
    }
  }
  return worst;
}

function metaIdx(v: ResolvedVolume): string {
  const md = v.metaDisk;
  return md.kind === 'indexed' ? String(md.index) : md.kind;
}

function metaDev(v: ResolvedVolume): string {
  return v.metaDisk.kind === 'internal' ? v.disk : v.metaDisk.path;
}

const SH_VOLUME_FIELDS: Record<string, (v: ResolvedVolume) => string> = {
  'sh-dev': (v) => v.device,
  'sh-minor': (v) => String(v.minor),
  'sh-ll-dev': (v) => v.disk,
  'sh-md-dev': metaDev,
  'sh-md-idx': metaIdx,
};

/** sh-dev, sh-minor, sh-ll-dev, sh-md-dev, sh-md-idx: one line per selected volume, from the config. */
export function runShVolumeField(args: DrbdadmArgs): Promise<number> {
  const field = SH_VOLUME_FIELDS[args.command as string];
  const names = requireNames(args);
  const pc = planContext(args);
  for (const n of expandNames(pc.config, names, pc.ctx)) {
    const t = resolveTarget(pc.config, n, pc.ctx);
    process.stdout.write(t.volumes.map((v) => `${field(v)}\n`).join(''));
  }
  return Promise.resolve(0);
}

/** sh-resources: every resource of this host on one line; names given are ignored (with drbdadm's note). */
export function runShResources(args: DrbdadmArgs): Promise<number> {
  if (args.positionals.length) process.stderr.write('This command will ignore resource names!\n');
  const pc = planContext(args);
  const names = expandNames(pc.config, ['all'], pc.ctx);
  if (names.length) process.stdout.write(`${names.join(' ')}\n`);
  return Promise.resolve(0);
}

export const SH_VOLUME_COMMANDS = Object.keys(SH_VOLUME_FIELDS);
