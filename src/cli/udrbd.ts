// udrbd: the umbrella command. Thin on purpose: each subcommand is a row of the table below
// and lives in its own module.
import { runDir } from '../daemon/run-dir.js';
import { runStatus, type StatusOutput } from './udrbd-status.js';

export interface UdrbdDeps {
  runDir: string;
  out: StatusOutput;
  err: StatusOutput;
  /** Resolves when the user wants --watch to end (Ctrl-C). */
  interrupted(): Promise<void>;
  watchIntervalMs: number;
}

export function defaultUdrbdDeps(): UdrbdDeps {
  return {
    runDir: runDir(),
    out: process.stdout,
    err: process.stderr,
    interrupted: () => new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
    watchIntervalMs: 500,
  };
}

interface Subcommand {
  usage: string;
  summary: string;
  run(argv: string[], deps: UdrbdDeps): Promise<number>;
}

const EXIT_USAGE = 1;

const SUBCOMMANDS: Record<string, Subcommand> = {
  status: {
    usage: 'status [--json] [--watch]',
    summary: 'show this node\'s resources (/proc/drbd text, JSON, or redrawn live)',
    run: (argv, deps) => {
      const bad = argv.find((a) => a !== '--json' && a !== '--watch');
      if (bad !== undefined) {
        deps.err.write(`udrbd status: unknown argument '${bad}'\n`);
        return Promise.resolve(EXIT_USAGE);
      }
      return runStatus(deps.runDir, deps.out, deps.err, {
        json: argv.includes('--json'),
        watch: argv.includes('--watch'),
        intervalMs: deps.watchIntervalMs,
        until: () => deps.interrupted(),
      });
    },
  },
  daemon: {
    usage: 'daemon',
    summary: 'run udrbdd in the foreground (as `udrbdd --foreground`, e.g. under systemd)',
    run: (argv) => import('./udrbdd.js').then((m) => m.main(['--foreground', ...argv])),
  },
  demo: {
    usage: 'demo',
    summary: 'the guided two-node walkthrough of the README, on this machine',
    run: (argv, deps) => import('./demo/index.js').then((m) => m.runDemo(argv, { out: deps.out, err: deps.err })),
  },
};

function usage(): string {
  const rows = Object.values(SUBCOMMANDS).map((s) => `  udrbd ${s.usage.padEnd(28)} ${s.summary}\n`);
  return `Usage: udrbd COMMAND [ARGS]\n\nCommands:\n${rows.join('')}\nDRBD's own commands are drbdadm's; udrbdd is the node daemon.\n`;
}

export async function main(argv: string[], deps: UdrbdDeps = defaultUdrbdDeps()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    (cmd === undefined ? deps.err : deps.out).write(usage());
    return cmd === undefined ? EXIT_USAGE : 0;
  }
  const sub = SUBCOMMANDS[cmd];
  if (!sub) {
    deps.err.write(`udrbd: unknown command '${cmd}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return sub.run(rest, deps);
}
