// drbdadm: DRBD 8.4's administration tool. Commands are a table (drbdadm-commands.ts);
// this file only parses the command line, checks the command's options and maps errors to
// drbdadm's exit codes.
import { optionName, parseDrbdadmArgs, UsageError } from './drbdadm-args.js';
import { COMMANDS, KNOWN_OPTIONS } from './drbdadm-commands.js';
import { CliError } from './cli-error.js';
import type { DrbdadmDeps } from './commands/runner.js';
import { ensureDaemon } from '../daemon/control-client.js';
import { runDir } from '../daemon/run-dir.js';
import { offlineMeta } from './commands/meta.js';

/** drbdadm's own exit codes (spec/states.md §4). */
export const EXIT_USAGE = 1;

/**
 * The outside world of a real run: the daemon's run directory, how to start it, and the
 * meta-data tool (drbdmeta's operations: apply-al and the fallbacks of
 * invalidate/outdate/dstate/get-gi/show-gi).
 */
export function defaultDeps(): DrbdadmDeps {
  return { runDir: runDir(), startDaemon: ensureDaemon, offline: offlineMeta };
}

export async function main(argv: string[], deps: DrbdadmDeps = defaultDeps()): Promise<number> {
  let args;
  try {
    args = parseDrbdadmArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`drbdadm: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (args.command === undefined) {
    process.stderr.write(`USAGE: drbdadm COMMAND [OPTION...] {all|RESOURCE...}\n\nCOMMANDS:\n${Object.keys(COMMANDS).sort().join(' ')}\n`);
    return EXIT_USAGE;
  }
  const command = COMMANDS[args.command];
  if (!command) {
    process.stderr.write(`drbdadm: Unknown command '${args.command}'\n`);
    return EXIT_USAGE;
  }
  for (const o of args.commandOptions) {
    const name = optionName(o);
    if (command.options?.includes(name)) continue;
    process.stderr.write(`drbdadm: unrecognized option '${o}'\ntry 'drbdadm help${KNOWN_OPTIONS.has(name) ? ` ${args.command}` : ''}'\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(args, deps);
  } catch (e) {
    if (e instanceof CliError) {
      if (e.message) process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
