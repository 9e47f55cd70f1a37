// Resource names on the command line → the volumes (minor, disk, meta-disk) of this host, for
// the offline meta-data commands. `RES`, `RES/VOL` and `all` as drbdadm accepts them.
import type { DrbdadmArgs } from '../drbdadm-args.js';
import { CliError } from '../cli-error.js';
import { ConfigError, hostContext, loadConfig, resolveResource, selectResources } from '../../config/index.js';
import type { MetaDisk } from '../../config/model.js';

/** A volume to act on, with the resource it belongs to. */
export interface TargetVolume {
  resource: string;
  volume: number;
  minor: number;
  device: string;
  disk: string;
  metaDisk: MetaDisk;
}

/** This host's name as drbd.conf's `on` sections use it (UDRBD_HOSTNAME overrides uname -n). */
export function thisHost(): string {
  return hostContext().hostname;
}

/** The volumes named by the command's positionals: `RES`, `RES/VOL` or `all`. */
export async function resolveVolumes(args: DrbdadmArgs): Promise<TargetVolume[]> {
  if (args.positionals.length === 0) throw new CliError('No resource names specified', 1);
  try {
    const cfg = loadConfig(args.configFile);
    const ctx = hostContext();
    const out: TargetVolume[] = [];
    for (const word of args.positionals) {
      const [name, vol] = word.split('/');
      for (const res of selectResources(cfg, [name], ctx)) {
        const r = resolveResource(cfg, res.name, ctx);
        const volumes = vol === undefined ? r.local.volumes : r.local.volumes.filter((v) => String(v.vnr) === vol);
        if (volumes.length === 0) throw new CliError(`'${word}' not defined in your config (for this host).`, 1);
        for (const v of volumes) {
          out.push({ resource: r.name, volume: v.vnr, minor: v.minor, device: v.device, disk: v.disk, metaDisk: v.metaDisk });
        }
      }
    }
    return out;
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.lines.join('\n'), e.exitCode);
    throw e;
  }
}
