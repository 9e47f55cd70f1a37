// From the parsed configuration to what a node runs: which host section is this node
// (`on NAME` against the hostname, `floating ADDR` against local addresses), drbdadm's
// address verification, and the effective, typed values of a resource — common
// inherited, the resource's own statements winning, defaults (8.4.7) for the rest,
// numbers converted to the unit named in the key (resyncRateKiBps, pingTimeoutDeciSec...).
import * as os from 'node:os';
import { ConfigError, EXIT_NO_SUCH_RESOURCE } from './errors.js';
import { formatLoc, type Address, type Config, type HostSection, type Loc, type MetaDisk, type OptionStmt, type Resource } from './model.js';
import { OPTIONS, parseScaledNumber, scaleSuffix, type OptionRow, type OptionSection, type OptionSpec } from './options.js';

/** Who "this host" is. */
export interface HostContext {
  readonly hostname: string;
  /** Addresses configured on this machine (IPv4 dotted, IPv6 without brackets). */
  readonly localIps: ReadonlySet<string>;
}

/** `uname -n`, or UDRBD_HOSTNAME (several nodes on one machine in tests). */
export function thisHostname(env: NodeJS.ProcessEnv = process.env): string {
  return env.UDRBD_HOSTNAME || os.hostname();
}

export function localIpAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address.replace(/%.*$/, ''));
  }
  return out;
}

export function hostContext(env: NodeJS.ProcessEnv = process.env): HostContext {
  return { hostname: thisHostname(env), localIps: localIpAddresses() };
}

/** The host section that is this node: `on` listing the hostname, else a floating section
 * whose address is local. undefined = the resource is ignored on this node. */
export function findMe(res: Resource, ctx: HostContext): HostSection | undefined {
  return (
    res.hosts.find((h) => h.kind === 'on' && h.names.includes(ctx.hostname)) ??
    res.hosts.find((h) => h.kind === 'floating' && h.address !== undefined && ctx.localIps.has(h.address.ip))
  );
}

/** `RES...` or `all` → resources; an unknown or ignored name is drbdadm's exit-1 error. */
export function selectResources(c: Config, names: readonly string[], ctx: HostContext): Resource[] {
  if (names.length === 0 || names.includes('all')) return c.resources;
  return names.map((n) => {
    const r = c.resources.find((x) => x.name === n);
    if (!r || !findMe(r, ctx)) {
      throw new ConfigError([`'${n}' not defined in your config (for this host).`], EXIT_NO_SUCH_RESOURCE);
    }
    return r;
  });
}

/** drbdadm's check that this node's address exists here (skipped with disable-ip-verification).
 * Returns its messages, drbdadm's two-line text each. */
export function verifyIps(c: Config, resources: readonly Resource[], ctx: HostContext): string[] {
  if (c.global.disableIpVerification) return [];
  const out: string[] = [];
  for (const r of resources) {
    const me = findMe(r, ctx);
    if (!me || me.kind !== 'on' || !me.address) continue;
    const a = me.address;
    if (a.af !== 'ipv4' && a.af !== 'ipv6') continue;
    if (!ctx.localIps.has(a.ip)) {
      out.push(`${formatLoc(a.loc)}: in resource ${r.name}, on ${me.names.join(' ')}:\n\tIP ${a.ip} not found on this host.`);
    }
  }
  return out;
}

// ---- effective values ----------------------------------------------------------------

type EnumValue<O> = O extends { readonly values: readonly (infer V)[] } ? V : string;
type ValueOf<O> = O extends { readonly type: 'bool' | 'flag' }
  ? boolean
  : O extends { readonly type: 'numeric' }
    ? number
    : O extends { readonly type: 'enum' }
      ? EnumValue<O>
      : string;
type Effective<S extends string> = {
  readonly [O in Extract<OptionRow, { readonly section: S }> as O['key']]: O extends { readonly def84: unknown }
    ? ValueOf<O>
    : ValueOf<O> | undefined;
};

/** Effective values of each section; keys and units come from the option table. */
export type NetOptions = Effective<'net'>;
export type DiskOptions = Effective<'disk'>;
export type StartupOptions = Effective<'startup'>;
export type ResourceOptions = Effective<'options'>;
export type Handlers = Effective<'handlers'>;
export type GlobalOptions = Effective<'global'>;

export interface ResolvedVolume {
  readonly vnr: number;
  readonly minor: number;
  /** The device path: as configured, or /dev/drbdMINOR for `device minor N`. */
  readonly device: string;
  readonly disk: string;
  readonly metaDisk: MetaDisk;
}

export interface ResolvedHost {
  readonly names: readonly string[];
  readonly kind: 'on' | 'floating';
  readonly address: Omit<Address, 'loc'>;
  readonly volumes: readonly ResolvedVolume[];
}

export interface ResolvedResource {
  readonly name: string;
  readonly definedAt: Loc;
  readonly hostname: string;
  readonly local: ResolvedHost;
  /** undefined when the resource has only this node's host section (stand-alone). */
  readonly peer: ResolvedHost | undefined;
  readonly options: ResourceOptions;
  readonly net: NetOptions;
  readonly disk: DiskOptions;
  /** Per volume number: disk options with the volume's own `disk {}` applied. */
  readonly volumeDisk: ReadonlyMap<number, DiskOptions>;
  readonly startup: StartupOptions;
  readonly handlers: Handlers;
  /** Minor of volume 0 of the resource named by resync-after on this node, if it exists. */
  readonly resyncAfterMinor: number | undefined;
}

function defaults(section: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS as readonly OptionSpec[]) {
    if (o.section === section) out[o.key] = o.def84;
  }
  return out;
}

/** One statement's effective value, in the option's base unit; out-of-range values (also
 * those drbdadm lets through, which the kernel would refuse) are errors here. */
function effectiveValue(spec: OptionSpec, stmt: OptionStmt, ctx: HostContext): unknown {
  const v = stmt.value;
  switch (spec.type) {
    case 'flag':
      return true;
    case 'bool':
      return v === 'yes';
    case 'numeric': {
      const n = parseScaledNumber(v ?? '', spec.scale ?? '1');
      if (!n.ok) throw ConfigError.at(stmt.loc, `${v} is not a valid number`, 20);
      if (spec.min !== undefined && spec.max !== undefined && (n.value < BigInt(spec.min) || n.value > BigInt(spec.max))) {
        const u = scaleSuffix(spec);
        throw ConfigError.at(stmt.loc, `${spec.name} ${v} => ${n.value}${u} out of range [${spec.min}..${spec.max}]${u}.`);
      }
      return Number(n.value);
    }
    case 'enum':
      if (spec.name === 'after-sb-0pri' && v?.startsWith('discard-node-')) {
        return v.slice('discard-node-'.length) === ctx.hostname ? 'discard-local' : 'discard-remote';
      }
      return v;
    default:
      if (spec.name === 'shared-secret' && (v ?? '').length > 63) {
        throw ConfigError.at(stmt.loc, `shared-secret is longer than 63 characters`);
      }
      return v;
  }
}

function effectiveSection(section: OptionSection, stmts: readonly OptionStmt[], ctx: HostContext, base?: Record<string, unknown>): Record<string, unknown> {
  const out = base ? { ...base } : defaults(section);
  for (const s of stmts) {
    const spec = (OPTIONS as readonly OptionSpec[]).find((o) => o.section === section && o.name === s.name);
    if (spec) out[spec.key] = effectiveValue(spec, s, ctx);
  }
  return out;
}

function resolveHost(res: Resource, h: HostSection): ResolvedHost {
  const where = `${formatLoc(h.loc)}: in resource ${res.name}, on ${h.kind === 'on' ? h.names.join(' ') : 'floating'} { ... }`;
  if (!h.address) throw new ConfigError([`${where}: 'address' keyword missing.`]);
  const { af, ip, port } = h.address;
  return {
    names: h.names,
    kind: h.kind,
    address: { af, ip, port },
    volumes: h.volumes.map((v) => {
      if (!v.device || !v.disk || !v.metaDisk) throw new ConfigError([`${where}: volume ${v.vnr} is incomplete.`]);
      return {
        vnr: v.vnr,
        minor: v.device.minor,
        device: v.device.path ?? `/dev/drbd${v.device.minor}`,
        disk: v.disk.path,
        metaDisk: v.metaDisk.value,
      };
    }),
  };
}

/** The fully resolved resource `name` for this node (what the daemon configures). */
export function resolveResource(c: Config, name: string, ctx: HostContext = hostContext()): ResolvedResource {
  const [res] = selectResources(c, [name], ctx);
  const me = findMe(res, ctx) as HostSection;
  const others = res.hosts.filter((h) => h !== me);
  if (others.length > 1) {
    throw ConfigError.at(res.loc, `in resource ${res.name}: ${others.length} peer host sections; DRBD 8.4 connects exactly two nodes`);
  }
  const common = c.common;
  const sec = (s: OptionSection) => effectiveSection(s, [...(common?.[s] ?? []), ...res.sections[s]], ctx);
  const net = sec('net') as NetOptions;
  const disk = sec('disk') as DiskOptions;
  const volumeDisk = new Map<number, DiskOptions>();
  for (const v of me.volumes) {
    volumeDisk.set(v.vnr, effectiveSection('disk', v.diskOptions, ctx, disk as Record<string, unknown>) as DiskOptions);
  }
  checkCombinations(res, net, disk);
  let resyncAfterMinor: number | undefined;
  if (disk.resyncAfter !== undefined) {
    const other = c.resources.find((r) => r.name === disk.resyncAfter);
    const otherMe = other && findMe(other, ctx);
    resyncAfterMinor = otherMe?.volumes[0]?.device?.minor;
  }
  return {
    name: res.name,
    definedAt: res.loc,
    hostname: ctx.hostname,
    local: resolveHost(res, me),
    peer: others[0] ? resolveHost(res, others[0]) : undefined,
    options: sec('options') as ResourceOptions,
    net,
    disk,
    volumeDisk,
    startup: sec('startup') as StartupOptions,
    handlers: sec('handlers') as Handlers,
    resyncAfterMinor,
  };
}

/** Combinations the kernel refuses at connect/attach (drbdsetup would fail). */
function checkCombinations(res: Resource, net: NetOptions, disk: DiskOptions): void {
  const at = (name: string): Loc => [...res.sections.net, ...res.sections.disk].find((o) => o.name === name)?.loc ?? res.loc;
  if (net.allowTwoPrimaries && net.protocol !== 'C') {
    throw ConfigError.at(at('allow-two-primaries'), `in resource ${res.name}: allow-two-primaries requires protocol C`);
  }
  if (disk.fencing === 'resource-and-stonith' && net.protocol === 'A') {
    throw ConfigError.at(at('fencing'), `in resource ${res.name}: fencing resource-and-stonith requires protocol B or C`);
  }
  if (net.onCongestion === 'pull-ahead' && net.protocol !== 'A') {
    throw ConfigError.at(at('on-congestion'), `in resource ${res.name}: on-congestion pull-ahead requires protocol A`);
  }
}

/** Every resource this node runs (ignored ones left out). */
export function resolveAll(c: Config, ctx: HostContext = hostContext()): ResolvedResource[] {
  return c.resources.filter((r) => findMe(r, ctx)).map((r) => resolveResource(c, r.name, ctx));
}

export function resolveGlobal(c: Config): GlobalOptions {
  const g = defaults('global') as Record<string, unknown>;
  if (c.global.usageCount !== undefined) g.usageCount = c.global.usageCount;
  if (c.global.minorCount !== undefined) g.minorCount = c.global.minorCount;
  if (c.global.dialogRefresh !== undefined) g.dialogRefreshSec = c.global.dialogRefresh;
  g.disableIpVerification = c.global.disableIpVerification;
  return g as GlobalOptions;
}
