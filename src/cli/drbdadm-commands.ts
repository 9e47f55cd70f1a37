// drbdadm's command set as data: name → handler and the options the command takes after its
// name (drbdadm-84's per-command option tables). Each handler lives with its concern.
import type { DrbdadmArgs } from './drbdadm-args.js';
import type { DrbdadmDeps } from './commands/runner.js';
import { OPTIONS, type OptionSpec } from '../config/index.js';

export interface DrbdadmCommand {
  /** Runs the command; resolves to drbdadm's exit code. */
  run(args: DrbdadmArgs, deps: DrbdadmDeps): Promise<number>;
  /** Option names accepted after the command (`primary --force r0`). */
  options?: readonly string[];
}

const configOptions = (section: string) => (OPTIONS as readonly OptionSpec[]).filter((o) => o.section === section).map((o) => o.name);

/** udrbd extension: drbdadm-84 takes the wait timeouts only from the startup section. */
const WAIT_OPTIONS = ['wfc-timeout', 'degr-wfc-timeout', 'outdated-wfc-timeout', 'wait-after-sb'];

const lifecycle = () => import('./commands/lifecycle.js');
const roles = () => import('./commands/roles.js');
const info = () => import('./commands/info.js');
const sync = () => import('./commands/sync.js');
const meta = () => import('./commands/meta.js');

export const COMMANDS: Record<string, DrbdadmCommand> = {
  dump: { run: (args) => import('./commands/dump.js').then((m) => m.runDump(args)) },

  // drbdmeta's commands: offline, on the backing device.
  'create-md': { run: (a, d) => meta().then((m) => m.META_COMMANDS['create-md'].run(a, d)), options: ['force'] },
  'dump-md': { run: (a, d) => meta().then((m) => m.META_COMMANDS['dump-md'].run(a, d)) },
  'apply-al': { run: (a, d) => meta().then((m) => m.META_COMMANDS['apply-al'].run(a, d)) },

  up: { run: (a, d) => lifecycle().then((m) => m.runUp(a, d)) },
  down: { run: (a, d) => lifecycle().then((m) => m.runDown(a, d)) },
  adjust: { run: (a, d) => lifecycle().then((m) => m.runAdjust(a, d)) },
  attach: { run: (a, d) => lifecycle().then((m) => m.runAttach(a, d)), options: configOptions('disk') },
  detach: { run: (a, d) => lifecycle().then((m) => m.runDetach(a, d)), options: ['force'] },
  connect: { run: (a, d) => lifecycle().then((m) => m.runConnect(a, d)), options: ['tentative', 'discard-my-data', ...configOptions('net')] },
  disconnect: { run: (a, d) => lifecycle().then((m) => m.runDisconnect(a, d)), options: ['force'] },

  primary: { run: (a, d) => roles().then((m) => m.runPrimary(a, d)), options: ['force'] },
  secondary: { run: (a, d) => roles().then((m) => m.runSecondary(a, d)) },

  role: { run: (a, d) => info().then((m) => m.runRole(a, d)) },
  cstate: { run: (a, d) => info().then((m) => m.runCstate(a, d)) },
  dstate: { run: (a, d) => info().then((m) => m.runWithMetaFallback('dstate')(a, d)) },
  'get-gi': { run: (a, d) => info().then((m) => m.runWithMetaFallback('get-gi')(a, d)) },
  'show-gi': { run: (a, d) => info().then((m) => m.runWithMetaFallback('show-gi')(a, d)) },
  status: { run: (a, d) => info().then((m) => m.runStatus(a, d)) },
  'sh-resources': { run: (a) => info().then((m) => m.runShResources(a)) },
  'sh-dev': { run: (a) => info().then((m) => m.runShVolumeField(a)) },
  'sh-minor': { run: (a) => info().then((m) => m.runShVolumeField(a)) },
  'sh-ll-dev': { run: (a) => info().then((m) => m.runShVolumeField(a)) },
  'sh-md-dev': { run: (a) => info().then((m) => m.runShVolumeField(a)) },
  'sh-md-idx': { run: (a) => info().then((m) => m.runShVolumeField(a)) },

  invalidate: { run: (a, d) => sync().then((m) => m.runInvalidate(a, d)) },
  'invalidate-remote': { run: (a, d) => sync().then((m) => m.runPlainMinor('invalidate-remote')(a, d)) },
  verify: { run: (a, d) => sync().then((m) => m.runVerify(a, d)) },
  'pause-sync': { run: (a, d) => sync().then((m) => m.runPlainMinor('pause-sync')(a, d)) },
  'resume-sync': { run: (a, d) => sync().then((m) => m.runPlainMinor('resume-sync')(a, d)) },
  outdate: { run: (a, d) => sync().then((m) => m.runOutdate(a, d)) },
  'new-current-uuid': { run: (a, d) => sync().then((m) => m.runNewCurrentUuid(a, d)), options: ['clear-bitmap'] },
  'wait-connect': { run: (a, d) => sync().then((m) => m.runWait('wait-connect')(a, d)), options: WAIT_OPTIONS },
  'wait-sync': { run: (a, d) => sync().then((m) => m.runWait('wait-sync')(a, d)), options: WAIT_OPTIONS },
};

/** Every option some command takes: drbdadm-84 points to `help CMD` for those, to `help` otherwise. */
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set(Object.values(COMMANDS).flatMap((c) => c.options ?? []));
