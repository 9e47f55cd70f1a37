// drbdadm: DRBD 8.4's administration tool. Commands are a table (drbdadm-commands.ts);
// this file only parses the command line and maps errors to drbdadm's exit codes.
import { parseDrbdadmArgs, UsageError } from './drbdadm-args.js';
import { COMMANDS } from './drbdadm-commands.js';
import { CliError } from './cli-error.js';

/** drbdadm's own exit codes (spec/states.md §4). */
export const EXIT_USAGE = 1;

export async function main(argv: string[]): Promise<number> {
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
    process.stderr.write(`Unknown command '${args.command}'.\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(args);
  } catch (e) {
    if (e instanceof CliError) {
      if (e.message) process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
