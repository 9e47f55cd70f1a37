// Network attachments for a guest's single NIC (netdev id "n0").
import { createSocket } from 'node:dgram';
import type { Netns } from './netns.js';

export type NetSpec =
  /** Kernel <-> kernel: qemu's UDP socket netdev, both ends on 127.0.0.1. */
  | { kind: 'udp'; localPort: number; peerPort: number }
  /**
   * Kernel <-> host process: a tap inside a network namespace. Without `netns` the guest
   * creates its own namespace (deleted at stop); `hostCidr` goes on the tap (the address a
   * udrbd daemon in that namespace uses), e.g. 10.99.0.254/24.
   */
  | { kind: 'tap'; netns?: Netns; hostCidr?: string }
  /** No NIC at all. */
  | { kind: 'none' };

/** Two ends of one emulated cable: pass `a` to one guest and `b` to the other. */
export async function udpLink(): Promise<{ a: NetSpec; b: NetSpec }> {
  const [p1, p2] = await freeUdpPorts(2);
  return { a: { kind: 'udp', localPort: p1, peerPort: p2 }, b: { kind: 'udp', localPort: p2, peerPort: p1 } };
}

/**
 * Ports the kernel hands out for 127.0.0.1 right now. The sockets are closed again before
 * qemu binds them, a small race that only another process grabbing the same ephemeral
 * port in that instant can lose.
 */
async function freeUdpPorts(n: number): Promise<number[]> {
  const socks = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<ReturnType<typeof createSocket>>((resolve, reject) => {
        const s = createSocket('udp4');
        s.once('error', reject);
        s.bind(0, '127.0.0.1', () => resolve(s));
      }),
    ),
  );
  const ports = socks.map((s) => s.address().port);
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** qemu arguments for the NIC; `tap` is the tap device name for kind 'tap'. */
export function netArgs(spec: NetSpec, mac: string, tap?: string): string[] {
  const nic = ['-device', `virtio-net-pci,netdev=n0,mac=${mac}`];
  switch (spec.kind) {
    case 'udp':
      return ['-netdev', `socket,id=n0,udp=127.0.0.1:${spec.peerPort},localaddr=127.0.0.1:${spec.localPort}`, ...nic];
    case 'tap':
      return ['-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, ...nic];
    case 'none':
      return [];
  }
}

/** Locally administered, stable per guest: 52:54:00 + the last three octets of its IPv4 address. */
export function macFor(ip: string | undefined, name: string): string {
  let b: number[];
  const m = ip ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)/.exec(ip) : null;
  if (m) {
    b = [Number(m[2]), Number(m[3]), Number(m[4])];
  } else {
    let h = 2166136261;
    for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  }
  return ['52', '54', '00', ...b.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}
