// The demo's drbd.conf: the seed walkthrough's resource r0 (protocol C, the after-sb policies,
// on-io-error detach), for two hosts that live on this machine. Pure: the caller picks the
// directory, the minors and the port.

export interface DemoHost {
  name: string;
  minor: number;
  /** backing file (sparse) */
  disk: string;
  /** a loopback address of its own: 127.0.0.1, 127.0.0.2 */
  address: string;
}

export function demoConfig(hosts: readonly DemoHost[], port: number): string {
  const on = hosts
    .map(
      (h) => `  on ${h.name} {
    device    /dev/drbd${h.minor};
    disk      ${h.disk};
    address   ${h.address}:${port};
    meta-disk internal;
  }`,
    )
    .join('\n');
  return `# drbd.conf of \`udrbd demo\`: the seed walkthrough's r0, two hosts on one machine.
global { usage-count no; }
resource r0 {
  protocol C;
  disk {
    on-io-error detach;
    # A fixed rate, so that the demo's timing does not depend on the dynamic
    # controller (c-plan-ahead 0 turns it off, and resync-rate is then the rate):
    # 100M syncs this small disk in a few seconds.
    resync-rate 100M;
    c-plan-ahead 0;
  }
  net {
    after-sb-0pri discard-younger-primary;
    after-sb-1pri consensus;
    # Find the peer again quickly after \`up\` (the default retry interval is 10 s).
    connect-int 2;
  }
  # One machine has one /dev: each host gets its own minor (on two machines both would
  # be /dev/drbd0).
${on}
}
`;
}
