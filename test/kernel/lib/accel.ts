// Accelerator choice, made at run time: KVM only when it demonstrably boots the rig's
// kernel, else TCG. On some hosts /dev/kvm exists but cannot run this kernel (nested PVM:
// "-cpu host" aborts with "failed to set MSR 0x10a", other models hang after the BIOS), so
// the presence of /dev/kvm proves nothing. The verdict is cached per host boot and kernel.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RigImage } from './image.js';
import { CACHE_DIR, QEMU } from './paths.js';

export type Accel = 'kvm' | 'tcg';

/** qemu arguments selecting the accelerator and a CPU model that works with it. */
export function accelArgs(accel: Accel): string[] {
  return accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
}

const PROBE_TIMEOUT_MS = 8_000;
let memo: Promise<Accel> | undefined;

export function chooseAccel(image: RigImage): Promise<Accel> {
  const forced = process.env.UDRBD_RIG_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced);
  memo ??= decide(image);
  return memo;
}

async function decide(image: RigImage): Promise<Accel> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const cacheFile = join(CACHE_DIR, `accel-${bootId}-${image.kernelVersion}.json`);
  try {
    const v = (JSON.parse(readFileSync(cacheFile, 'utf8')) as { accel: Accel }).accel;
    if (v === 'kvm' || v === 'tcg') return v;
  } catch {
    // Not probed yet on this boot.
  }
  const accel: Accel = (await kvmBoots(image)) ? 'kvm' : 'tcg';
  mkdirSync(CACHE_DIR, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify({ accel, probedAt: new Date().toISOString() }));
  return accel;
}

/** Boots the image under KVM with udrbd.probe=1: its init prints a marker and powers off. */
function kvmBoots(image: RigImage): Promise<boolean> {
  return new Promise((resolve) => {
    const q = spawn(QEMU, [
      ...accelArgs('kvm'), '-m', '256', '-smp', '1', '-nodefaults', '-no-user-config',
      '-display', 'none', '-no-reboot', '-kernel', image.kernel, '-initrd', image.initrd,
      '-append', 'console=ttyS0 panic=-1 udrbd.probe=1', '-serial', 'stdio',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      q.kill('SIGKILL');
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    q.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('UDRBD-RIG-PROBE-OK')) finish(true);
    });
    q.stderr.resume();
    q.on('error', () => finish(false));
    q.on('exit', () => finish(out.includes('UDRBD-RIG-PROBE-OK')));
  });
}
