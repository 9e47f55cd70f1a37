// The boot image (kernel + initramfs) built by scripts/kernel-rig/build-image.sh from the
// installed Debian packages, reused from the cache while its inputs are unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_IMAGE_SCRIPT, CACHE_DIR, QEMU } from './paths.js';
import { run } from './proc.js';

export interface RigImage {
  dir: string;
  key: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  kernelPackageVersion: string;
  drbdUtilsVersion: string;
  busyboxVersion: string;
  modules: string[];
}

interface Manifest {
  key: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  kernelPackageVersion: string;
  drbdUtilsVersion: string;
  busyboxVersion: string;
  modules: string[];
}

let cached: Promise<RigImage> | undefined;

/** Builds the image once per process (the script itself reuses the on-disk cache). */
export function ensureImage(): Promise<RigImage> {
  cached ??= build().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function build(): Promise<RigImage> {
  await requireQemu();
  const r = await run('bash', [BUILD_IMAGE_SCRIPT, '--out', CACHE_DIR], { timeoutMs: 300_000 });
  if (r.code !== 0) {
    // The script's own message names the missing package; pass it through verbatim.
    throw new Error(r.stderr.trim() || `build-image.sh exited ${r.code}`);
  }
  const dir = r.stdout.trim().split('\n').pop() ?? '';
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return { ...m, dir, kernel: join(dir, m.kernel), initrd: join(dir, m.initrd) };
}

async function requireQemu(): Promise<void> {
  try {
    await run(QEMU, ['--version'], { timeoutMs: 10_000 });
  } catch {
    throw new Error(`kernel rig: ${QEMU} not found: missing Debian package qemu-system-x86 (run scripts/install-deps.sh as root)`);
  }
}
