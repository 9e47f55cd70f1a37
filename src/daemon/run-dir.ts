// Where udrbdd keeps its control socket, pid file, NBD sockets and status file
// (DESIGN.md "Processes and files"): UDRBD_RUN_DIR, else /run/udrbd as root, else
// $XDG_RUNTIME_DIR/udrbd (or /tmp/udrbd-UID when there is no runtime dir).
import { join } from 'node:path';

export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.UDRBD_RUN_DIR) return env.UDRBD_RUN_DIR;
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/udrbd';
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'udrbd') : `/tmp/udrbd-${uid}`;
}

export const runFiles = (dir: string) => ({
  controlSocket: join(dir, 'control.sock'),
  pidFile: join(dir, 'udrbdd.pid'),
  statusFile: join(dir, 'proc-drbd'),
  logFile: join(dir, 'udrbdd.log'),
  nbdSocket: (minor: number) => join(dir, `drbd${minor}.sock`),
});
