// drbdadm's command line: `drbdadm [-d] [-c FILE] [--] [BACKEND-OPTS] COMMAND [OPTS] {RES|all}...`.
// The 8.3 form puts backend options before the command after `--`
// (`drbdadm -- --overwrite-data-of-peer primary r0`); 8.4 puts them after the command.

export interface DrbdadmArgs {
  configFile: string;
  dryRun: boolean;
  command: string | undefined;
  /** Backend options (`--force`, `--discard-my-data`, `--wfc-timeout=5`, ...), normalised to `--name[=value]`. */
  options: string[];
  /** Resource names (or `all`), and for some commands extra positional words. */
  positionals: string[];
  /** `--yaml` on dump: print the YAML form of the configuration. */
  yaml: boolean;
}

export class UsageError extends Error {}

/** 8.3 spelling → 8.4 option name. */
const OPTION_ALIASES: Record<string, string> = {
  '--overwrite-data-of-peer': '--force',
};

export function parseDrbdadmArgs(argv: string[]): DrbdadmArgs {
  const out: DrbdadmArgs = {
    configFile: process.env.UDRBD_CONFIG ?? '/etc/drbd.conf',
    dryRun: false,
    command: undefined,
    options: [],
    positionals: [],
    yaml: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (a === '-c' || a === '--config-file') {
      const file = argv[++i];
      if (file === undefined) throw new UsageError(`option ${a} requires an argument`);
      out.configFile = file;
    } else if (a.startsWith('--config-file=')) {
      out.configFile = a.slice('--config-file='.length);
    } else if (a.startsWith('-c') && a.length > 2 && !a.startsWith('--')) {
      out.configFile = a.slice(2);
    } else if (a === '-d' || a === '--dry-run') {
      out.dryRun = true;
    } else if (a === '--yaml') {
      out.yaml = true;
    } else if (a.startsWith('--')) {
      out.options.push(OPTION_ALIASES[a] ?? a);
    } else if (a.startsWith('-') && a.length > 1) {
      throw new UsageError(`unknown option '${a}'`);
    } else if (out.command === undefined) {
      out.command = a;
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}

/** True when `--name` or `--name=...` was given. */
export function hasOption(args: DrbdadmArgs, name: string): boolean {
  return args.options.some((o) => o === `--${name}` || o.startsWith(`--${name}=`));
}

/** The value of `--name=value`, if given. */
export function optionValue(args: DrbdadmArgs, name: string): string | undefined {
  const hit = args.options.find((o) => o.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}
