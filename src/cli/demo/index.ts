// `udrbd demo`: the README's first command. Two udrbd nodes on this machine walk the seed's
// DRBD how-to end to end, every command shown with its real output and every claim checked;
// then everything is taken down again — also after a failure and on Ctrl-C. Exit code 0 only
// when every check passed.
import { cleanup } from './cleanup.js';
import { Interrupted, Lab, StepFailed } from './lab.js';
import { type DemoOutput, Narrator } from './narrator.js';
import { planDemo } from './plan.js';
import { Scenario } from './scenario.js';

/** Small enough that the initial sync takes seconds; big enough for mkfs.ext4 and a journal. */
const SIZE_MIB = 256;

const EXIT_FAILED = 1;
const EXIT_USAGE = 1;
const EXIT_BY_SIGNAL: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export interface DemoDeps {
  out: DemoOutput;
  err: DemoOutput;
}

function help(): string {
  return `Usage: udrbd demo

Runs two udrbd nodes, alpha and beta, on this machine in a temporary directory and walks
the classic DRBD setup with them: drbd.conf, create-md, up, the status file, primary --force
and the initial sync, writes on the Primary (and, as root, mkfs.ext4 and mount on /dev/drbdN),
a role switch, and the Primary's daemon killed with the survivor taking over. Each claim is
checked; the exit code is 0 only if all checks pass. Everything is removed at the end, also
on Ctrl-C. Set UDRBD_DEVICE_NODES=off to stay with the NBD sockets.
`;
}

export async function runDemo(argv: string[], deps: DemoDeps): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    deps.out.write(help());
    return 0;
  }
  if (argv.length > 0) {
    deps.err.write(`udrbd demo: unknown argument '${argv[0]}'\n\n${help()}`);
    return EXIT_USAGE;
  }

  const n = new Narrator(deps.out);
  const t0 = Date.now();
  const ac = new AbortController();
  let cleaningUp = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!ac.signal.aborted) {
      n.note(`\n${sig}: stopping the demo; cleaning up...`);
      ac.abort(new Interrupted(sig));
    } else if (cleaningUp) {
      // A second Ctrl-C must not leave mounts and loop devices behind: finish first.
      n.note('still cleaning up (mounts, daemons, /dev/drbdN); please wait');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let lab: Lab | undefined;
  let interrupted: Interrupted | undefined;
  try {
    const plan = await planDemo();
    lab = await Lab.create({ sizeMiB: SIZE_MIB, deviceNodes: plan.deviceNodes, signal: ac.signal });
    if (!plan.deviceNodes) n.note(`(NBD only: ${plan.reason}; no /dev/drbdN, no filesystem in this run)`);
    await new Scenario(lab, n, plan).run();
  } catch (e) {
    if (e instanceof Interrupted) interrupted = e;
    else if (!(e instanceof StepFailed)) n.check(false, 'the demo ran without an unexpected error', e instanceof Error ? (e.stack ?? e.message) : String(e));
  } finally {
    cleaningUp = true;
    if (lab) {
      n.heading('Cleaning up');
      n.say('Take the resource down on both nodes (this removes /dev/drbdN) and stop the daemons:');
      const { left, logsKeptIn } = await cleanup(lab, n, n.failed().length > 0);
      n.check(left.length === 0, `nothing left behind (${lab.dir} removed)`, left.join('; '));
      if (logsKeptIn) n.note(`The daemons' logs are kept in ${logsKeptIn} (pino JSON, one event per line).`);
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const failed = n.failed();
  const seconds = ((Date.now() - t0) / 1000).toFixed(0);
  if (interrupted) {
    n.note(`Interrupted after ${seconds} s.`);
    return EXIT_BY_SIGNAL[interrupted.signal] ?? EXIT_FAILED;
  }
  n.out.write('\n');
  if (failed.length > 0) {
    n.out.write(`${failed.length} of ${n.checks.length} checks FAILED (after ${seconds} s):\n${failed.map((c) => `  - ${c.text}\n`).join('')}`);
    return EXIT_FAILED;
  }
  n.out.write(`All ${n.checks.length} checks passed in ${seconds} s.\n\n${nextSteps()}`);
  return 0;
}

function nextSteps(): string {
  return `What next:
  npm test                      every test: unit, integration, system, kernel interop
  docs/user-guide.md            the same setup on two machines, step by step, with split-brain recovery
  docs/configuration.md         every drbd.conf option udrbd reads
On a node:
  cat $UDRBD_RUN_DIR/proc-drbd  the status file (/proc/drbd's text; /run/udrbd as root)
  drbdadm status r0             DRBD 8.4's status command
  udrbd status --watch          the status redrawn live, with a progress bar while syncing
`;
}
