// The shorter path where the kernel has nbd: nbd-client connects a free /dev/nbdX to our
// unix socket and the kernel speaks NBD itself. This machine has no nbd module, so this
// branch is not exercised by the tests here; it is kept to the few tool calls it needs.
import { readdir, readFile, stat } from 'node:fs/promises';
import { type DevNo, parseDev } from './devno.js';
import { run, waitFor } from './run.js';

export interface NbdKernelDevice extends DevNo {
  path: string;
  sysName: string;
}

async function isConnected(sysName: string): Promise<boolean> {
  // /sys/block/nbdX/pid exists exactly while a client holds the device connected.
  return stat(`/sys/block/${sysName}/pid`).then(() => true, () => false);
}

export async function attachNbdKernel(nbdSocket: string, sizeBytes: number): Promise<NbdKernelDevice> {
  const names = (await readdir('/sys/block')).filter((n) => /^nbd\d+$/.test(n));
  names.sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  let lastError: unknown = new Error('no /dev/nbdX devices (is nbds_max 0?)');
  for (const sysName of names) {
    if (await isConnected(sysName)) continue;
    const path = `/dev/${sysName}`;
    try {
      // Another process may take the same free device first; nbd-client then fails and
      // the next one is tried.
      await run('nbd-client', ['-unix', nbdSocket, path, '-block-size', '4096']);
    } catch (e) {
      lastError = e;
      continue;
    }
    await waitFor(async () => (await deviceBytes(sysName)) === sizeBytes, 5_000);
    const got = await deviceBytes(sysName);
    if (got !== sizeBytes) {
      await detachNbdKernel(path).catch(() => undefined);
      throw new Error(`${path} has ${got} bytes, the NBD export should have ${sizeBytes}`);
    }
    return { path, sysName, ...parseDev(await readFile(`/sys/block/${sysName}/dev`, 'utf8')) };
  }
  throw lastError;
}

async function deviceBytes(sysName: string): Promise<number> {
  return Number((await readFile(`/sys/block/${sysName}/size`, 'utf8')).trim()) * 512;
}

export async function detachNbdKernel(path: string): Promise<void> {
  await run('nbd-client', ['-d', path]);
}
