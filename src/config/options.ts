// THE table of drbd.conf options. One row per option drives: parsing (which words are
// options of which section, what value they take), validation (enum values, number
// syntax, ranges), `drbdadm dump` (name, flag printing), the effective values the
// daemon uses (typed key with its base unit, 8.4.7 default) and docs/configuration.md.
//
// Facts come from spec/config-defaults.md (drbd_limits.h at 8.4.7, 8.3.9 differences)
// and from running drbdadm-84 (which options it accepts, which it range-checks).

export type Section = 'global' | 'options' | 'net' | 'disk' | 'startup' | 'handlers';

/**
 * bool:    `NAME;` = yes, `NAME yes|no;`; printed `NAME yes|no`.
 * flag:    value-less, printed `NAME;` (stacked-timeouts).
 * numeric: integer with optional K/M/G/s suffix (scale decides the unit of a bare number).
 * enum:    one of `values`.
 * string:  free word or quoted string.
 * handler: shell command (handlers section).
 */
export type OptionType = 'bool' | 'flag' | 'numeric' | 'enum' | 'string' | 'handler';

/**
 * The unit of a bare number, as drbdadm's scanner sees it:
 * 'k' = KiB (rates), 's' = 512-byte sectors, '1' = the option's own unit (bytes, counts,
 * seconds, tenths of a second — the suffixes then just multiply by 2^10/2^20/2^30/512).
 */
export type Scale = 'k' | 's' | '1';

export interface OptionSpec {
  /** 8.4 name, as `drbdadm dump` prints it. */
  readonly name: string;
  readonly section: Section;
  readonly type: OptionType;
  readonly scale?: Scale;
  /** Human unit of the effective value (docs), e.g. 'KiB/s', '0.1 s'. */
  readonly unit?: string;
  /** 8.4.7 kernel default (effective value when not configured). undefined = none/unset. */
  readonly def84?: number | string | boolean;
  /** 8.3.9 default where it differs (docs only; udrbd behaves as 8.4.7). */
  readonly def83?: number | string | boolean | null;
  readonly min?: number;
  readonly max?: number;
  /** 8.3.9 range where it differs (docs only). */
  readonly range83?: string;
  /** drbdadm checks the range (and the number's syntax) while parsing; others pass unchecked
   * and are checked when the daemon resolves effective values. */
  readonly rangeChecked?: boolean;
  readonly values?: readonly string[];
  /** Key in the resolved model; names carry the unit (resyncRateKiBps). */
  readonly key: string;
  /** 8.3 spellings: a `syncer {}` option name, a `no-NAME` flag, an old handler name. */
  readonly syncer83?: string;
  readonly noFlag83?: string;
  readonly alias83?: string;
  readonly doc: string;
}

const SIZE_MAX_SECTORS = 2 ** 41; // 1 PiB; drbdadm-84: size ... out of range [0..2199023255552]s

export const OPTIONS = [
  // ---- global -------------------------------------------------------------------------
  // Global numbers are plain integers to drbdadm (a suffix is a parse error: 'TK_INTEGER'
  // expected), so they have no scale.
  { name: 'usage-count', section: 'global', type: 'enum', values: ['yes', 'no', 'ask'], def84: 'ask', key: 'usageCount', doc: 'Take part in LINBIT\'s usage counter (udrbd never contacts anyone).' },
  { name: 'minor-count', section: 'global', type: 'numeric', unit: 'count', def84: 32, min: 1, max: 255, rangeChecked: true, key: 'minorCount', doc: 'Number of minors to reserve.' },
  { name: 'dialog-refresh', section: 'global', type: 'numeric', unit: 's', def84: 1, min: 0, max: 600, rangeChecked: true, key: 'dialogRefreshSec', doc: 'Refresh interval of the init script\'s wait dialog.' },
  { name: 'disable-ip-verification', section: 'global', type: 'flag', def84: false, key: 'disableIpVerification', doc: 'Do not check that this host\'s address is configured locally.' },

  // ---- options (resource options) -----------------------------------------------------
  // cpu-mask is a hex string, not a number: the kernel parses it as a bitmap.
  { name: 'cpu-mask', section: 'options', type: 'string', def84: '', syncer83: 'cpu-mask', key: 'cpuMask', doc: 'CPUs the resource\'s threads may run on (hex mask); empty = all.' },
  { name: 'on-no-data-accessible', section: 'options', type: 'enum', values: ['io-error', 'suspend-io'], def84: 'io-error', syncer83: 'on-no-data-accessible', key: 'onNoDataAccessible', doc: 'What I/O does when no up-to-date data is reachable.' },

  // ---- net ----------------------------------------------------------------------------
  // protocol: drbdadm upper-cases it and rejects anything but A/B/C with exit 10.
  { name: 'protocol', section: 'net', type: 'enum', values: ['A', 'B', 'C'], def84: 'C', key: 'protocol', doc: 'Replication protocol: A async, B memory-sync, C sync. 8.3: top-level `protocol X;`.' },
  { name: 'timeout', section: 'net', type: 'numeric', scale: '1', unit: '0.1 s', def84: 60, min: 1, max: 600, rangeChecked: true, key: 'timeoutDeciSec', doc: 'Peer must answer a request within this time.' },
  { name: 'max-epoch-size', section: 'net', type: 'numeric', scale: '1', unit: 'writes', def84: 2048, min: 1, max: 20000, rangeChecked: true, key: 'maxEpochSize', doc: 'Writes between two barriers.' },
  { name: 'max-buffers', section: 'net', type: 'numeric', scale: '1', unit: '4 KiB pages', def84: 2048, min: 32, max: 131072, rangeChecked: true, key: 'maxBuffers', doc: 'Receive buffers per device.' },
  // unplug-watermark: kept for 8.3 files; drbdadm does not check it (neither syntax nor range).
  { name: 'unplug-watermark', section: 'net', type: 'numeric', scale: '1', unit: 'requests', def84: 128, min: 1, max: 131072, key: 'unplugWatermark', doc: 'Obsolete 8.3 tuning knob; accepted and ignored.' },
  { name: 'connect-int', section: 'net', type: 'numeric', scale: '1', unit: 's', def84: 10, min: 1, max: 120, rangeChecked: true, key: 'connectIntSec', doc: 'Interval between connection attempts.' },
  { name: 'ping-int', section: 'net', type: 'numeric', scale: '1', unit: 's', def84: 10, min: 1, max: 120, rangeChecked: true, key: 'pingIntSec', doc: 'Idle time before a keep-alive ping.' },
  // sndbuf/rcvbuf are bytes with scale 1: `512k` = 524288 bytes.
  { name: 'sndbuf-size', section: 'net', type: 'numeric', scale: '1', unit: 'bytes', def84: 0, min: 0, max: 10485760, rangeChecked: true, key: 'sndbufSizeBytes', doc: 'TCP send buffer; 0 = auto-tune.' },
  { name: 'rcvbuf-size', section: 'net', type: 'numeric', scale: '1', unit: 'bytes', def84: 0, min: 0, max: 10485760, rangeChecked: true, key: 'rcvbufSizeBytes', doc: 'TCP receive buffer; 0 = auto-tune.' },
  // ko-count: 8.3.9 default 0 (off) — the notable default change for seed configs.
  { name: 'ko-count', section: 'net', type: 'numeric', scale: '1', unit: 'count', def84: 7, def83: 0, min: 0, max: 200, rangeChecked: true, key: 'koCount', doc: 'Timeouts of one request before the peer is dropped; 0 = never.' },
  { name: 'allow-two-primaries', section: 'net', type: 'bool', def84: false, key: 'allowTwoPrimaries', doc: 'Allow both nodes to be Primary (needs protocol C).' },
  { name: 'cram-hmac-alg', section: 'net', type: 'string', key: 'cramHmacAlg', doc: 'Hash for peer authentication (e.g. sha1); unset = none.' },
  // shared-secret: the kernel field holds 63 characters plus NUL; drbdadm passes longer ones
  // through, the resolver rejects them.
  { name: 'shared-secret', section: 'net', type: 'string', def84: '', key: 'sharedSecret', doc: 'Secret for cram-hmac authentication (at most 63 characters).' },
  // after-sb-0pri also takes discard-node-NODENAME (checked by prefix, see enumAccepts);
  // drbdadm turns it into discard-local on that node and discard-remote on the other.
  { name: 'after-sb-0pri', section: 'net', type: 'enum', values: ['disconnect', 'discard-younger-primary', 'discard-older-primary', 'discard-zero-changes', 'discard-least-changes', 'discard-local', 'discard-remote'], def84: 'disconnect', key: 'afterSb0pri', doc: 'Split-brain policy with no Primary.' },
  { name: 'after-sb-1pri', section: 'net', type: 'enum', values: ['disconnect', 'consensus', 'violently-as0p', 'discard-secondary', 'call-pri-lost-after-sb'], def84: 'disconnect', key: 'afterSb1pri', doc: 'Split-brain policy with one Primary.' },
  { name: 'after-sb-2pri', section: 'net', type: 'enum', values: ['disconnect', 'violently-as0p', 'call-pri-lost-after-sb'], def84: 'disconnect', key: 'afterSb2pri', doc: 'Split-brain policy with two Primaries.' },
  { name: 'always-asbp', section: 'net', type: 'bool', def84: false, key: 'alwaysAsbp', doc: 'Apply after-sb policies even when UUIDs do not show a common ancestor.' },
  { name: 'rr-conflict', section: 'net', type: 'enum', values: ['disconnect', 'call-pri-lost', 'violently'], def84: 'disconnect', key: 'rrConflict', doc: 'What to do when a resync would run against the Primary.' },
  // ping-timeout: drbdadm does not range-check it (spec §1); the kernel range is 1..300.
  { name: 'ping-timeout', section: 'net', type: 'numeric', scale: '1', unit: '0.1 s', def84: 5, min: 1, max: 300, range83: '1 .. 100', key: 'pingTimeoutDeciSec', doc: 'Time the peer has to answer a ping.' },
  { name: 'data-integrity-alg', section: 'net', type: 'string', key: 'dataIntegrityAlg', doc: 'Hash over every replicated block; unset = none.' },
  { name: 'tcp-cork', section: 'net', type: 'bool', def84: true, noFlag83: 'no-tcp-cork', key: 'tcpCork', doc: 'Cork the data socket to batch packets.' },
  { name: 'on-congestion', section: 'net', type: 'enum', values: ['block', 'pull-ahead', 'disconnect'], def84: 'block', def83: null, key: 'onCongestion', doc: 'Reaction to a full send path (pull-ahead needs protocol A). Not in 8.3.9.' },
  { name: 'congestion-fill', section: 'net', type: 'numeric', scale: 's', unit: 'sectors', def84: 0, min: 0, max: 20971520, rangeChecked: true, key: 'congestionFillSectors', doc: 'In-flight data that counts as congestion; 0 = off.' },
  { name: 'congestion-extents', section: 'net', type: 'numeric', scale: '1', unit: 'AL extents', def84: 1237, min: 67, max: 65534, rangeChecked: true, key: 'congestionExtents', doc: 'Active AL extents that count as congestion.' },
  { name: 'csums-alg', section: 'net', type: 'string', syncer83: 'csums-alg', key: 'csumsAlg', doc: 'Checksum-based resync hash; unset = none. 8.3: in syncer.' },
  { name: 'csums-after-crash-only', section: 'net', type: 'bool', def84: false, key: 'csumsAfterCrashOnly', doc: 'Use csums-alg only for the resync after a Primary crash (later 8.4).' },
  { name: 'verify-alg', section: 'net', type: 'string', syncer83: 'verify-alg', key: 'verifyAlg', doc: 'Online-verify hash; unset = verify impossible. 8.3: in syncer.' },
  { name: 'use-rle', section: 'net', type: 'bool', def84: true, syncer83: 'use-rle', key: 'useRle', doc: 'Run-length encode bitmap exchange. 8.3: in syncer.' },

  // ---- disk ---------------------------------------------------------------------------
  { name: 'size', section: 'disk', type: 'numeric', scale: 's', unit: 'sectors', def84: 0, min: 0, max: SIZE_MAX_SECTORS, rangeChecked: true, key: 'sizeSectors', doc: 'Use only this much of the backing device; 0 = all.' },
  // on-io-error: 8.3.9 default pass_on.
  { name: 'on-io-error', section: 'disk', type: 'enum', values: ['pass_on', 'call-local-io-error', 'detach'], def84: 'detach', def83: 'pass_on', key: 'onIoError', doc: 'Reaction to a lower-level I/O error.' },
  { name: 'fencing', section: 'disk', type: 'enum', values: ['dont-care', 'resource-only', 'resource-and-stonith'], def84: 'dont-care', key: 'fencing', doc: 'Fencing policy (resource-and-stonith needs protocol B or C).' },
  // disk-barrier: 8.3.9 used barriers by default (flag no-disk-barrier turned them off).
  { name: 'disk-barrier', section: 'disk', type: 'bool', def84: false, def83: true, noFlag83: 'no-disk-barrier', key: 'diskBarrier', doc: 'Use barrier requests on the backing device.' },
  { name: 'disk-flushes', section: 'disk', type: 'bool', def84: true, noFlag83: 'no-disk-flushes', key: 'diskFlushes', doc: 'Flush the backing device at epoch boundaries.' },
  { name: 'disk-drain', section: 'disk', type: 'bool', def84: true, noFlag83: 'no-disk-drain', key: 'diskDrain', doc: 'Drain requests before a write-ordering point.' },
  { name: 'md-flushes', section: 'disk', type: 'bool', def84: true, noFlag83: 'no-md-flushes', key: 'mdFlushes', doc: 'Flush meta-data writes.' },
  // resync-after names a resource; drbdadm keeps the name and passes its minor to the kernel.
  { name: 'resync-after', section: 'disk', type: 'string', syncer83: 'after', key: 'resyncAfter', doc: 'Resource whose resync must finish first; unset = none (-1). 8.3: syncer after.' },
  // al-extents: drbdadm does not range-check it; 8.3.9 allowed 7..3833; a 32 KiB AL holds at most 6433.
  { name: 'al-extents', section: 'disk', type: 'numeric', scale: '1', unit: 'count', def84: 1237, def83: 127, min: 67, max: 65534, range83: '7 .. 3833', syncer83: 'al-extents', key: 'alExtents', doc: 'Activity-log size in 4 MiB extents (capped to 6433 by a 32 KiB AL).' },
  { name: 'al-updates', section: 'disk', type: 'bool', def84: true, key: 'alUpdates', doc: 'Write AL transactions (no = full resync after a Primary crash).' },
  { name: 'c-plan-ahead', section: 'disk', type: 'numeric', scale: '1', unit: '0.1 s', def84: 20, def83: 0, min: 0, max: 300, rangeChecked: true, syncer83: 'c-plan-ahead', key: 'cPlanAheadDeciSec', doc: 'Dynamic resync controller horizon; 0 = fixed rate (8.3.9 default).' },
  { name: 'c-delay-target', section: 'disk', type: 'numeric', scale: '1', unit: '0.1 s', def84: 10, min: 1, max: 100, rangeChecked: true, syncer83: 'c-delay-target', key: 'cDelayTargetDeciSec', doc: 'Controller delay target.' },
  { name: 'c-fill-target', section: 'disk', type: 'numeric', scale: 's', unit: 'sectors', def84: 100, def83: 0, min: 0, max: 1048576, rangeChecked: true, syncer83: 'c-fill-target', key: 'cFillTargetSectors', doc: 'Controller fill target; 0 = use c-delay-target.' },
  { name: 'c-max-rate', section: 'disk', type: 'numeric', scale: 'k', unit: 'KiB/s', def84: 102400, min: 250, max: 4194304, rangeChecked: true, syncer83: 'c-max-rate', key: 'cMaxRateKiBps', doc: 'Upper limit of the dynamic resync rate.' },
  { name: 'c-min-rate', section: 'disk', type: 'numeric', scale: 'k', unit: 'KiB/s', def84: 250, def83: 4096, min: 0, max: 4194304, rangeChecked: true, syncer83: 'c-min-rate', key: 'cMinRateKiBps', doc: 'Resync rate kept up even under application I/O.' },
  // disk-timeout: does not exist in 8.3.9; drbdadm does not range-check it.
  { name: 'disk-timeout', section: 'disk', type: 'numeric', scale: '1', unit: '0.1 s', def84: 0, def83: null, min: 0, max: 6000, key: 'diskTimeoutDeciSec', doc: 'Backing-device request timeout; 0 = off.' },
  { name: 'read-balancing', section: 'disk', type: 'enum', values: ['prefer-local', 'prefer-remote', 'round-robin', 'least-pending', 'when-congested-remote', '32K-striping', '64K-striping', '128K-striping', '256K-striping', '512K-striping', '1M-striping'], def84: 'prefer-local', key: 'readBalancing', doc: 'Where reads go when both disks are UpToDate.' },
  { name: 'discard-zeroes-if-aligned', section: 'disk', type: 'bool', def84: true, key: 'discardZeroesIfAligned', doc: 'Later 8.4: treat aligned discards as zeroing.' },
  { name: 'disable-write-same', section: 'disk', type: 'bool', def84: false, key: 'disableWriteSame', doc: 'Later 8.4: do not announce WRITE SAME.' },
  // Unchecked by drbdadm (syntax and range); later 8.4 only.
  { name: 'rs-discard-granularity', section: 'disk', type: 'numeric', scale: '1', unit: 'bytes', def84: 0, min: 0, max: 1048576, key: 'rsDiscardGranularityBytes', doc: 'Later 8.4: discard granularity during resync; 0 = off.' },
  // 8.3 leftovers drbdadm-84 still accepts (and does not check).
  { name: 'max-bio-bvecs', section: 'disk', type: 'numeric', scale: '1', unit: 'count', def84: 0, min: 0, max: 128, key: 'maxBioBvecs', doc: 'Obsolete 8.3 knob; accepted and ignored.' },
  { name: 'use-bmbv', section: 'disk', type: 'bool', def84: false, key: 'useBmbv', doc: 'Obsolete 8.3 knob; accepted and ignored.' },
  // resync-rate: 8.3 `syncer { rate }`; scale k so `10M` = 10240 KiB/s.
  { name: 'resync-rate', section: 'disk', type: 'numeric', scale: 'k', unit: 'KiB/s', def84: 250, min: 1, max: 4194304, rangeChecked: true, syncer83: 'rate', key: 'resyncRateKiBps', doc: 'Resync rate (with c-plan-ahead > 0 only the controller\'s starting value).' },

  // ---- startup ------------------------------------------------------------------------
  { name: 'wfc-timeout', section: 'startup', type: 'numeric', scale: '1', unit: 's', def84: 0, min: 0, max: 300000, rangeChecked: true, key: 'wfcTimeoutSec', doc: 'Init script waits this long for the peer; 0 = forever.' },
  { name: 'degr-wfc-timeout', section: 'startup', type: 'numeric', scale: '1', unit: 's', def84: 0, min: 0, max: 300000, rangeChecked: true, key: 'degrWfcTimeoutSec', doc: 'Same, when the node was degraded before the reboot.' },
  { name: 'outdated-wfc-timeout', section: 'startup', type: 'numeric', scale: '1', unit: 's', def84: 0, min: 0, max: 300000, rangeChecked: true, key: 'outdatedWfcTimeoutSec', doc: 'Same, when the peer was outdated.' },
  { name: 'wait-after-sb', section: 'startup', type: 'bool', def84: false, key: 'waitAfterSb', doc: 'Keep waiting after a split brain was detected.' },
  { name: 'become-primary-on', section: 'startup', type: 'string', key: 'becomePrimaryOn', doc: 'HOST or both: the init script promotes there.' },
  // stacked-timeouts is value-less: drbdadm prints `stacked-timeouts;`.
  { name: 'stacked-timeouts', section: 'startup', type: 'flag', def84: false, key: 'stackedTimeouts', doc: 'Use the normal timeouts for a stacked resource.' },

  // ---- handlers -----------------------------------------------------------------------
  { name: 'pri-on-incon-degr', section: 'handlers', type: 'handler', key: 'priOnInconDegr', doc: 'Primary with inconsistent data lost its peer.' },
  { name: 'pri-lost-after-sb', section: 'handlers', type: 'handler', key: 'priLostAfterSb', doc: 'Primary lost after split-brain recovery.' },
  { name: 'pri-lost', section: 'handlers', type: 'handler', key: 'priLost', doc: 'Primary to become SyncTarget.' },
  { name: 'initial-split-brain', section: 'handlers', type: 'handler', key: 'initialSplitBrain', doc: 'Split brain detected (before recovery).' },
  { name: 'split-brain', section: 'handlers', type: 'handler', key: 'splitBrain', doc: 'Split brain not recovered automatically.' },
  // outdate-peer is the 8.3 name; drbdadm renames it to fence-peer.
  { name: 'fence-peer', section: 'handlers', type: 'handler', alias83: 'outdate-peer', key: 'fencePeer', doc: 'Fence the peer (fencing resource-only/-and-stonith). 8.3: outdate-peer.' },
  { name: 'unfence-peer', section: 'handlers', type: 'handler', key: 'unfencePeer', doc: 'Undo fence-peer after resync.' },
  { name: 'local-io-error', section: 'handlers', type: 'handler', key: 'localIoError', doc: 'on-io-error call-local-io-error.' },
  { name: 'before-resync-target', section: 'handlers', type: 'handler', key: 'beforeResyncTarget', doc: 'Before becoming SyncTarget.' },
  { name: 'after-resync-target', section: 'handlers', type: 'handler', key: 'afterResyncTarget', doc: 'After resync as SyncTarget.' },
  { name: 'before-resync-source', section: 'handlers', type: 'handler', key: 'beforeResyncSource', doc: 'Before becoming SyncSource.' },
  { name: 'out-of-sync', section: 'handlers', type: 'handler', key: 'outOfSync', doc: 'Online verify found out-of-sync blocks.' },
] as const satisfies readonly OptionSpec[];

export type OptionRow = (typeof OPTIONS)[number];

/** Sections (besides global) in the order drbdadm dump prints them. `proxy` is not supported. */
export const OPTION_SECTIONS = ['options', 'net', 'disk', 'startup', 'handlers'] as const;
export type OptionSection = (typeof OPTION_SECTIONS)[number];

const bySectionName = new Map<string, OptionSpec>();
const bySyncerName = new Map<string, OptionSpec>();
for (const o of OPTIONS as readonly OptionSpec[]) {
  bySectionName.set(`${o.section}/${o.name}`, o);
  if (o.alias83) bySectionName.set(`${o.section}/${o.alias83}`, o);
  if (o.syncer83) bySyncerName.set(o.syncer83, o);
}

/** The option `word` in `section` (8.4 name or 8.3 handler alias). */
export function findOption(section: Section, word: string): OptionSpec | undefined {
  return bySectionName.get(`${section}/${word}`);
}

/** A `no-NAME` 8.3 flag in `section`. */
export function findNoFlag(section: Section, word: string): OptionSpec | undefined {
  return (OPTIONS as readonly OptionSpec[]).find((o) => o.section === section && o.noFlag83 === word);
}

/** An option of the 8.3 `syncer {}` section, by its 8.3 name. */
export function findSyncerOption(word: string): OptionSpec | undefined {
  return bySyncerName.get(word);
}

export function optionByName(name: string): OptionSpec {
  const o = (OPTIONS as readonly OptionSpec[]).find((x) => x.name === name);
  if (!o) throw new Error(`no option ${name}`);
  return o;
}

/** Does `value` belong to the enum? after-sb-0pri's discard-node-NODENAME takes any node name. */
export function enumAccepts(o: OptionSpec, value: string): boolean {
  if ((o.values as readonly string[] | undefined)?.includes(value)) return true;
  if (o.name === 'after-sb-0pri') return /^discard-node-.+/.test(value);
  return false;
}

const SUFFIX_BYTES: Record<string, bigint> = { K: 1024n, k: 1024n, M: 1n << 20n, m: 1n << 20n, G: 1n << 30n, g: 1n << 30n, s: 512n };
const SCALE_BYTES: Record<Scale, bigint> = { k: 1024n, s: 512n, '1': 1n };

export type NumberParse = { ok: true; value: bigint } | { ok: false };

/**
 * A number as drbdadm reads it: decimal digits (optionally signed), then at most one suffix
 * K/k/M/m/G/g (powers of 2^10) or s (512-byte sectors). A bare number is in the option's
 * scale; a suffixed one is converted to it, rounding up (`1s` of a KiB rate = 1).
 * Negative numbers wrap to unsigned 64 bits, as drbdadm's range message shows.
 */
export function parseScaledNumber(text: string, scale: Scale): NumberParse {
  const m = /^(-?)(\d+)([KkMmGgs]?)$/.exec(text);
  if (!m) return { ok: false };
  let v = BigInt(m[2]);
  if (m[3]) {
    const bytes = v * SUFFIX_BYTES[m[3]];
    const unit = SCALE_BYTES[scale];
    // Suffixes on a scale-1 option just multiply (`c-plan-ahead 1k` = 1024).
    v = unit === 1n ? bytes : (bytes + unit - 1n) / unit;
  }
  if (m[1] === '-') v = (1n << 64n) - v;
  return { ok: true, value: v };
}

/** The unit letter drbdadm prints after numbers in its range message ('' for scale 1). */
export function scaleSuffix(o: OptionSpec): string {
  return o.scale === 'k' || o.scale === 's' ? o.scale : '';
}
