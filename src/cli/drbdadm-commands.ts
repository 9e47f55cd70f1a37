// drbdadm's command set as data: name → handler. Each handler lives with its concern.
import type { DrbdadmArgs } from './drbdadm-args.js';
import { META_COMMANDS } from './commands/meta.js';

export interface DrbdadmCommand {
  /** Runs the command; resolves to drbdadm's exit code. */
  run(args: DrbdadmArgs): Promise<number>;
}

export const COMMANDS: Record<string, DrbdadmCommand> = {
  dump: { run: (args) => import('./commands/dump.js').then((m) => m.runDump(args)) },
  'create-md': META_COMMANDS['create-md'],
  'dump-md': META_COMMANDS['dump-md'],
  'get-gi': META_COMMANDS['get-gi'],
  'show-gi': META_COMMANDS['show-gi'],
  'apply-al': META_COMMANDS['apply-al'],
};
