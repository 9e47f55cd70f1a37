// The configuration the CLI tests run against (host node1): r0 with one volume and options in
// common and resource; r1 with two volumes, one with fixed-index external meta-data.
import { writeConf } from './helpers.js';

export const CONF_TEXT = `global { usage-count no; disable-ip-verification; }
common {
  net { protocol C; }
  startup { wfc-timeout 15; degr-wfc-timeout 60; }
}
resource r0 {
  disk { on-io-error detach; al-extents 257; }
  net { cram-hmac-alg sha1; shared-secret s3cr3t; }
  on node1 { device /dev/drbd0; disk /dev/sdb1; address 127.0.0.1:7788; meta-disk internal; }
  on node2 { device /dev/drbd0; disk /dev/sdb1; address 127.0.0.2:7788; meta-disk internal; }
}
resource r1 {
  volume 0 { device /dev/drbd1; disk /dev/vg/a; meta-disk internal; }
  volume 1 { device /dev/drbd2; disk /dev/vg/b; meta-disk /dev/vg/meta [0]; }
  on node1 { address 127.0.0.1:7789; }
  on node2 { address 127.0.0.2:7789; }
}
`;

export const HOST = 'node1';

export function conf(): string {
  return writeConf(CONF_TEXT);
}
