// drbdadm's offline meta-data commands: create-md, dump-md, get-gi, show-gi, apply-al.
// drbdadm 8.4 runs `drbdmeta MINOR v08 DISK INDEX CMD` for each volume; udrbd does the same
// work in-process (src/meta through src/engine/metadata-store) and reports like drbdadm:
// the tool's exit code, plus `Command '…' terminated with exit code N` when N ≥ 10.
// get-gi/show-gi go straight to the meta-data (drbdadm's drbdmeta fallback); asking a running
// daemon first is wired with the daemon.
import { createInterface } from 'node:readline';
import type { DrbdadmArgs } from '../drbdadm-args.js';
import type { DrbdadmCommand } from '../drbdadm-commands.js';
import { CliError } from '../cli-error.js';
import { resolveVolumes, thisHost, type TargetVolume } from './resolve-target.js';
import { openMetaTarget, type VolumeMetaSpec } from '../../engine/metadata-store.js';
import { MetaDataError } from '../../meta/errors.js';
import { metaIndexWord, metaKindOf } from '../../meta/layout.js';
import { applyAl, createMd, dumpMd, getGi, showGi, type Confirm, type MetaTarget, type ToolOutput } from '../../meta/tools.js';

const stdio: ToolOutput = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** Reads one line from stdin (the answer to a confirmation question). */
function readLine(): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    let done = false;
    const finish = (s: string): void => {
      if (done) return;
      done = true;
      rl.close();
      resolve(s);
    };
    rl.once('line', finish);
    rl.once('close', () => finish(''));
  });
}

/**
 * drbdmeta's confirmation: print the question; with --force accept at once; without a
 * terminal refuse (never wait on a pipe); else require the line "yes".
 */
export function makeConfirm(opts: { force: boolean; isTTY: boolean; err: (t: string) => void; readLine: () => Promise<string> }): Confirm {
  return async (question) => {
    opts.err(`\n${question}\n`);
    if (opts.force) {
      opts.err('*** confirmation forced via --force option ***\n');
      return true;
    }
    if (!opts.isTTY) {
      opts.err('stdin not a TTY, not waiting for confirmation\n');
      return false;
    }
    opts.err("[need to type 'yes' to confirm] ");
    const answer = await opts.readLine();
    opts.err('\n');
    return answer === 'yes';
  };
}

/** The drbdmeta command line drbdadm 8.4 would run for this volume (for its messages). */
export function drbdmetaCommandLine(v: TargetVolume, cmd: string, extra: string[] = []): string {
  const kind = metaKindOf(v.metaDisk);
  const md = v.metaDisk.kind === 'internal' ? v.disk : v.metaDisk.path;
  return ['drbdmeta', String(v.minor), 'v08', md, metaIndexWord(kind), cmd, ...extra].join(' ');
}

type Tool = (t: MetaTarget, v: TargetVolume, args: DrbdadmArgs) => Promise<number> | number;

function metaCommand(name: string, allowed: string[], writable: boolean, tool: Tool): DrbdadmCommand {
  return {
    async run(args) {
      for (const o of args.options) {
        const bare = o.replace(/=.*/, '').slice(2);
        if (!allowed.includes(bare)) throw new CliError(`drbdadm: unrecognized option '${o}'\ntry 'drbdadm help ${name}'`, 1);
      }
      const volumes = await resolveVolumes(args);
      let rc = 0;
      for (const v of volumes) {
        const spec: VolumeMetaSpec = { minor: v.minor, diskPath: v.disk, metaDisk: v.metaDisk };
        let code: number;
        try {
          const opened = openMetaTarget(spec, { writable });
          try {
            code = await tool(opened.target, v, args);
          } finally {
            opened.close();
          }
        } catch (e) {
          if (!(e instanceof MetaDataError)) throw e;
          if (e.message) process.stderr.write(`${e.message}\n`);
          code = e.exitCode;
        }
        if (code >= 10) {
          process.stderr.write(`Command '${drbdmetaCommandLine(v, name, args.options)}' terminated with exit code ${code}\n`);
        }
        // drbdadm stops at the first failing volume and exits with its code.
        if (code !== 0) return code;
        rc = code;
      }
      return rc;
    },
  };
}

const hasForce = (args: DrbdadmArgs): boolean => args.options.includes('--force');

export const META_COMMANDS: Record<string, DrbdadmCommand> = {
  'create-md': metaCommand('create-md', ['force'], true, (t, _v, args) =>
    createMd(t, {
      output: stdio,
      confirm: makeConfirm({ force: hasForce(args), isTTY: process.stdin.isTTY === true, err: stdio.err, readLine }),
    }),
  ),
  'dump-md': metaCommand('dump-md', [], false, (t, _v, args) =>
    dumpMd(t, {
      output: stdio,
      force: false,
      header: { now: new Date(), hostname: thisHost(), commandLine: ['drbdadm', 'dump-md', ...args.positionals].join(' ') },
    }),
  ),
  'get-gi': metaCommand('get-gi', [], false, (t) => getGi(t, stdio)),
  'show-gi': metaCommand('show-gi', [], false, (t) => showGi(t, stdio)),
  'apply-al': metaCommand('apply-al', [], true, (t) => applyAl(t, stdio)),
};
