// udrbdd [--foreground]: the node daemon. Without --foreground it starts itself in the
// background and returns once the control socket answers (what `drbdadm up` relies on).
import { Daemon } from '../daemon/daemon.js';
import { ensureDaemon } from '../daemon/control-client.js';
import { runDir, runFiles } from '../daemon/run-dir.js';
import { logger } from '../log.js';

export async function main(argv: string[]): Promise<number> {
  const dir = runDir();
  if (!argv.includes('--foreground')) {
    await ensureDaemon(dir);
    return 0;
  }
  // Started in the background, stderr is not a terminal: log into the run directory.
  if (!process.env.UDRBD_LOG_FILE && !process.stderr.isTTY) process.env.UDRBD_LOG_FILE = runFiles(dir).logFile;
  const log = logger();
  const daemon = new Daemon(dir, log);
  await daemon.start();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void daemon.stop());
  await daemon.whenStopped();
  return 0;
}
