// What every drbdadm command does around its low-level calls: read the configuration, turn
// the names into targets, and run the steps — immediately, resource by resource, or in
// drbdadm's stages (`up`, `adjust`).
import { CliError } from '../cli-error.js';
import type { DrbdadmArgs } from '../drbdadm-args.js';
import { hostContext, loadConfig, type Config } from '../../config/index.js';
import type { Step, Unit } from './lowlevel.js';
import { Runner, type DrbdadmDeps } from './runner.js';
import type { PlanContext } from './steps.js';
import { configFailure, EXIT_USAGE, expandNames, resolveTarget, type Target } from './target.js';

/** The configuration, with drbdadm's non-fatal parse warnings printed. */
export function readConfig(args: DrbdadmArgs): Config {
  let config: Config;
  try {
    config = loadConfig(args.configFile);
  } catch (e) {
    configFailure(e);
  }
  if (config.warnings.length) process.stderr.write(config.warnings.map((w) => `${w}\n`).join(''));
  return config;
}

export function planContext(args: DrbdadmArgs): PlanContext {
  return { config: readConfig(args), ctx: hostContext(), args };
}

/** The names a command acts on; none at all is drbdadm's usage error. */
export function requireNames(args: DrbdadmArgs): string[] {
  if (args.positionals.length === 0) {
    throw new CliError(`USAGE: drbdadm ${args.command} [OPTION...] {all|RESOURCE...}\n\nNo resource names specified`, EXIT_USAGE);
  }
  return args.positionals;
}

export interface TargetRules {
  /** Resource-wide commands (down, connect, ...) refuse `RES/VNR` and `minor-N`. */
  wholeResource?: boolean;
}

function checkTarget(args: DrbdadmArgs, t: Target, rules: TargetRules): void {
  if (rules.wholeResource && !t.whole) {
    throw new CliError(`${args.command} operates on whole resources, but you specified a specific volume!`, EXIT_USAGE);
  }
}

/**
 * drbdadm's immediate commands (primary, detach, connect, ...): each name is resolved when its
 * turn comes — an unknown one ends drbdadm with exit 1 after the earlier ones ran. Within a
 * resource the first failing step stops the rest of that resource's steps; the next resource
 * still runs. The exit code is the highest child code.
 */
export async function runPerTarget(args: DrbdadmArgs, deps: DrbdadmDeps, rules: TargetRules, plan: (pc: PlanContext, t: Target) => Step[]): Promise<number> {
  const names = requireNames(args);
  const pc = planContext(args);
  const runner = new Runner(deps, args.dryRun);
  let worst = 0;
  for (const name of expandNames(pc.config, names, pc.ctx)) {
    let t: Target;
    try {
      t = resolveTarget(pc.config, name, pc.ctx);
      checkTarget(args, t, rules);
    } catch (e) {
      if (e instanceof CliError) {
        process.stderr.write(`${e.message}\n`);
        return e.exitCode;
      }
      throw e;
    }
    worst = Math.max(worst, await runner.runSequence(plan(pc, t)));
  }
  return worst;
}

/**
 * drbdadm's deferred commands (up, adjust): every name is resolved first (an unknown one stops
 * everything before anything ran), then the units run stage by stage (Runner.runStaged).
 */
export async function runStagedTargets(
  args: DrbdadmArgs,
  deps: DrbdadmDeps,
  rules: TargetRules,
  plan: (pc: PlanContext, t: Target, runner: Runner) => Promise<Unit[]>,
): Promise<number> {
  const names = requireNames(args);
  const pc = planContext(args);
  const targets = expandNames(pc.config, names, pc.ctx).map((n) => {
    const t = resolveTarget(pc.config, n, pc.ctx);
    checkTarget(args, t, rules);
    return t;
  });
  const runner = new Runner(deps, args.dryRun);
  if (!args.dryRun && targets.length > 0) await deps.startDaemon(deps.runDir);
  const units: Unit[] = [];
  for (const t of targets) units.push(...(await plan(pc, t, runner)));
  return runner.runStaged(units);
}
