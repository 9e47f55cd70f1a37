// drbd.conf parser: tokens → Config (model.ts), 8.4 syntax plus the 8.3 forms
// (top-level `protocol`, `syncer {}`, `no-*` flags, `outdate-peer`, `flexible-meta-disk`).
// Pure: file access for `include` goes through the IncludeReader given by load.ts.
// Checks drbdadm makes while parsing are made here, in the same order and with its
// words; host matching and effective values are resolve.ts's.
import { ConfigError, EXIT_BAD_NUMBER } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import {
  emptySections,
  formatLoc,
  type Address,
  type AddressFamily,
  type Config,
  type Device,
  type HostSection,
  type Loc,
  type MetaDisk,
  type OptionSections,
  type OptionStmt,
  type Resource,
  type Volume,
} from './model.js';
import {
  enumAccepts,
  findNoFlag,
  findOption,
  findSyncerOption,
  parseScaledNumber,
  scaleSuffix,
  type OptionSpec,
  type Section,
} from './options.js';

export interface SourceFile {
  /** Name for parse-time messages. */
  readonly file: string;
  /** Absolute path, directory resolved. */
  readonly canonical: string;
  readonly text: string;
}

/** Expands `include "PATTERN";` written in `from`; throws ConfigError when a plain path is missing. */
export type IncludeReader = (pattern: string, from: SourceFile, loc: Loc) => SourceFile[];

/** Cross-resource uniqueness keys drbdadm checks while parsing (minor, address, meta-disk index). */
interface UniqueKeys {
  readonly seen: Map<string, Loc>;
}

const RESOURCE_KEYWORDS = 'protocol | on | disk | net | syncer | startup | handlers | ignore-on | stacked-on-top-of';
const HOST_KEYWORDS = 'disk | device | address | meta-disk | flexible-meta-disk';
const TOP_KEYWORDS = 'global | common | resource | skip | include';
const ADDRESS_FAMILIES = new Set<AddressFamily>(['ipv4', 'ipv6', 'ssocks', 'sdp']);

function describe(t: Token): string {
  return t.kind === 'bracket' ? '[' : t.text;
}

function parseError(t: Token, expected: string): ConfigError {
  return ConfigError.at(t.loc, `Parse error: '${expected}' expected, but got '${describe(t)}'`);
}

class FileParser {
  private pos = 0;
  private readonly toks: Token[];

  constructor(
    private readonly src: SourceFile,
    private readonly st: ParseState,
  ) {
    this.toks = tokenize(src.text, src.file, src.canonical);
  }

  private peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private isWord(t: Token, w: string): boolean {
    return t.kind === 'word' && t.text === w;
  }
  private expect(kind: Token['kind'], expected: string = kind): Token {
    const t = this.next();
    if (t.kind !== kind) throw parseError(t, expected);
    return t;
  }
  /** A value: word or quoted string (drbdadm: 'TK_STRING | TK_INTEGER'). */
  private value(): Token {
    const t = this.next();
    if (t.kind !== 'word' && t.kind !== 'string') throw parseError(t, 'TK_STRING | TK_INTEGER');
    return t;
  }
  private integer(): { n: number; t: Token } {
    const t = this.next();
    if (t.kind !== 'word' || !/^\d+$/.test(t.text)) throw parseError(t, 'TK_INTEGER');
    return { n: Number(t.text), t };
  }

  parseTop(): void {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (this.isWord(t, 'global')) this.global();
      else if (this.isWord(t, 'common')) this.common();
      else if (this.isWord(t, 'resource')) this.resource();
      else if (this.isWord(t, 'skip')) this.skip();
      else if (this.isWord(t, 'include')) this.include();
      else throw parseError(t, TOP_KEYWORDS);
    }
  }

  private include(): void {
    const kw = this.next();
    const pat = this.value();
    this.expect(';');
    for (const f of this.st.readInclude(pat.text, this.src, kw.loc)) {
      new FileParser(f, this.st).parseTop();
    }
  }

  /** `skip [word] { anything balanced }` comments a block out. */
  private skip(): void {
    this.next();
    if (this.peek().kind === 'word' || this.peek().kind === 'string') this.next();
    this.expect('{', '[ some_text ] {');
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.kind === 'eof') throw parseError(t, '}');
      if (t.kind === '{') depth++;
      else if (t.kind === '}') depth--;
    }
  }

  private global(): void {
    const kw = this.next();
    const g = this.st.config.global;
    if (this.st.config.resources.length > 0) {
      this.st.config.warnings.push(`${formatLoc(kw.loc)}: You should put the global {} section\n\tin front of any resource {} section`);
    }
    g.loc = kw.loc;
    this.expect('{');
    for (;;) {
      const t = this.next();
      if (t.kind === '}') return;
      if (this.isWord(t, 'disable-ip-verification')) {
        g.disableIpVerification = true;
      } else if (this.isWord(t, 'usage-count')) {
        const v = this.next();
        if (v.kind !== 'word' || !['yes', 'no', 'ask'].includes(v.text)) throw parseError(v, 'yes | no | ask');
        g.usageCount = v.text as 'yes' | 'no' | 'ask';
      } else if (this.isWord(t, 'minor-count') || this.isWord(t, 'dialog-refresh')) {
        const { n, t: vt } = this.integer();
        const spec = findOption('global', t.text) as OptionSpec;
        checkRange(spec, vt.text, BigInt(n), vt.loc);
        if (t.text === 'minor-count') g.minorCount = n;
        else g.dialogRefresh = n;
      } else {
        throw parseError(t, 'disable-ip-verification | minor-count | dialog-refresh | usage-count');
      }
      this.expect(';');
    }
  }

  private common(): void {
    const kw = this.next();
    const cfg = this.st.config;
    this.st.unique('resource section', 'common', kw.loc);
    cfg.common ??= emptySections();
    this.expect('{');
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        this.next();
        return;
      }
      if (!this.sectionItem(cfg.common)) throw parseError(t, 'protocol | disk | net | syncer | startup | handlers | options');
    }
  }

  /** Items that may appear in common and resource: option sections, syncer, protocol. */
  private sectionItem(sections: OptionSections): boolean {
    const t = this.peek();
    if (t.kind !== 'word') return false;
    switch (t.text) {
      case 'net':
      case 'startup':
      case 'handlers':
      case 'options':
        this.next();
        this.optionBlock(t.text, sections[t.text]);
        return true;
      case 'disk':
        if (this.peek(1).kind !== '{') return false;
        this.next();
        this.optionBlock('disk', sections.disk);
        return true;
      case 'syncer':
        this.next();
        this.syncerBlock(sections);
        return true;
      case 'protocol': {
        // 8.3: `protocol X;` outside net {} — drbdadm moves it into net at this point.
        this.next();
        const v = this.value();
        sections.net.push(optionValue(findOption('net', 'protocol') as OptionSpec, v));
        this.expect(';');
        return true;
      }
      default:
        return false;
    }
  }

  private optionBlock(section: Section, into: OptionStmt[]): void {
    this.expect('{');
    for (;;) {
      const t = this.next();
      if (t.kind === '}') return;
      if (t.kind !== 'word') throw parseError(t, 'an option keyword');
      const spec = findOption(section, t.text);
      if (spec) {
        into.push(this.optionStatement(spec, t));
        continue;
      }
      const neg = findNoFlag(section, t.text);
      if (neg) {
        // 8.3 `no-disk-flushes;` = `disk-flushes no;`; takes no value.
        this.expect(';');
        into.push({ name: neg.name, value: 'no', loc: t.loc });
        continue;
      }
      throw parseError(t, 'an option keyword');
    }
  }

  /** 8.3 `syncer {}`: every option goes to its 8.4 section, in file order. */
  private syncerBlock(sections: OptionSections): void {
    this.expect('{');
    for (;;) {
      const t = this.next();
      if (t.kind === '}') return;
      const spec = t.kind === 'word' ? findSyncerOption(t.text) : undefined;
      if (!spec) throw parseError(t, 'a syncer option keyword');
      sections[spec.section as keyof OptionSections].push(this.optionStatement(spec, t));
    }
  }

  /** After the option's name: its value (per type) and `;`. */
  private optionStatement(spec: OptionSpec, nameTok: Token): OptionStmt {
    if (spec.type === 'flag') {
      this.expect(';');
      return { name: spec.name, value: undefined, loc: nameTok.loc };
    }
    if (spec.type === 'bool') {
      const v = this.next();
      if (v.kind === ';') return { name: spec.name, value: 'yes', loc: nameTok.loc };
      if (!this.isWord(v, 'yes') && !this.isWord(v, 'no')) throw parseError(v, 'yes | no | ;');
      this.expect(';');
      return { name: spec.name, value: v.text, loc: nameTok.loc };
    }
    const v = this.value();
    if (spec.name === 'become-primary-on') {
      // A list of host names (or `both`), kept space-separated as drbdadm prints it.
      const names = [v.text];
      while (this.peek().kind === 'word' || this.peek().kind === 'string') names.push(this.next().text);
      this.expect(';');
      return { name: spec.name, value: names.join(' '), loc: nameTok.loc };
    }
    const stmt = optionValue(spec, v);
    this.expect(';');
    return { ...stmt, loc: nameTok.loc };
  }

  private resource(): void {
    const kw = this.next();
    const nameTok = this.next();
    if (nameTok.kind !== 'word' && nameTok.kind !== 'string') throw parseError(nameTok, 'TK_STRING');
    this.st.unique('resource section', nameTok.text, kw.loc);
    const res: Resource = { name: nameTok.text, loc: kw.loc, hosts: [], volumes: [], sections: emptySections() };
    this.expect('{');
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        this.next();
        break;
      }
      if (this.sectionItem(res.sections)) continue;
      if (this.isWord(t, 'on')) res.hosts.push(this.onSection());
      else if (this.isWord(t, 'floating')) res.hosts.push(this.floatingSection());
      else if (this.isWord(t, 'volume')) addVolume(res.volumes, this.volumeSection());
      else if (!this.volumeStatement(res.volumes, false)) throw parseError(t, RESOURCE_KEYWORDS);
    }
    this.st.config.resources.push(res);
    this.st.finishResource(res);
  }

  private onSection(): HostSection {
    const kw = this.next();
    const names: string[] = [];
    while (this.peek().kind === 'word' || this.peek().kind === 'string') names.push(this.next().text);
    if (names.length === 0) throw parseError(this.peek(), 'TK_STRING');
    const host: HostSection = { kind: 'on', names, volumes: [], loc: kw.loc, endLoc: kw.loc };
    this.expect('{');
    this.hostBody(host, true);
    return host;
  }

  private floatingSection(): HostSection {
    const kw = this.next();
    const address = this.address();
    const host: HostSection = { kind: 'floating', names: [], address, volumes: [], loc: kw.loc, endLoc: kw.loc };
    this.expect('{');
    this.hostBody(host, false);
    return host;
  }

  private hostBody(host: HostSection, allowAddress: boolean): void {
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        host.endLoc = this.next().loc;
        return;
      }
      if (allowAddress && this.isWord(t, 'address')) {
        this.next();
        host.address = this.address();
        this.expect(';');
      } else if (this.isWord(t, 'volume')) {
        addVolume(host.volumes, this.volumeSection());
      } else if (!this.volumeStatement(host.volumes, false)) {
        throw parseError(t, HOST_KEYWORDS);
      }
    }
  }

  /** `[af] IP:PORT` — IPv6 as `[addr]:port` (needs the ipv6 keyword, as in drbdadm). */
  private address(): Address {
    let af: AddressFamily = 'ipv4';
    const first = this.peek();
    if (first.kind === 'word' && ADDRESS_FAMILIES.has(first.text as AddressFamily)) {
      af = first.text as AddressFamily;
      this.next();
    }
    const a = this.next();
    let ip: string;
    if (af === 'ipv6') {
      if (a.kind !== 'bracket') throw parseError(a, '[ <ipv6 address> ]');
      ip = a.text;
    } else {
      if (a.kind !== 'word' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(a.text)) {
        throw parseError(a, 'ssocks | sdp | ipv4 | ipv6 | <ipv4 address> ');
      }
      ip = a.text;
    }
    this.expect(':');
    const p = this.next();
    if (p.kind !== 'word' || !/^\d+$/.test(p.text) || Number(p.text) > 65535) throw parseError(p, 'TK_INTEGER');
    return { af, ip, port: Number(p.text), loc: a.loc };
  }

  private volumeSection(): Volume {
    const kw = this.next();
    const { n } = this.integer();
    const vol: Volume = { vnr: n, implicit: false, diskOptions: [], loc: kw.loc };
    this.expect('{');
    for (;;) {
      const t = this.peek();
      if (t.kind === '}') {
        this.next();
        return vol;
      }
      if (this.isWord(t, 'disk') && this.peek(1).kind === '{') {
        this.next();
        this.optionBlock('disk', vol.diskOptions);
      } else if (!this.volumeStatement([vol], true)) {
        throw parseError(t, 'device | disk | meta-disk | flexible-meta-disk');
      }
    }
  }

  /** device / disk / meta-disk / flexible-meta-disk into volume 0 (implicit) or the given volume. */
  private volumeStatement(vols: Volume[], explicit: boolean): boolean {
    const t = this.peek();
    if (t.kind !== 'word') return false;
    const target = (): Volume => {
      if (explicit) return vols[0];
      let v = vols.find((x) => x.implicit);
      if (!v) {
        v = { vnr: 0, implicit: true, diskOptions: [], loc: t.loc };
        addVolume(vols, v);
      }
      return v;
    };
    switch (t.text) {
      case 'device': {
        this.next();
        target().device = this.device(t);
        this.expect(';');
        return true;
      }
      case 'disk': {
        if (this.peek(1).kind === '{') return false;
        this.next();
        const v = this.value();
        target().disk = { path: v.text, loc: t.loc };
        this.expect(';');
        return true;
      }
      case 'meta-disk':
      case 'flexible-meta-disk': {
        this.next();
        const v = this.value();
        let md: MetaDisk;
        if (v.text === 'internal') md = { kind: 'internal' };
        else if (t.text === 'meta-disk' && this.peek().kind === 'bracket') {
          const b = this.next();
          if (!/^\d+$/.test(b.text)) throw parseError(b, 'TK_INTEGER');
          md = { kind: 'indexed', path: v.text, index: Number(b.text) };
        } else md = { kind: 'flexible', path: v.text };
        target().metaDisk = { value: md, loc: t.loc };
        this.expect(';');
        return true;
      }
      default:
        return false;
    }
  }

  /** `device /dev/drbdN`, `device minor N`, `device PATH minor N`. */
  private device(kw: Token): Device {
    let path: string | undefined;
    let minor: number | undefined;
    if (this.isWord(this.peek(), 'minor')) {
      this.next();
      minor = this.integer().n;
    } else {
      path = this.value().text;
      if (this.isWord(this.peek(), 'minor')) {
        this.next();
        minor = this.integer().n;
      }
    }
    const loc = kw.loc;
    if (path !== undefined) {
      const m = /^(?:\/dev\/)?drbd(\d+)$/.exec(path);
      if (m) {
        const fromName = Number(m[1]);
        if (minor !== undefined && minor !== fromName) {
          throw ConfigError.at(loc, `explicit minor number must match with device name (try "device /dev/drbd${minor} minor ${minor};")`);
        }
        minor = fromName;
      } else if (!/^(?:\/dev\/)?drbd_/.test(path)) {
        throw ConfigError.at(loc, `device name must be /dev/drbdMINOR, or /dev/drbd_NAME with an explicit minor (got '${path}')`);
      } else if (minor === undefined) {
        throw ConfigError.at(loc, `device '${path}' needs an explicit minor ("device ${path} minor N;")`);
      }
    }
    return { path, minor: minor as number, loc };
  }
}

/** An option value token → statement, checked against the table (stricter than drbdadm:
 * numbers of every numeric option must parse, enum values must be known). */
export function optionValue(spec: OptionSpec, v: { readonly text: string; readonly loc: Loc }): OptionStmt {
  let value = v.text;
  if (spec.type === 'numeric') {
    const n = parseScaledNumber(value, spec.scale ?? '1');
    if (!n.ok) throw ConfigError.at(v.loc, `${value} is not a valid number`, EXIT_BAD_NUMBER);
    if (spec.rangeChecked) checkRange(spec, value, n.value, v.loc);
  } else if (spec.type === 'enum') {
    if (spec.name === 'protocol') {
      value = value.toUpperCase();
      if (!enumAccepts(spec, value)) throw ConfigError.at(v.loc, `unknown protocol '${v.text}', should be one of A,B,C`);
    } else if (!enumAccepts(spec, value)) {
      throw ConfigError.at(v.loc, `unknown value '${value}' for ${spec.name}, should be one of ${(spec.values ?? []).join(', ')}`);
    }
  }
  return { name: spec.name, value, loc: v.loc };
}

/** drbdadm's range message: `resync-rate 5G => 5242880k out of range [1..4194304]k.` */
export function checkRange(spec: OptionSpec, text: string, value: bigint, loc: Loc): void {
  if (spec.min === undefined || spec.max === undefined) return;
  if (value < BigInt(spec.min) || value > BigInt(spec.max)) {
    const u = scaleSuffix(spec);
    throw ConfigError.at(loc, `${spec.name} ${text} => ${value}${u} out of range [${spec.min}..${spec.max}]${u}.`);
  }
}

/** Adds a volume, keeping volumes sorted by number (drbdadm prints them in that order). */
export function addVolume(vols: Volume[], v: Volume): void {
  const same = vols.find((x) => x.vnr === v.vnr);
  if (same) throw ConfigError.at(v.loc, `volume ${v.vnr} defined twice`);
  vols.push(v);
  vols.sort((a, b) => a.vnr - b.vnr);
}

/** The checks drbdadm makes as resources are read (shared by the drbd.conf and YAML readers). */
export class ParseState {
  readonly keys: UniqueKeys = { seen: new Map() };
  /** Missing-keyword errors: drbdadm reports them all and goes on parsing. */
  readonly missing: string[] = [];

  constructor(
    readonly config: Config,
    readonly readInclude: IncludeReader,
  ) {}

  /** Runs a reader; missing keywords are reported together at the end, and before a later
   * fatal error (drbdadm has printed them by then). */
  run(read: () => void): Config {
    try {
      read();
    } catch (e) {
      if (e instanceof ConfigError) throw new ConfigError([...this.missing, ...e.lines], e.exitCode);
      throw e;
    }
    if (this.missing.length) throw new ConfigError(this.missing);
    checkAfterParse(this.config);
    return this.config;
  }

  /** drbdadm stops at the first conflicting use, with both places. */
  unique(kind: string, key: string, loc: Loc): void {
    const full = `${kind}\u0000${key}`;
    const first = this.keys.seen.get(full);
    if (first) {
      throw new ConfigError([
        `${formatLoc(loc)}: conflicting use of ${kind} '${key}' ...`,
        `${formatLoc(first)}: ${kind} '${key}' first used here.`,
      ]);
    }
    this.keys.seen.set(full, loc);
  }

  /** End of a resource: copy resource-level volumes into the hosts, report missing keywords,
   * check minors / addresses / meta-disk indexes against all resources seen so far. */
  finishResource(res: Resource): void {
    for (const h of res.hosts) mergeVolumes(h, res.volumes);
    for (const h of res.hosts) {
      const where = `${formatLoc(h.loc)}: in resource ${res.name}, on ${h.kind === 'on' ? h.names.join(' ') : 'floating'} { ... }`;
      const vols = h.volumes.length ? h.volumes : [{ vnr: 0, implicit: true, diskOptions: [], loc: h.loc } as Volume];
      for (const v of vols) {
        if (!v.device) this.missing.push(`${where}: 'device' keyword missing.`);
        if (!v.disk) this.missing.push(`${where}: 'disk' keyword missing.`);
        if (!v.metaDisk) this.missing.push(`${where}: 'meta-disk' keyword missing.`);
      }
      if (h.kind === 'on' && !h.address) this.missing.push(`${where}: 'address' keyword missing.`);
    }
    // Uniqueness in the order drbdadm meets the statements (file order).
    const checks: { kind: string; key: string; loc: Loc }[] = [];
    for (const h of res.hosts) {
      const hostNames = h.kind === 'on' ? h.names : [h.address ? `${h.address.ip}:${h.address.port}` : ''];
      for (const name of hostNames) {
        for (const v of h.volumes) {
          if (v.device) checks.push({ kind: 'device-minor', key: `device-minor:${name}:${v.device.minor}`, loc: v.device.loc });
          const md = v.metaDisk?.value;
          if (md?.kind === 'indexed') checks.push({ kind: 'meta-disk', key: `${name}:${md.path}[${md.index}]`, loc: h.endLoc });
        }
        if (h.kind === 'on' && h.address) {
          checks.push({ kind: 'IP', key: `${name}:${h.address.ip}:${h.address.port}`, loc: h.address.loc });
        }
      }
    }
    checks.sort((a, b) => (a.loc.file === b.loc.file ? a.loc.line - b.loc.line : 0));
    for (const c of checks) this.unique(c.kind, c.key, c.loc);
  }
}

/** drbdadm's checks once every resource is known (messages name the canonical path and the
 * resource's line): become-primary-on must name `on` hosts, and `both` needs
 * allow-two-primaries (exit 10); a resync-after naming an unknown resource is dropped with
 * a warning (drbdadm-84's dump no longer shows it). */
function checkAfterParse(c: Config): void {
  const errors: string[] = [];
  for (const r of c.resources) {
    const where = `${r.loc.canonical}:${r.loc.line}: in resource ${r.name}:`;
    const bpo = [...(c.common?.startup ?? []), ...r.sections.startup].filter((o) => o.name === 'become-primary-on').pop();
    if (bpo?.value === 'both') {
      const a2p = [...(c.common?.net ?? []), ...r.sections.net].some((o) => o.name === 'allow-two-primaries');
      if (!a2p) errors.push(`${where} become-primary-on is set to both, but allow-two-primaries is not set.`);
    } else if (bpo?.value !== undefined) {
      const known = new Set(r.hosts.flatMap((h) => h.names));
      for (const n of bpo.value.split(' ')) {
        if (!known.has(n)) errors.push(`${where} become-primary-on contains '${n}', which is not named with the 'on' sections.`);
      }
    }
    r.sections.disk = r.sections.disk.filter((o) => {
      if (o.name !== 'resync-after' || o.value === undefined || c.resources.some((x) => x.name === o.value)) return true;
      c.warnings.push(`${where}\n\tresource '${o.value}' mentioned in 'resync-after' option is not known.`);
      return false;
    });
  }
  if (errors.length) throw new ConfigError(errors);
}

/** Resource-level volume statements fill in what a host section's volume lacks. */
function mergeVolumes(h: HostSection, resVols: Volume[]): void {
  for (const rv of resVols) {
    let hv = h.volumes.find((x) => x.vnr === rv.vnr);
    if (!hv) {
      hv = { vnr: rv.vnr, implicit: rv.implicit, diskOptions: [...rv.diskOptions], loc: rv.loc };
      h.volumes.push(hv);
      h.volumes.sort((a, b) => a.vnr - b.vnr);
    } else if (hv.diskOptions.length === 0) {
      hv.diskOptions = [...rv.diskOptions];
    }
    hv.device ??= rv.device;
    hv.disk ??= rv.disk;
    hv.metaDisk ??= rv.metaDisk;
  }
}

/** Parses the main file and everything it includes. */
export function parseConfig(main: SourceFile, readInclude: IncludeReader): Config {
  const st = new ParseState(emptyConfig(main.canonical), readInclude);
  return st.run(() => new FileParser(main, st).parseTop());
}

export function emptyConfig(file: string): Config {
  return { file, global: { disableIpVerification: false }, common: undefined, resources: [], warnings: [] };
}
