// DRBD's user-mode helpers (spec/handshake-and-split-brain.md §6): the kernel calls
// `/sbin/drbdadm <handler> minor-<N>`, which runs the configured shell command with the
// DRBD_* environment. udrbdd runs the command itself with the same environment and logs the
// kernel's lines, so scripts written for DRBD (notify-split-brain.sh, crm-fence-peer.sh) work.
import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

export type HandlerName =
  | 'pri-on-incon-degr'
  | 'pri-lost-after-sb'
  | 'pri-lost'
  | 'initial-split-brain'
  | 'split-brain'
  | 'fence-peer'
  | 'unfence-peer'
  | 'local-io-error'
  | 'before-resync-target'
  | 'after-resync-target'
  | 'before-resync-source'
  | 'out-of-sync';

export interface HandlerContext {
  resource: string;
  minor: number;
  volume: number;
  configFile: string;
  backingDisk: string;
  peerAddress?: { af: string; ip: string };
  peerHost?: string;
}

/** Handler names as the config's camel-cased keys (split-brain → splitBrain). */
function configKey(name: HandlerName): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function handlerEnv(ctx: HandlerContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    HOME: '/',
    TERM: 'linux',
    PATH: '/sbin:/usr/sbin:/bin:/usr/bin',
    DRBD_RESOURCE: ctx.resource,
    DRBD_CONF: ctx.configFile,
    DRBD_MINOR: String(ctx.minor),
    DRBD_VOLUME: String(ctx.volume),
    DRBD_LL_DISK: ctx.backingDisk,
  };
  if (ctx.peerAddress) {
    env.DRBD_PEER_AF = ctx.peerAddress.af;
    env.DRBD_PEER_ADDRESS = ctx.peerAddress.ip;
  }
  if (ctx.peerHost) {
    env.DRBD_PEER = ctx.peerHost;
    env.DRBD_PEERS = ctx.peerHost;
  }
  return env;
}

/**
 * Runs handler NAME if configured and resolves to its exit code (0 when none is configured,
 * as drbdadm exits 0 then). Never rejects: a handler that cannot start counts as exit 127.
 */
export function runHandler(
  name: HandlerName,
  handlers: Readonly<Record<string, unknown>>,
  ctx: HandlerContext,
  log: Logger,
): Promise<number> {
  const cmd = handlers[configKey(name)];
  const helper = `/sbin/drbdadm ${name} minor-${ctx.minor}`;
  log.info(`helper command: ${helper}`);
  if (typeof cmd !== 'string' || cmd.length === 0) {
    log.info(`helper command: ${helper} exit code 0 (0x0)`);
    return Promise.resolve(0);
  }
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', cmd], { env: handlerEnv(ctx), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => {
      const rc = code ?? (signal ? 128 : 1);
      const text = out.join('').trim();
      if (text) log.info({ handler: name, output: text }, `helper ${name} said`);
      // The kernel logs the wait status as drbdadm's exit code shifted into the high byte.
      log.info(`helper command: ${helper} exit code ${rc} (0x${(rc << 8).toString(16)})`);
      resolve(rc);
    });
  });
}
