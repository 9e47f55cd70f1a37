// Builders of the low-level steps: one per drbdsetup/drbdmeta call drbdadm 8.4 makes, with the
// daemon's arguments taken from the resolved resource (src/daemon/commands.ts is the contract).
import { allOptions, flagOption, optionValue, type DrbdadmArgs } from '../drbdadm-args.js';
import type { Address, Config, HostContext, ResolvedVolume } from '../../config/index.js';
import type { DaemonCommand, DaemonCommandArgs, MinorArgs } from '../../daemon/commands.js';
import { diskOptionArgs, netOptionArgs, resourceOptionArgs, startupOptionArgs, type OptionContext } from './config-options.js';
import { attachDiskArgs, daemonStep, metaStep, type DaemonStep, type FallbackRule, type MetaOp, type MetaStep, type Step } from './lowlevel.js';
import { rawVolume, withCommandLineOptions, type Target } from './target.js';

/** What every builder needs: the configuration, who this host is, and the command line. */
export interface PlanContext {
  config: Config;
  ctx: HostContext;
  args: DrbdadmArgs;
}

function optionContext(pc: PlanContext, t: Target): OptionContext {
  return { hostname: pc.ctx.hostname, resyncAfterMinor: t.res.resyncAfterMinor };
}

/** drbdadm appends the options typed on its command line to the low-level call. */
function typed(pc: PlanContext): string[] {
  return allOptions(pc.args);
}

function addr(a: Pick<Address, 'af' | 'ip' | 'port'>): string {
  return a.af === 'ipv6' ? `ipv6:[${a.ip}]:${a.port}` : `${a.af}:${a.ip}:${a.port}`;
}

/** The configured address statements (with their location), as the daemon contract wants them. */
function addresses(t: Target): { local: Address; peer: Address } | undefined {
  const peerHost = t.raw.hosts.find((h) => h !== t.me);
  if (!t.me.address || !peerHost?.address) return undefined;
  return { local: t.me.address, peer: peerHost.address };
}

export function newResourceStep(pc: PlanContext, t: Target): Step {
  const r = t.res;
  const args: DaemonCommandArgs['new-resource'] = {
    resource: r.name,
    options: r.options,
    handlers: r.handlers,
    startup: r.startup,
    configFile: pc.config.file,
    ...(r.resyncAfterMinor !== undefined ? { resyncAfterMinor: r.resyncAfterMinor } : {}),
  };
  return daemonStep('new-resource', args, [r.name, ...resourceOptionArgs(pc.config, t.raw, optionContext(pc, t)), ...typed(pc)], r.name);
}

export function newMinorStep(t: Target, v: ResolvedVolume): Step {
  return daemonStep('new-minor', { resource: t.res.name, minor: v.minor, volume: v.vnr, device: v.device }, [t.res.name, String(v.minor), String(v.vnr)], t.res.name);
}

function metaTarget(v: ResolvedVolume) {
  return { minor: v.minor, disk: v.disk, metaDisk: v.metaDisk };
}

/** `drbdmeta MINOR v08 MD-DEV MD-IDX OP [options]`. */
export function offlineStep(pc: PlanContext, op: MetaOp, v: ResolvedVolume): MetaStep {
  return metaStep(op, metaTarget(v), typed(pc));
}

/** attach = drbdmeta apply-al, then drbdsetup attach (options typed for attach override the config). */
export function attachSteps(pc: PlanContext, target: Target, v: ResolvedVolume): Step[] {
  const t = withCommandLineOptions(pc.config, target, 'disk', pc.args.commandOptions, pc.ctx);
  const rv = t.res.local.volumes.find((x) => x.vnr === v.vnr) as ResolvedVolume;
  const diskOptions = t.res.volumeDisk.get(v.vnr) ?? t.res.disk;
  const argv = [String(v.minor), ...attachDiskArgs(metaTarget(rv)), ...diskOptionArgs(pc.config, target.raw, rawVolume(target, v.vnr), optionContext(pc, target)), ...typed(pc)];
  return [offlineStep(pc, 'apply-al', rv), daemonStep('attach', { minor: v.minor, disk: rv.disk, metaDisk: rv.metaDisk, diskOptions }, argv, String(v.minor))];
}

/** connect; undefined when the resource has no peer section (nothing to connect to). */
export function connectStep(pc: PlanContext, target: Target): Step | undefined {
  const t = withCommandLineOptions(pc.config, target, 'net', pc.args.commandOptions, pc.ctx);
  const a = addresses(t);
  if (!a || !t.res.peer) return undefined;
  const args: DaemonCommandArgs['connect'] = {
    resource: t.res.name,
    local: a.local,
    peer: a.peer,
    peerHost: t.res.peer.names[0],
    net: t.res.net,
    discardMyData: flagOption(pc.args, 'discard-my-data'),
    dryRun: flagOption(pc.args, 'tentative'),
  };
  const argv = [t.res.name, addr(a.local), addr(a.peer), ...netOptionArgs(pc.config, target.raw, optionContext(pc, target)), ...typed(pc)];
  return daemonStep('connect', args, argv, t.res.name);
}

export function disconnectStep(pc: PlanContext, t: Target): Step | undefined {
  const a = addresses(t);
  if (!a) return undefined;
  return daemonStep('disconnect', { resource: t.res.name, force: flagOption(pc.args, 'force') }, [addr(a.local), addr(a.peer), ...typed(pc)], '??');
}

export function downStep(pc: PlanContext, t: Target): Step {
  return daemonStep('down', { resource: t.res.name }, [t.res.name, ...typed(pc)], t.res.name);
}

/** Minor commands whose daemon arguments are the minor alone. */
export type PlainMinorCommand = {
  [C in DaemonCommand]: DaemonCommandArgs[C] extends MinorArgs ? (MinorArgs extends DaemonCommandArgs[C] ? C : never) : never;
}[DaemonCommand];

/** `drbdsetup CMD MINOR [options]`, with the daemon arguments given (minor filled in). */
export function minorStep<C extends DaemonCommand>(pc: PlanContext, cmd: C, v: ResolvedVolume, args: Omit<DaemonCommandArgs[C], 'minor'>): DaemonStep<C> {
  return daemonStep(cmd, { ...args, minor: v.minor } as DaemonCommandArgs[C], [String(v.minor), ...typed(pc)], String(v.minor));
}

/** A minor command that falls back to drbdmeta (invalidate, outdate, dstate, get-gi, show-gi). */
export function minorStepWithFallback(pc: PlanContext, cmd: PlainMinorCommand & MetaOp, v: ResolvedVolume, rule: FallbackRule): Step {
  const step = minorStep(pc, cmd, v, {} as Omit<DaemonCommandArgs[typeof cmd], 'minor'>);
  return { ...step, fallback: { rule, meta: offlineStep(pc, cmd, v) } };
}

/** Seconds from `--NAME=N`, if typed (udrbd extension for wait-connect; drbdadm-84 ignores them). */
function typedSeconds(pc: PlanContext, name: string): number | undefined {
  const v = optionValue(pc.args, name);
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** wait-connect / wait-sync: timeouts from the startup section (0 = forever). */
export function waitStep(pc: PlanContext, cmd: 'wait-connect' | 'wait-sync', t: Target, v: ResolvedVolume): Step {
  const s = t.res.startup;
  const args = {
    minor: v.minor,
    wfcTimeout: typedSeconds(pc, 'wfc-timeout') ?? s.wfcTimeoutSec,
    degrWfcTimeout: typedSeconds(pc, 'degr-wfc-timeout') ?? s.degrWfcTimeoutSec,
    outdatedWfcTimeout: typedSeconds(pc, 'outdated-wfc-timeout') ?? s.outdatedWfcTimeoutSec,
    waitAfterSb: flagOption(pc.args, 'wait-after-sb') || s.waitAfterSb,
  };
  // drbdadm-84 passes only the configured startup options here, not what was typed.
  const argv = [String(v.minor), ...startupOptionArgs(pc.config, t.raw, optionContext(pc, t)), ...pc.args.commandOptions];
  return daemonStep(cmd, args, argv, String(v.minor));
}
