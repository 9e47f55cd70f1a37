// The one pino setup of udrbd. JSON lines to stderr (or UDRBD_LOG_FILE); level from
// UDRBD_LOG_LEVEL. Callers make children carrying resource/minor/peer.
import pino, { type Logger } from 'pino';

let root: Logger | undefined;

export function logger(): Logger {
  if (!root) {
    const level = process.env.UDRBD_LOG_LEVEL ?? 'info';
    const file = process.env.UDRBD_LOG_FILE;
    root = pino(
      { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
      file ? pino.destination({ dest: file, append: true, sync: true }) : pino.destination(2),
    );
  }
  return root;
}

export type { Logger };
