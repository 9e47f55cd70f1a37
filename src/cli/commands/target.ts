// Which resources and volumes a command acts on: `RES`, `RES/VNR`, `minor-N`, or `all`
// (every resource defined for this host, in file order), as drbdadm 8.4 selects them.
import { CliError } from '../cli-error.js';
import {
  ConfigError,
  EXIT_NO_SUCH_RESOURCE,
  findMe,
  resolveResource,
  type Config,
  type HostContext,
  type HostSection,
  type OptionStmt,
  type ResolvedResource,
  type ResolvedVolume,
  type Resource,
  type Volume,
} from '../../config/index.js';
import { enumAccepts, findOption, parseScaledNumber, type OptionSpec } from '../../config/options.js';

export interface Target {
  /** The word as typed (`r0`, `r0/1`, `minor-3`). */
  selector: string;
  raw: Resource;
  me: HostSection;
  res: ResolvedResource;
  /** The volumes selected: all of the resource's, or the one named. */
  volumes: ResolvedVolume[];
  /** False when a single volume was named (resource-wide commands refuse that). */
  whole: boolean;
}

/** drbdadm's exit code for usage problems (unknown resource, missing names). */
export const EXIT_USAGE = 1;

export function notDefined(name: string): CliError {
  return new CliError(`'${name}' not defined in your config (for this host).`, EXIT_NO_SUCH_RESOURCE);
}

/** ConfigError → drbdadm's message and exit code. */
export function configFailure(e: unknown): never {
  if (e instanceof ConfigError) throw new CliError(e.lines.join('\n'), e.exitCode);
  throw e;
}

/** `all` (anywhere among the names) → every resource of this host in file order; else the names. */
export function expandNames(config: Config, names: readonly string[], ctx: HostContext): string[] {
  if (!names.includes('all')) return [...names];
  return config.resources.filter((r) => findMe(r, ctx)).map((r) => r.name);
}

/** The raw volume statements of this host for volume `vnr` (its own `disk {}` options). */
export function rawVolume(t: Target, vnr: number): Volume | undefined {
  return t.me.volumes.find((v) => v.vnr === vnr);
}

/** Resolves one selector; unknown names throw drbdadm's exit-1 message. */
export function resolveTarget(config: Config, selector: string, ctx: HostContext): Target {
  let resName = selector;
  let vnr: number | undefined;
  let minor: number | undefined;
  const slash = /^(.+)\/(\d+)$/.exec(selector);
  const minorSel = /^minor-(\d+)$/.exec(selector);
  if (slash) {
    resName = slash[1];
    vnr = Number(slash[2]);
  } else if (minorSel) {
    minor = Number(minorSel[1]);
    const owner = config.resources.find((r) => findMe(r, ctx)?.volumes.some((v) => v.device?.minor === minor));
    if (!owner) throw notDefined(selector);
    resName = owner.name;
  }
  const raw = config.resources.find((r) => r.name === resName);
  const me = raw && findMe(raw, ctx);
  if (!raw || !me) throw notDefined(selector);
  let res: ResolvedResource;
  try {
    res = resolveResource(config, resName, ctx);
  } catch (e) {
    configFailure(e);
  }
  let volumes = [...res.local.volumes];
  if (vnr !== undefined) volumes = volumes.filter((v) => v.vnr === vnr);
  if (minor !== undefined) volumes = volumes.filter((v) => v.minor === minor);
  if (volumes.length === 0) throw notDefined(selector);
  return { selector, raw, me, res, volumes, whole: vnr === undefined && minor === undefined };
}

/**
 * Options typed on the command line for attach/connect (`--al-extents=99`, `--protocol=A`)
 * override the configuration for udrbd's daemon: they become the resource's last statements.
 * drbdsetup refuses a bad value with `Option --NAME: invalid argument 'VALUE'` (exit 20).
 */
export function withCommandLineOptions(config: Config, target: Target, section: 'disk' | 'net', options: readonly string[], ctx: HostContext): Target {
  const loc = { file: 'command line', canonical: 'command line', line: 0 };
  const extra: OptionStmt[] = [];
  for (const o of options) {
    const eq = o.indexOf('=');
    const name = (eq < 0 ? o : o.slice(0, eq)).slice(2);
    const spec = findOption(section, name);
    if (!spec) continue; // a command flag (--discard-my-data, --tentative), not a configuration option
    const given = eq < 0 ? undefined : o.slice(eq + 1);
    const value = checkedValue(spec, given);
    if (value === null) throw new CliError(`Option --${name}: invalid argument '${given ?? ''}'`, 20);
    extra.push({ name, value, loc });
  }
  if (extra.length === 0) return target;
  const raw: Resource = { ...target.raw, sections: { ...target.raw.sections, [section]: [...target.raw.sections[section], ...extra] } };
  const patched: Config = { ...config, resources: config.resources.map((r) => (r === target.raw ? raw : r)) };
  let res: ResolvedResource;
  try {
    res = resolveResource(patched, raw.name, ctx);
  } catch (e) {
    configFailure(e);
  }
  const volumes = res.local.volumes.filter((v) => target.volumes.some((t) => t.vnr === v.vnr));
  return { ...target, raw, res, volumes };
}

/** The statement value for `--name[=value]`, or null when drbdsetup would refuse it. */
function checkedValue(spec: OptionSpec, given: string | undefined): string | undefined | null {
  switch (spec.type) {
    case 'bool':
      if (given === undefined || given === 'yes') return 'yes';
      return given === 'no' ? 'no' : null;
    case 'numeric': {
      if (given === undefined) return null;
      const n = parseScaledNumber(given, spec.scale ?? '1');
      if (!n.ok) return null;
      if (spec.min !== undefined && spec.max !== undefined && (n.value < BigInt(spec.min) || n.value > BigInt(spec.max))) return null;
      return given;
    }
    case 'enum': {
      if (given === undefined) return null;
      const v = spec.name === 'protocol' ? given.toUpperCase() : given;
      return enumAccepts(spec, v) ? v : null;
    }
    default:
      return given ?? null;
  }
}
