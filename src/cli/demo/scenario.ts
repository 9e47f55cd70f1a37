// The walkthrough itself, in the words of the DRBD how-to udrbd's users follow (seed 003):
// create-md and up on both nodes, the status file, primary --force and the initial sync,
// writes on the Primary (NBD, and as root mkfs.ext4 and mount on /dev/drbdN), the manual
// role switch, then the Primary's daemon killed and the survivor taking over.
import { errnoName, NbdRequestError } from '../../engine/nbd-client.js';
import { differingMiB, hashFile, hashRegion, MiB, nbdReader, type Reader, short, withFileReader, withNbd, writeRandom } from './data.js';
import { type DemoNode, type Lab, RESOURCE, StepFailed } from './lab.js';
import type { Narrator } from './narrator.js';
import type { DemoPlan } from './plan.js';
import { watchSync } from './sync-view.js';

const CONNECT_TIMEOUT_MS = 30_000;
const SYNC_TIMEOUT_MS = 120_000;
const PEER_LOSS_TIMEOUT_MS = 20_000;

/** Test data written through NBD: on alpha in step 3, on beta before the crash in step 4. */
const PATTERN_A = { offset: 0, length: 16 * MiB };
const PATTERN_B = { offset: 64 * MiB, length: 16 * MiB };

const STATE = {
  fresh: /cs:Connected ro:Secondary\/Secondary ds:Inconsistent\/Inconsistent /,
  primaryInSync: /cs:Connected ro:Primary\/Secondary ds:UpToDate\/UpToDate /,
  secondaryInSync: /cs:Connected ro:Secondary\/Primary ds:UpToDate\/UpToDate /,
  peerLost: /cs:WFConnection ro:Secondary\/Unknown ds:UpToDate\/DUnknown /,
  survivor: /cs:WFConnection ro:Primary\/Unknown ds:UpToDate\/DUnknown /,
};

/** What earlier steps leave for later ones to compare. */
interface Facts {
  exportBytes: number;
  patternA?: string;
  patternB?: string;
  deviceOnAlpha?: string;
}

export class Scenario {
  private readonly facts: Facts = { exportBytes: 0 };

  constructor(
    private readonly lab: Lab,
    private readonly n: Narrator,
    private readonly plan: DemoPlan,
  ) {}

  async run(): Promise<void> {
    await this.setUp();
    await this.initialSync();
    await this.writeOnPrimary();
    await this.switchRoles();
    await this.pullThePlug();
  }

  // ---- helpers

  private sh(node: DemoNode, line: string) {
    return this.lab.sh(this.n, node, line);
  }

  /** Runs a command that must succeed for the walkthrough to go on. */
  private async must(node: DemoNode, line: string): Promise<string> {
    const r = await this.sh(node, line);
    this.require(r.code === 0, `${node.name}: ${line}`, `exit code ${r.code}`, true);
    return r.out;
  }

  private require(ok: boolean, text: string, detail?: string, quiet = false): void {
    if (!this.n.check(ok, text, detail, quiet)) {
      for (const node of this.lab.nodes) {
        const tail = this.lab.logTail(node);
        if (tail.length) this.n.note(`${node.name}'s udrbdd log (warnings and errors, last ${tail.length}):\n${tail.map((l) => `  ${l}`).join('\n')}`);
      }
      throw new StepFailed(text);
    }
  }

  /** Waits for NODE's state line to match, then requires it. */
  private async expectState(node: DemoNode, re: RegExp, text: string, timeoutMs = 10_000): Promise<void> {
    const line = await this.lab.waitState(node, re, timeoutMs);
    this.require(line !== '', `${node.name}: ${text}`, `status line: ${this.lab.stateLine(node).trim() || '(none)'}`);
  }

  /** After a checksum mismatch: which MiB of the device differ (read now on both sides). */
  private async showDifferences(
    aName: string,
    bName: string,
    a: <T>(fn: (r: Reader) => Promise<T>) => Promise<T>,
    b: <T>(fn: (r: Reader) => Promise<T>) => Promise<T>,
  ): Promise<void> {
    const len = this.facts.exportBytes;
    const where = await this.lab.abortable(a((ra) => b((rb) => differingMiB(ra, rb, len))));
    const hashOf = (read: Reader) => hashRegion({ pread: read, exportSize: BigInt(len) });
    const [ha, hb] = await this.lab.abortable(Promise.all([a(hashOf), b(hashOf)]));
    this.n.note(
      where.length
        ? `         ${aName} and ${bName} differ now in MiB ${where.join(', ')}${where.length === 8 ? ' (and maybe more)' : ''}`
        : `         ${aName} and ${bName} are equal now (sha256 ${short(ha)}... / ${short(hb)}...): the difference was transient`,
    );
  }

  private catStatus(node: DemoNode) {
    return this.sh(node, 'cat $UDRBD_RUN_DIR/proc-drbd');
  }

  // ---- 1. two nodes, create-md, up

  private async setUp(): Promise<void> {
    const { lab, n } = this;
    const { alpha, beta } = lab;
    n.heading('Two nodes on this machine');
    n.say(
      'This is the classic two-node DRBD walkthrough, run on this one machine. alpha and beta',
      'are two udrbd nodes, each with its own name (UDRBD_HOSTNAME), run directory',
      `(UDRBD_RUN_DIR), address (${alpha.address}, ${beta.address}) and a sparse ${lab.sizeMiB} MiB file as its disk,`,
      `all in ${lab.dir}. Every command below runs in that node's environment, with`,
      'UDRBD_CONFIG naming the shared drbd.conf (instead of /etc/drbd.conf):',
    );
    await this.must(alpha, 'cat $UDRBD_CONFIG');
    n.say(
      `Both nodes on one machine share one /dev, so alpha's device is ${alpha.device} and beta's is`,
      `${beta.device} (on two machines both would be /dev/drbd0).`,
      '',
      'Initialize the meta-data storage on both nodes:',
    );
    for (const node of lab.nodes) await this.must(node, `drbdadm create-md ${RESOURCE}`);
    n.say('Start the resource, on the first node and then on the second (`drbdadm up` starts the', "node's daemon, udrbdd, as DRBD's first command loads the kernel module):");
    for (const node of lab.nodes) await this.must(node, `drbdadm up ${RESOURCE}`);
    for (const node of lab.nodes) await lab.waitState(node, /cs:Connected/, CONNECT_TIMEOUT_MS);
    n.say('Look at the first node... The status file holds the exact text of /proc/drbd; udrbd keeps', "it in the node's run directory:");
    await this.catStatus(alpha);
    n.say('... and at the second node:');
    await this.catStatus(beta);
    await this.expectState(alpha, STATE.fresh, 'Connected Secondary/Secondary Inconsistent/Inconsistent');
    await this.expectState(beta, STATE.fresh, 'Connected Secondary/Secondary Inconsistent/Inconsistent');
    n.say(
      '',
      'See a difference? No (very good :)',
      '  cs:Connected - the connection state (anything else: the resource is not ready).',
      '  ro:Secondary/Secondary - both nodes are secondary, but one must become primary!',
      '  ds:Inconsistent/Inconsistent - the state of the data: not consistent yet.',
    );
  }

  // ---- 2. primary --force and the initial sync

  private async initialSync(): Promise<void> {
    const { lab, n } = this;
    const { alpha, beta } = lab;
    n.heading('Primary, and the initial sync');
    n.say(
      "Make alpha primary. --force declares its data good; beta's will be overwritten (DRBD 8.3",
      `says the same as \`drbdadm -- --overwrite-data-of-peer primary ${RESOURCE}\`, which works too):`,
    );
    await this.must(alpha, `drbdadm primary --force ${RESOURCE}`);
    n.say(
      'and watch the synchronization, as `watch cat /proc/drbd` shows it in the seed (here',
      '`udrbd status --watch` draws the same text with a wide progress bar):',
    );
    const sync = await watchSync(lab, n, alpha, beta, SYNC_TIMEOUT_MS);
    this.require(sync.ok, `initial sync of ${lab.sizeMiB} MiB finished in ${sync.seconds.toFixed(1)} s`, sync.reason);
    n.say(
      'Always wait for the end of the synchronization! (The seed\'s 80 GB took more than an',
      'hour and a half at 100 Mbit/s.) Look at the first node:',
    );
    await this.catStatus(alpha);
    n.say('and at the second node:');
    await this.catStatus(beta);
    await this.expectState(alpha, STATE.primaryInSync, 'Connected Primary/Secondary UpToDate/UpToDate');
    await this.expectState(beta, STATE.secondaryInSync, 'Connected Secondary/Primary UpToDate/UpToDate');
    n.say('', 'All correct! The first is primary, the second secondary, and the data are consistent.');
  }

  // ---- 3. writes on the Primary

  private async writeOnPrimary(): Promise<void> {
    const { lab, n, plan } = this;
    const { alpha, beta } = lab;
    n.heading('Writing on the Primary');
    n.say(
      'Every udrbd device is exported over NBD on a unix socket in the run directory',
      `(${alpha.nbdSocket});`,
      "qemu, nbdcopy, nbdfuse and the kernel's nbd-client can all use it. The demo writes",
      `${PATTERN_A.length / MiB} MiB of random data through alpha's socket with its own small NBD client and reads them back:`,
    );
    await lab.abortable(
      withNbd(alpha.nbdSocket, async (c) => {
        this.facts.exportBytes = Number(c.exportSize);
        this.facts.patternA = await writeRandom(c, PATTERN_A.offset, PATTERN_A.length);
        n.note(`  wrote ${PATTERN_A.length / MiB} MiB at offset ${PATTERN_A.offset}: sha256 ${short(this.facts.patternA)}...`);
        const back = await hashRegion(c, PATTERN_A.offset, PATTERN_A.length);
        n.note(`  read them back:               sha256 ${short(back)}...`);
        this.require(back === this.facts.patternA, 'alpha reads back what it wrote');
      }),
    );
    await this.secondaryRefusesWrites(beta);

    if (plan.filesystem) await this.filesystemOnAlpha();
    else n.say(`No ${alpha.device} in this run: ${plan.reason}.`, 'The NBD socket is the way in; as root with /dev/fuse the demo also runs mkfs.ext4 and mount.');
  }

  /** A Secondary never accepts writes from a client: its export is read-only. */
  private async secondaryRefusesWrites(beta: DemoNode): Promise<void> {
    const outcome = await this.lab.abortable(
      withNbd(beta.nbdSocket, async (c) => {
        try {
          await c.pwrite(0, Buffer.alloc(4096, 0xff));
          return 'accepted';
        } catch (e) {
          if (e instanceof NbdRequestError) return `${errnoName(e.errno)}${c.readOnly ? ', the export is read-only' : ''}`;
          throw e;
        }
      }).catch((e: Error) => e.message),
    );
    this.n.check(outcome !== 'accepted', `beta (Secondary) refuses writes through its NBD socket: ${outcome}`);
  }

  private async filesystemOnAlpha(): Promise<void> {
    const { lab, n } = this;
    const { alpha } = lab;
    const mnt = alpha.mountPoint;
    n.say(
      '',
      `Create a filesystem on ${alpha.device}. udrbd made it when alpha became Primary: there is no DRBD`,
      'kernel module here, so the path is NBD socket -> FUSE file -> loop device -> block node.',
      'The filesystem takes the whole device, test data above included:',
    );
    await this.must(alpha, `ls -l ${alpha.device}`);
    await this.must(alpha, `mkfs.ext4 ${alpha.device}`);
    n.say('Mount it on alpha and look at the result:');
    await this.must(alpha, `mount ${alpha.device} ${mnt}`);
    await this.must(alpha, `df -h ${mnt}`);
    await this.must(alpha, `drbdadm status ${RESOURCE}`);
    n.say("Create readme.txt with the text 'My first cluster', some random data, and their checksums:");
    await this.must(alpha, `echo 'My first cluster' > ${mnt}/readme.txt`);
    await this.must(alpha, `head -c 8M /dev/urandom > ${mnt}/data.bin`);
    await this.must(alpha, `cd ${mnt} && sha256sum readme.txt data.bin | tee SHA256SUMS`);
    n.say('To mount it on beta, unmount it on alpha first:');
    await this.must(alpha, `umount ${mnt}`);
  }

  // ---- 4. manual role switch

  private async switchRoles(): Promise<void> {
    const { lab, n, plan, facts } = this;
    const { alpha, beta } = lab;
    n.heading('Switching roles');
    n.say('To look at the data on the second node, make the first Secondary, then the second Primary. On alpha:');
    await this.must(alpha, `drbdadm secondary ${RESOURCE}`);
    // Demotion is the point where every write alpha made is final: /dev/drbdN has been
    // flushed and removed. (Right after umount, writes can still be on their way from the
    // loop device through FUSE to the NBD server.)
    n.say(`The checksum of alpha's whole device (${facts.exportBytes} bytes, through its NBD socket, read-only now):`);
    facts.deviceOnAlpha = await lab.abortable(withNbd(alpha.nbdSocket, (c) => hashRegion(c)));
    n.note(`  alpha's device: sha256 ${short(facts.deviceOnAlpha)}...`);
    n.say('', 'and on beta:');
    await this.must(beta, `drbdadm primary ${RESOURCE}`);
    await this.catStatus(beta);
    await this.expectState(beta, STATE.primaryInSync, 'Connected Primary/Secondary UpToDate/UpToDate');
    await this.expectState(alpha, STATE.secondaryInSync, 'Connected Secondary/Primary UpToDate/UpToDate');
    // Before anything mounts it: a mount alone changes the superblock (mount count, times).
    const onBeta = await lab.abortable(withNbd(beta.nbdSocket, (c) => hashRegion(c)));
    n.note(`  beta's whole device: sha256 ${short(onBeta)}...`);
    if (!n.check(onBeta === facts.deviceOnAlpha, "beta's device is byte for byte alpha's")) {
      await this.showDifferences(alpha.name, beta.name, (fn) => withNbd(alpha.nbdSocket, (c) => fn(nbdReader(c))), (fn) => withNbd(beta.nbdSocket, (c) => fn(nbdReader(c))));
    }

    if (!plan.filesystem) {
      const back = await lab.abortable(withNbd(beta.nbdSocket, (c) => hashRegion(c, PATTERN_A.offset, PATTERN_A.length)));
      n.note(`  beta reads the ${PATTERN_A.length / MiB} MiB alpha wrote: sha256 ${short(back)}...`);
      n.check(back === facts.patternA, 'beta reads exactly the data alpha wrote (NBD)');
    } else {
      const mnt = beta.mountPoint;
      n.say('Now mount it on beta and look: everything is identical, and readme.txt is where it should be!');
      await this.must(beta, `mount ${beta.device} ${mnt}`);
      await this.must(beta, `ls -l ${mnt}`);
      await this.must(beta, `cat ${mnt}/readme.txt`);
      const r = await this.sh(beta, `cd ${mnt} && sha256sum -c SHA256SUMS`);
      n.check(r.code === 0, 'the files alpha wrote have the same checksums on beta');
    }
    n.say('', 'beta, now Primary, writes too:');
    if (plan.filesystem) {
      const mnt = beta.mountPoint;
      await this.must(beta, `echo 'Written on beta' > ${mnt}/beta.txt`);
      await this.must(beta, `cd ${mnt} && sha256sum beta.txt >> SHA256SUMS && sync`);
    } else {
      facts.patternB = await lab.abortable(withNbd(beta.nbdSocket, (c) => writeRandom(c, PATTERN_B.offset, PATTERN_B.length)));
      n.note(`  beta wrote ${PATTERN_B.length / MiB} MiB at offset ${PATTERN_B.offset}: sha256 ${short(facts.patternB)}...`);
    }
  }

  // ---- 5. the Primary's daemon killed

  private async pullThePlug(): Promise<void> {
    const { lab, n, plan, facts } = this;
    const { alpha, beta } = lab;
    n.heading('Pulling the plug on the Primary');
    if (plan.filesystem) {
      n.say('beta unmounts first, only so that the demo can clean up this machine afterwards:');
      await this.must(beta, `umount ${beta.mountPoint}`);
    }
    n.say(
      "Now kill beta's daemon with SIGKILL. For alpha this is a Primary that lost power: no",
      'goodbye on the wire. Protocol C means beta completed each write only once alpha had it too.',
    );
    await this.sh(beta, 'kill -9 $(cat $UDRBD_RUN_DIR/udrbdd.pid)');
    const t0 = Date.now();
    const line = await lab.waitState(alpha, STATE.peerLost, PEER_LOSS_TIMEOUT_MS);
    this.require(line !== '', `alpha noticed the loss of its peer (${((Date.now() - t0) / 1000).toFixed(1)} s)`, `status line: ${lab.stateLine(alpha).trim()}`);
    await this.catStatus(alpha);
    n.say('alpha waits for its peer (WFConnection) and still has good data (UpToDate). The survivor takes over:');
    await this.must(alpha, `drbdadm primary ${RESOURCE}`);
    await this.expectState(alpha, STATE.survivor, 'WFConnection Primary/Unknown UpToDate/DUnknown');
    await this.catStatus(alpha);
    // Before anything mounts it on alpha: a mount alone changes the superblock.
    n.say("Compare alpha's device with beta's disk, read straight from its backing file (a disk", 'pulled out of the dead server):');
    const survivor = await lab.abortable(withNbd(alpha.nbdSocket, (c) => hashRegion(c)));
    const deadDisk = await lab.abortable(hashFile(beta.disk, facts.exportBytes));
    n.note(`  alpha's device:     sha256 ${short(survivor)}...`);
    n.note(`  beta's dead disk:   sha256 ${short(deadDisk)}...`);
    if (!n.check(survivor === deadDisk, "the survivor's device and the dead node's disk are identical")) {
      await this.showDifferences(alpha.name, `${beta.name}'s disk`, (fn) => withNbd(alpha.nbdSocket, (c) => fn(nbdReader(c))), (fn) => withFileReader(beta.disk, fn));
    }

    if (plan.filesystem) {
      const mnt = alpha.mountPoint;
      n.say("alpha mounts the filesystem and finds everything, beta's last file included:");
      await this.must(alpha, `mount ${alpha.device} ${mnt}`);
      await this.must(alpha, `ls -l ${mnt}`);
      const r = await this.sh(alpha, `cd ${mnt} && sha256sum -c SHA256SUMS`);
      n.check(r.code === 0, "every file, beta's last one included, is intact on the survivor");
      await this.must(alpha, `umount ${mnt}`);
    } else {
      const b = await lab.abortable(withNbd(alpha.nbdSocket, (c) => hashRegion(c, PATTERN_B.offset, PATTERN_B.length)));
      n.note(`  alpha reads what beta wrote last: sha256 ${short(b)}...`);
      n.check(b === facts.patternB, 'the data beta wrote before it died are on the survivor');
    }
  }
}
