// Where the rig's files live, relative to this checkout.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BUILD_IMAGE_SCRIPT = join(REPO_ROOT, 'scripts/kernel-rig/build-image.sh');
/** Image cache; UDRBD_RIG_CACHE overrides (the build script honours the same variable). */
export const CACHE_DIR = process.env.UDRBD_RIG_CACHE ?? join(REPO_ROOT, '.rig');
export const ARTIFACTS_ROOT = join(REPO_ROOT, 'test-artifacts/kernel');
export const QEMU = process.env.UDRBD_RIG_QEMU ?? 'qemu-system-x86_64';
