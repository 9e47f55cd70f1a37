// udrbd-hb: the two-node heartbeat manager (ha.cf, authkeys, haresources) is a separate piece
// of work that this release does not contain. Say so plainly rather than pretend.
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('udrbd-hb: heartbeat-style cluster manager for udrbd (not in this release).\n');
    return 0;
  }
  process.stderr.write('udrbd-hb: the heartbeat manager is not part of this release of udrbd; drive the resources with drbdadm.\n');
  return 1;
}
