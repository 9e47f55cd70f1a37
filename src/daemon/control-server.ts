// The daemon's end of the control socket. One handler for every request; a request that
// throws answers exit code 20 with the message, so a bug never kills the daemon.
import { createServer, type Server, type Socket } from 'node:net';
import { chmodSync, unlinkSync, existsSync } from 'node:fs';
import type { ControlRequest, ControlResponse } from './control-protocol.js';
import { LineSplitter } from './control-protocol.js';
import type { Logger } from '../log.js';

export type ControlHandler = (req: ControlRequest) => Promise<Omit<ControlResponse, 'id'>>;

/** Largest request line accepted; a longer line is hostile or broken and closes the client. */
const MAX_LINE = 1 << 20;

export async function listenControl(path: string, handler: ControlHandler, log: Logger): Promise<Server> {
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((sock: Socket) => serveClient(sock, handler, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  // Only root (the daemon's owner) may change state, as with the kernel's netlink interface.
  chmodSync(path, 0o600);
  return server;
}

function serveClient(sock: Socket, handler: ControlHandler, log: Logger): void {
  const lines = new LineSplitter();
  sock.setEncoding('utf8');
  sock.on('data', (chunk: string) => {
    const got = lines.push(chunk);
    if (got.some((l) => l.length > MAX_LINE)) {
      sock.destroy();
      return;
    }
    for (const line of got) {
      let req: ControlRequest;
      try {
        req = JSON.parse(line) as ControlRequest;
        if (typeof req.cmd !== 'string' || typeof req.id !== 'number') throw new Error('bad request');
      } catch {
        sock.write(JSON.stringify({ id: -1, exitCode: 20, stderr: 'malformed control request' }) + '\n');
        continue;
      }
      handler(req)
        .catch((e: unknown): Omit<ControlResponse, 'id'> => {
          log.error({ err: e, cmd: req.cmd }, 'control request failed');
          return { exitCode: 20, stderr: e instanceof Error ? e.message : String(e) };
        })
        .then((res) => {
          if (!sock.destroyed) sock.write(JSON.stringify({ id: req.id, ...res }) + '\n');
        });
    }
  });
  sock.on('error', () => sock.destroy());
}
