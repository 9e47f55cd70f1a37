// Minimal QMP client (QEMU Machine Protocol, JSON lines over a unix socket): enough for
// set_link (cable pulls), filter-dump objects (pcap) and quit.
import { connect, type Socket } from 'node:net';
import { sleep } from './proc.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  command: string;
}

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

export class Qmp {
  private buf = '';
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closed = false;
  /** Asynchronous events (SHUTDOWN, NIC_RX_FILTER_CHANGED, ...), kept for diagnostics. */
  readonly events: QmpEvent[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('close', () => this.failAll(new Error('QMP connection closed')));
    sock.on('error', (err) => this.failAll(err));
  }

  /**
   * Connects to qemu's QMP server socket, retrying until it exists (qemu creates it while
   * starting up), and leaves capabilities negotiation mode.
   */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const qmp = new Qmp(sock);
        // The greeting arrives first; qmp_capabilities is accepted right after it.
        await qmp.execute('qmp_capabilities');
        return qmp;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`QMP: cannot connect to ${path}: ${(err as Error).message}`);
        await sleep(50);
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    const id = this.nextId++;
    const msg = JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (v) => resolve(v as T), reject, timer, command });
      this.sock.write(`${msg}\n`);
    });
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
    }
  }

  private onMessage(msg: Record<string, unknown>): void {
    if (typeof msg.event === 'string') {
      this.events.push(msg as unknown as QmpEvent);
      return;
    }
    const id = msg.id;
    if (typeof id !== 'number') return; // the greeting
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(new Error(`QMP ${p.command}: ${e.class ?? 'Error'}: ${e.desc ?? JSON.stringify(e)}`));
    } else {
      p.resolve(msg.return);
    }
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new Error(`QMP ${p.command}: ${err.message}`));
    }
  }
}
