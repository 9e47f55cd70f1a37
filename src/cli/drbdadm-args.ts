// drbdadm's command line: `drbdadm [-d] [-c FILE] [--] [SETUP-OPTS] COMMAND [CMD-OPTS] {RES|all}...`.
// Two places for backend options, as in drbdadm 8.4:
// - before the command (8.3 style, usually after `--`: `drbdadm -- --overwrite-data-of-peer
//   primary r0`): "setup options", passed verbatim to every low-level call of the command;
// - after the command (`drbdadm primary --force r0`): command options, which must belong to
//   the command's option table (drbdadm-84 refuses others with "unrecognized option").

export interface DrbdadmArgs {
  configFile: string;
  dryRun: boolean;
  command: string | undefined;
  /** Options given before the command, verbatim (`--overwrite-data-of-peer`, `--force`). */
  setupOptions: string[];
  /** Options given after the command, verbatim (`--force`, `--discard-my-data`, `--protocol=A`). */
  commandOptions: string[];
  /** Resource names (or `all`), and for some commands extra positional words. */
  positionals: string[];
  /** `--yaml` on dump: print the YAML form of the configuration. */
  yaml: boolean;
}

export class UsageError extends Error {}

export function parseDrbdadmArgs(argv: string[]): DrbdadmArgs {
  const out: DrbdadmArgs = {
    configFile: process.env.UDRBD_CONFIG ?? '/etc/drbd.conf',
    dryRun: false,
    command: undefined,
    setupOptions: [],
    commandOptions: [],
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
      (out.command === undefined ? out.setupOptions : out.commandOptions).push(a);
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

/** `--name` or `--name=value` → name. */
export function optionName(opt: string): string {
  const eq = opt.indexOf('=');
  return (eq < 0 ? opt : opt.slice(0, eq)).slice(2);
}

/** Every option given, in command-line order (setup options come before the command). */
export function allOptions(args: DrbdadmArgs): string[] {
  return [...args.setupOptions, ...args.commandOptions];
}

/** True when `--name` or `--name=...` was given (before or after the command). */
export function hasOption(args: DrbdadmArgs, name: string): boolean {
  return allOptions(args).some((o) => optionName(o) === name);
}

/** The value of the last `--name=value`, if given. */
export function optionValue(args: DrbdadmArgs, name: string): string | undefined {
  const hits = allOptions(args).filter((o) => optionName(o) === name && o.includes('='));
  const last = hits[hits.length - 1];
  return last?.slice(last.indexOf('=') + 1);
}

/**
 * drbdsetup's reading of a boolean flag (`--force`, `--force=yes|no`): the last occurrence
 * wins; absent = false. `aliases` are other spellings of the same flag
 * (8.3's `--overwrite-data-of-peer` for primary's `--force`).
 */
export function flagOption(args: DrbdadmArgs, name: string, aliases: readonly string[] = []): boolean {
  let v = false;
  for (const o of allOptions(args)) {
    const n = optionName(o);
    if (n !== name && !aliases.includes(n)) continue;
    const eq = o.indexOf('=');
    v = eq < 0 ? true : !['no', 'n', '0', 'false', 'off'].includes(o.slice(eq + 1).toLowerCase());
  }
  return v;
}
