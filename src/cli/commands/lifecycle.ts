// up, down, attach, detach, connect, disconnect, adjust: bringing a resource's pieces into the
// daemon and out again (spec/states.md §5 lists the low-level calls).
import type { DrbdadmArgs } from '../drbdadm-args.js';
import { flagOption } from '../drbdadm-args.js';
import type { NodeStatus } from '../../daemon/commands.js';
import type { DrbdadmStatusResource } from '../../status/index.js';
import { daemonStep, type Step, type Unit } from './lowlevel.js';
import type { DrbdadmDeps, Runner } from './runner.js';
import { runPerTarget, runStagedTargets } from './shared.js';
import { attachSteps, connectStep, disconnectStep, downStep, minorStep, newMinorStep, newResourceStep, type PlanContext } from './steps.js';
import type { Target } from './target.js';

/** Which of a resource's pieces udrbdd has already (adjust adds the missing ones). */
interface Present {
  resource: boolean;
  minors: Set<number>;
  attached: Set<number>;
  connected: boolean;
}

const NOTHING: Present = { resource: false, minors: new Set(), attached: new Set(), connected: false };

function presentFrom(r: DrbdadmStatusResource | undefined): Present {
  if (!r) return NOTHING;
  return {
    resource: true,
    minors: new Set(r.volumes.map((v) => v.minor)),
    attached: new Set(r.volumes.filter((v) => v.disk !== 'Diskless').map((v) => v.minor)),
    connected: r.connection !== null,
  };
}

/**
 * The units of `up` (and of `adjust` for what is missing). Stages as drbdadm 8.4 schedules
 * them: `up` makes resource and minors in one stage; `adjust` makes every resource before any
 * minor (observed with drbdadm-84).
 */
function bringUpUnits(pc: PlanContext, t: Target, present: Present, adjust: boolean): Unit[] {
  const r = t.res.name;
  const units: Unit[] = [];
  if (!present.resource) units.push({ name: 'new-resource', resource: r, scope: 'resource', stage: 0, steps: [newResourceStep(pc, t)] });
  for (const v of t.volumes) {
    if (present.minors.has(v.minor)) continue;
    units.push({ name: 'new-minor', resource: r, volume: v.vnr, scope: 'resource', stage: adjust ? 1 : 0, steps: [newMinorStep(t, v)] });
  }
  for (const v of t.volumes) {
    if (present.attached.has(v.minor)) continue;
    units.push({ name: 'attach', resource: r, volume: v.vnr, scope: 'volume', stage: 2, steps: attachSteps(pc, t, v) });
  }
  const connect = present.connected ? undefined : connectStep(pc, t);
  if (connect) units.push({ name: 'connect', resource: r, scope: 'resource', stage: 3, steps: [connect] });
  return units;
}

export function runUp(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runStagedTargets(args, deps, {}, async (pc, t) => bringUpUnits(pc, t, NOTHING, false));
}

/** The daemon's view of a resource for adjust; nothing when udrbdd is not running. */
async function runningResource(runner: Runner, name: string): Promise<DrbdadmStatusResource | undefined> {
  const reply = await runner.ask(daemonStep('status', {}, [], '??'));
  if (reply.exitCode !== 0 || reply.result === undefined) return undefined;
  return (reply.result as NodeStatus).resources.find((r) => r.name === name);
}

/**
 * adjust: the missing pieces only — resource, minors, attach of diskless volumes, connect when
 * there is no network configuration. On a resource that is down this is exactly `up`.
 * Not done (yet): changing options of a running resource, taking away what the configuration
 * no longer has.
 */
export function runAdjust(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runStagedTargets(args, deps, {}, async (pc, t, runner) => bringUpUnits(pc, t, presentFrom(await runningResource(runner, t.res.name)), true));
}

export function runDown(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, { wholeResource: true }, (pc, t) => [downStep(pc, t)]);
}

export function runAttach(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.flatMap((v) => attachSteps(pc, t, v)));
}

export function runDetach(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, {}, (pc, t) => t.volumes.map((v) => minorStep(pc, 'detach', v, { force: flagOption(pc.args, 'force') })));
}

export function runConnect(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, { wholeResource: true }, (pc, t) => [connectStep(pc, t)].filter((s): s is Step => s !== undefined));
}

export function runDisconnect(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number> {
  return runPerTarget(args, deps, { wholeResource: true }, (pc, t) => [disconnectStep(pc, t)].filter((s): s is Step => s !== undefined));
}
