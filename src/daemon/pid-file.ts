// One udrbdd per run directory: the pid file is taken with O_EXCL; a stale one (its process
// gone) is replaced.
import { openSync, writeSync, closeSync, readFileSync, unlinkSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed daemon nobody reaped yet (a zombie) still answers signal 0 but is dead.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Takes the pid file or throws naming the running daemon. Returns a release function. */
export function takePidFile(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isFinite(pid) && alive(pid)) throw new Error(`udrbdd already running (pid ${pid}, ${path})`);
      unlinkSync(path);
    }
  }
  throw new Error(`cannot take pid file ${path}`);
}
