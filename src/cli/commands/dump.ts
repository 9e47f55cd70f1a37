// `drbdadm [-c FILE] dump [--yaml] [RES...|all]`: the configuration as drbdadm-84 prints
// it (or its YAML form). `dump all` refuses a config whose local address is not on this
// host (exit 10); `dump RES` only warns — as drbdadm-84 does.
import type { DrbdadmArgs } from '../drbdadm-args.js';
import { CliError } from '../cli-error.js';
import {
  configToYaml,
  ConfigError,
  dumpAll,
  dumpResource,
  EXIT_CONFIG_INVALID,
  findMe,
  hostContext,
  loadConfig,
  selectResources,
  verifyIps,
  type Config,
} from '../../config/index.js';

export async function runDump(args: DrbdadmArgs): Promise<number> {
  try {
    const ctx = hostContext();
    const config: Config = loadConfig(args.configFile);
    const stderr: string[] = [...config.warnings];
    const all = args.positionals.length === 0 || args.positionals.includes('all');
    const resources = selectResources(config, args.positionals, ctx);
    const ipProblems = verifyIps(config, resources, ctx);
    stderr.push(...ipProblems);
    if (stderr.length) process.stderr.write(stderr.map((l) => `${l}\n`).join(''));
    if (all && ipProblems.length) return EXIT_CONFIG_INVALID;
    let out: string;
    if (args.yaml) out = configToYaml(config, resources, all);
    else if (all) out = dumpAll(config, ctx.hostname, (r) => !findMe(r, ctx));
    else out = resources.map((r) => dumpResource(r, ctx.hostname, false)).join('');
    process.stdout.write(out);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.lines.join('\n'), e.exitCode);
    throw e;
  }
}
