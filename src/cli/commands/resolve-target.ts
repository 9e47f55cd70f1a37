// Resource name → volumes (minor, disk, meta-disk) for the offline meta-data commands.
// The only place these commands touch the configuration: the drbd.conf parser
// (src/config, `loadConfig` / `resolveResource`) provides the lookup.
import { hostname } from 'node:os';
import type { DrbdadmArgs } from '../drbdadm-args.js';
import { CliError } from '../cli-error.js';
import type { MetaDiskSpec } from '../../meta/layout.js';

export interface ResolvedVolume {
  volume: number;
  minor: number;
  device: string;
  disk: string;
  metaDisk: MetaDiskSpec;
}

export interface ResolvedResource {
  name: string;
  volumes: ResolvedVolume[];
}

/** What src/config/index.ts provides. */
export interface ConfigModule {
  loadConfig(file: string): Promise<unknown>;
  resolveResource(cfg: unknown, name: string, host: string): ResolvedResource;
  /** Names of the resources this host takes part in (for `all`). */
  listResources?(cfg: unknown, host: string): string[];
}

/** A volume to act on, with the resource it belongs to. */
export interface TargetVolume extends ResolvedVolume {
  resource: string;
}

/** This host's name as drbd.conf's `on` sections use it (UDRBD_HOSTNAME overrides uname -n). */
export function thisHost(): string {
  return process.env.UDRBD_HOSTNAME || hostname();
}

async function loadConfigModule(): Promise<ConfigModule> {
  // Specifier in a variable: src/config is developed in parallel and wired at merge time.
  const specifier = '../../config/index.js';
  return (await import(specifier)) as ConfigModule;
}

/** The volumes named by the command's positionals: `RES`, `RES/VOL` or `all`. */
export async function resolveVolumes(args: DrbdadmArgs, config?: ConfigModule): Promise<TargetVolume[]> {
  if (args.positionals.length === 0) throw new CliError('No resource names specified', 1);
  const mod = config ?? (await loadConfigModule());
  const cfg = await mod.loadConfig(args.configFile);
  const host = thisHost();
  let names = args.positionals;
  if (names.includes('all')) {
    if (!mod.listResources) throw new CliError("drbdadm: 'all' is not supported by this configuration reader", 20);
    names = mod.listResources(cfg, host);
  }
  const out: TargetVolume[] = [];
  for (const word of names) {
    const [name, vol] = word.split('/');
    let res: ResolvedResource;
    try {
      res = mod.resolveResource(cfg, name, host);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(`'${name}' not defined in your config (for this host).`, 1);
    }
    const volumes = vol === undefined ? res.volumes : res.volumes.filter((v) => String(v.volume) === vol);
    if (volumes.length === 0) throw new CliError(`'${word}' not defined in your config (for this host).`, 1);
    for (const v of volumes) out.push({ ...v, resource: res.name });
  }
  return out;
}
