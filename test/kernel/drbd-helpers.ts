// DRBD-specific helpers for kernel-rig tests: drbd.conf text, /proc/drbd waits, checksums.
import type { Guest } from './rig.js';

export interface Node {
  hostname: string;
  address: string;
}

/**
 * A two-node resource r0 on /dev/vda with internal meta-data. Timers are shortened so
 * the suite stays fast: ping-int 2 s notices a pulled cable in ~3 s instead of ~10 s,
 * connect-int 2 s reconnects sooner. ping-timeout is 1.5 s rather than the default 0.5 s
 * because an emulated (TCG) guest on a busy host can stall long enough to miss a 0.5 s
 * PingAck and drop a healthy connection.
 */
export function drbdConf(a: Node, b: Node, extraNet = ''): string {
  return `global { usage-count no; }
resource r0 {
  net { protocol C; ping-int 2; ping-timeout 15; connect-int 2; ${extraNet} }
  disk { resync-rate 100M; c-plan-ahead 0; }
  on ${a.hostname} { device /dev/drbd0; disk /dev/vda; address ${a.address}:7789; meta-disk internal; }
  on ${b.hostname} { device /dev/drbd0; disk /dev/vda; address ${b.address}:7789; meta-disk internal; }
}
`;
}

/**
 * Minor 0's two lines of /proc/drbd joined by a space: the state line
 * ("0: cs:Connected ro:Secondary/Secondary ds:...") and its counters ("ns:0 nr:0 ... oos:0").
 */
export function minorLine(procDrbd: string): string {
  const m = /^\s*0: (.*)\n(\s+ns:.*)?/m.exec(procDrbd);
  return m ? `0: ${m[1]!.trim()} ${(m[2] ?? '').trim()}`.trim() : '';
}

/**
 * Polls /proc/drbd until minor 0's line matches every pattern; on timeout the error quotes
 * the last /proc/drbd seen, which is usually all one needs to see what went wrong.
 */
export async function waitProcDrbd(g: Guest, patterns: RegExp[], timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = (await g.run('cat /proc/drbd', { timeoutMs: 10_000 })).stdout;
    const line = minorLine(last);
    if (patterns.every((p) => p.test(line))) return last;
    if (Date.now() > deadline) {
      throw new Error(`${g.name}: /proc/drbd did not reach ${patterns.join(' ')} within ${timeoutMs} ms; last seen:\n${last}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * md5 of the data area of the backing disk (the first `size` sectors of /dev/vda, i.e.
 * everything before DRBD's internal meta-data). Works on a Secondary, which may not open
 * /dev/drbd0. Caches are dropped first: DRBD writes below the backing device's page
 * cache, so a cached read could return stale blocks.
 */
export async function backingDataMd5(g: Guest): Promise<string> {
  const r = await g.run(
    'sync; echo 3 > /proc/sys/vm/drop_caches; s=$(cat /sys/block/drbd0/size); ' +
      // 4 KiB reads where the size allows: busybox head -c and 512-byte dd crawl under TCG.
      'if [ $((s % 8)) = 0 ]; then dd if=/dev/vda bs=4096 count=$((s / 8)); ' +
      'else dd if=/dev/vda bs=512 count=$s; fi 2>/dev/null | md5sum',
    { check: true, timeoutMs: 60_000 },
  );
  return r.stdout.split(/\s+/)[0] ?? '';
}

/** md5 of /dev/drbd0 itself (Primary only). */
export async function deviceMd5(g: Guest): Promise<string> {
  const r = await g.run('md5sum /dev/drbd0', { check: true, timeoutMs: 60_000 });
  return r.stdout.split(/\s+/)[0] ?? '';
}
