// drbdadm's command set as data: name → handler. Each handler lives with its concern.
import type { DrbdadmArgs } from './drbdadm-args.js';

export interface DrbdadmCommand {
  /** Runs the command; resolves to drbdadm's exit code. */
  run(args: DrbdadmArgs): Promise<number>;
}

export const COMMANDS: Record<string, DrbdadmCommand> = {
  dump: { run: (args) => import('./commands/dump.js').then((m) => m.runDump(args)) },
};
