// The YAML form of the configuration: the same model as drbd.conf (what `drbdadm dump`
// shows, structured), so `drbdadm dump --yaml` can be read back by every command.
//
//   global:    { disable-ip-verification: true, minor-count: 64, usage-count: no }
//   common:    { net: { protocol: C }, disk: { resync-rate: 10M } }
//   resources:
//     r0:
//       defined-at: /etc/drbd.d/r0.res:1      # optional: where the resource came from
//       hosts:
//         - on: node1                          # or [a, b]; or `floating: ipv4 10.0.0.9:7788`
//           device: /dev/drbd0                 # implicit volume 0, flat; or `volumes:` list
//           minor: 0                           #   of { volume: N, device, minor, disk, ... }
//           disk: /dev/sdb1
//           meta-disk: internal                # or a path, plus `meta-index: N`
//           address: ipv4 10.0.0.1:7788
//       net: { cram-hmac-alg: sha1 }
//
// Option values are kept literally (`10M` stays `10M`); a repeated option is a list.
// Every statement keeps its YAML line for error messages.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node, type Pair, type YAMLMap } from 'yaml';
import { ConfigError } from './errors.js';
import {
  emptySections,
  type Address,
  type AddressFamily,
  type Config,
  type HostSection,
  type Loc,
  type MetaDisk,
  type OptionSections,
  type OptionStmt,
  type Resource,
  type Volume,
} from './model.js';
import { findOption, OPTION_SECTIONS, type OptionSpec, type Section } from './options.js';
import { addVolume, checkRange, emptyConfig, optionValue, ParseState, type SourceFile } from './parser.js';

// ---- model → YAML ----------------------------------------------------------------------

function yamlScalar(v: string): string | number {
  // Plain integers become YAML numbers; everything else stays a string (no type guessing).
  return /^(0|[1-9]\d{0,14})$/.test(v) ? Number(v) : v;
}

function sectionsToYaml(s: OptionSections): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const name of OPTION_SECTIONS) {
    const stmts = s[name];
    if (!stmts.length) continue;
    out[name] = optionsToYaml(stmts);
  }
  return Object.keys(out).length ? out : undefined;
}

function optionsToYaml(stmts: readonly OptionStmt[]): Record<string, unknown> {
  const sec: Record<string, unknown> = {};
  for (const o of stmts) {
    const v = o.value === undefined ? true : yamlScalar(o.value);
    if (o.name in sec) {
      const prev = sec[o.name];
      sec[o.name] = Array.isArray(prev) ? [...prev, v] : [prev, v];
    } else sec[o.name] = v;
  }
  return sec;
}

function volumeToYaml(v: Volume): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!v.implicit) out.volume = v.vnr;
  if (v.device?.path !== undefined) out.device = v.device.path;
  if (v.device) out.minor = v.device.minor;
  if (v.disk) out.disk = v.disk.path;
  const md = v.metaDisk?.value;
  if (md) out['meta-disk'] = md.kind === 'internal' ? 'internal' : md.path;
  if (md?.kind === 'indexed') out['meta-index'] = md.index;
  if (v.diskOptions.length) out['disk-options'] = optionsToYaml(v.diskOptions);
  return out;
}

function addressToYaml(a: Address): string {
  return a.af === 'ipv6' ? `ipv6 [${a.ip}]:${a.port}` : `${a.af} ${a.ip}:${a.port}`;
}

function hostToYaml(h: HostSection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (h.kind === 'on') out.on = h.names.length === 1 ? h.names[0] : h.names;
  else if (h.address) out.floating = addressToYaml(h.address);
  const implicit = h.volumes.length === 1 && h.volumes[0].implicit;
  if (implicit) Object.assign(out, volumeToYaml(h.volumes[0]));
  else if (h.volumes.length) out.volumes = h.volumes.map(volumeToYaml);
  if (h.kind === 'on' && h.address) out.address = addressToYaml(h.address);
  return out;
}

/** The configuration (or some of its resources) as YAML text. */
export function configToYaml(c: Config, resources: readonly Resource[] = c.resources, withGlobalCommon = true): string {
  const doc: Record<string, unknown> = {};
  if (withGlobalCommon) {
    const g: Record<string, unknown> = {};
    if (c.global.disableIpVerification) g['disable-ip-verification'] = true;
    if (c.global.minorCount !== undefined) g['minor-count'] = c.global.minorCount;
    if (c.global.dialogRefresh !== undefined) g['dialog-refresh'] = c.global.dialogRefresh;
    if (c.global.usageCount !== undefined) g['usage-count'] = c.global.usageCount;
    if (Object.keys(g).length) doc.global = g;
    const common = c.common && sectionsToYaml(c.common);
    if (common) doc.common = common;
  }
  const res: Record<string, unknown> = {};
  for (const r of resources) {
    const body: Record<string, unknown> = { 'defined-at': `${r.loc.canonical}:${r.loc.line}`, hosts: r.hosts.map(hostToYaml) };
    Object.assign(body, sectionsToYaml(r.sections) ?? {});
    res[r.name] = body;
  }
  doc.resources = res;
  return stringify(doc, { lineWidth: 0 });
}

// ---- YAML → model ----------------------------------------------------------------------

class YamlReader {
  private readonly lc = new LineCounter();
  private readonly st: ParseState;

  constructor(private readonly src: SourceFile) {
    this.st = new ParseState(emptyConfig(src.canonical), () => {
      throw new ConfigError([`${src.file}: include is not available in YAML files`]);
    });
  }

  private loc(n: Node | Pair | null | undefined): Loc {
    const node = (n && 'key' in n ? (n.key as Node) : n) as Node | null | undefined;
    const off = node?.range?.[0] ?? 0;
    return { file: this.src.file, canonical: this.src.canonical, line: this.lc.linePos(off).line };
  }

  private fail(n: Node | Pair | null | undefined, what: string): never {
    throw ConfigError.at(this.loc(n), what);
  }

  private map(n: unknown, what: string): YAMLMap {
    if (!isMap(n)) this.fail(n as Node, `${what} must be a mapping`);
    return n;
  }

  private pairs(n: unknown, what: string): { key: string; value: Node | null; pair: Pair }[] {
    return this.map(n, what).items.map((p) => {
      const key = isScalar(p.key) ? String(p.key.value) : this.fail(p, `${what}: keys must be plain words`);
      return { key, value: p.value as Node | null, pair: p };
    });
  }

  /** A scalar as drbd.conf text: booleans → yes/no, numbers as written. */
  private text(n: Node | null, what: string): string {
    if (!isScalar(n) || n.value === null || typeof n.value === 'object') this.fail(n, `${what} must be a single value`);
    if (typeof n.value === 'boolean') return n.value ? 'yes' : 'no';
    return n.source ?? String(n.value);
  }

  read(): Config {
    const doc = parseDocument(this.src.text, { lineCounter: this.lc, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      const e = doc.errors[0];
      throw ConfigError.at({ file: this.src.file, canonical: this.src.canonical, line: this.lc.linePos(e.pos[0]).line }, `YAML error: ${e.message.split('\n')[0]}`);
    }
    return this.st.run(() => {
      if (doc.contents === null) return;
      for (const { key, value, pair } of this.pairs(doc.contents, 'the document')) {
        if (key === 'global') this.global(value);
        else if (key === 'common') {
          this.st.unique('resource section', 'common', this.loc(pair));
          this.st.config.common = this.sections(value, 'common', false).sections;
        } else if (key === 'resources') {
          for (const r of this.pairs(value, 'resources')) this.resource(r.key, r.value, r.pair);
        } else this.fail(pair, `unknown top-level key '${key}' (global, common, resources)`);
      }
    });
  }

  private global(n: Node | null): void {
    const g = this.st.config.global;
    g.loc = this.loc(n);
    for (const { key, value, pair } of this.pairs(n, 'global')) {
      const v = this.text(value, key);
      if (key === 'disable-ip-verification') g.disableIpVerification = v === 'yes';
      else if (key === 'usage-count') {
        if (!['yes', 'no', 'ask'].includes(v)) this.fail(value, `Parse error: 'yes | no | ask' expected, but got '${v}'`);
        g.usageCount = v as 'yes' | 'no' | 'ask';
      } else if (key === 'minor-count' || key === 'dialog-refresh') {
        if (!/^\d+$/.test(v)) this.fail(value, `Parse error: 'TK_INTEGER' expected, but got '${v}'`);
        checkRange(findOption('global', key) as OptionSpec, v, BigInt(v), this.loc(value));
        if (key === 'minor-count') g.minorCount = Number(v);
        else g.dialogRefresh = Number(v);
      } else this.fail(pair, `unknown global option '${key}'`);
    }
  }

  /** Option sections of common or a resource; returns the keys it did not know. */
  private sections(n: Node | null, what: string, resourceLevel: boolean): { sections: OptionSections; rest: { key: string; value: Node | null; pair: Pair }[] } {
    const sections = emptySections();
    const rest: { key: string; value: Node | null; pair: Pair }[] = [];
    for (const item of this.pairs(n, what)) {
      const sec = (OPTION_SECTIONS as readonly string[]).includes(item.key) ? (item.key as keyof OptionSections) : undefined;
      if (sec) sections[sec].push(...this.options(sec, item.value));
      else if (resourceLevel) rest.push(item);
      else this.fail(item.pair, `unknown section '${item.key}' in ${what} (options, net, disk, startup, handlers)`);
    }
    return { sections, rest };
  }

  private options(section: Section, n: Node | null): OptionStmt[] {
    const out: OptionStmt[] = [];
    for (const { key, value, pair } of this.pairs(n, section)) {
      const spec = findOption(section, key);
      if (!spec) this.fail(pair, `unknown option '${key}' in ${section}`);
      const values = isSeq(value) ? (value.items as Node[]) : [value];
      for (const v of values) out.push(this.option(spec, v, pair));
    }
    return out;
  }

  private option(spec: OptionSpec, n: Node | null, pair: Pair): OptionStmt {
    const loc = this.loc(pair);
    if (spec.type === 'flag') {
      if (this.text(n, spec.name) !== 'yes') this.fail(n, `${spec.name} takes no value (write: ${spec.name}: true)`);
      return { name: spec.name, value: undefined, loc };
    }
    const t = this.text(n, spec.name);
    if (spec.type === 'bool') {
      if (t !== 'yes' && t !== 'no') this.fail(n, `Parse error: 'yes | no' expected, but got '${t}'`);
      return { name: spec.name, value: t, loc };
    }
    return { ...optionValue(spec, { text: t, loc: this.loc(n) }), loc };
  }

  private resource(name: string, n: Node | null, pair: Pair): void {
    let loc = this.loc(pair);
    const { sections, rest } = this.sections(n, `resource ${name}`, true);
    const res: Resource = { name, loc, hosts: [], volumes: [], sections };
    for (const { key, value, pair: p } of rest) {
      if (key === 'defined-at') {
        const m = /^(.*):(\d+)$/.exec(this.text(value, key));
        if (!m) this.fail(value, `defined-at must be FILE:LINE`);
        loc = { file: m[1], canonical: m[1], line: Number(m[2]) };
      } else if (key === 'hosts') {
        if (!isSeq(value)) this.fail(value, 'hosts must be a list');
        for (const h of value.items) res.hosts.push(this.host(h as Node));
      } else if (key === 'volumes') {
        if (!isSeq(value)) this.fail(value, 'volumes must be a list');
        for (const v of value.items) addVolume(res.volumes, this.volume(v as Node, false));
      } else this.fail(p, `unknown key '${key}' in resource ${name}`);
    }
    const final: Resource = { ...res, loc };
    this.st.unique('resource section', name, this.loc(pair));
    this.st.config.resources.push(final);
    this.st.finishResource(final);
  }

  private address(n: Node | null): Address {
    const t = this.text(n, 'address');
    const m = /^(?:(ipv4|ipv6|ssocks|sdp)\s+)?(?:\[([0-9A-Fa-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(t);
    if (!m || Number(m[4]) > 65535) this.fail(n, `address must be '[ipv4|ipv6] IP:PORT' (IPv6 as [ADDR]:PORT), got '${t}'`);
    const af = (m[1] ?? (m[2] !== undefined ? 'ipv6' : 'ipv4')) as AddressFamily;
    if ((af === 'ipv6') !== (m[2] !== undefined)) this.fail(n, `address '${t}': IPv6 addresses are written [ADDR]:PORT, with ipv6`);
    return { af, ip: m[2] ?? m[3], port: Number(m[4]), loc: this.loc(n) };
  }

  private host(n: Node): HostSection {
    const items = this.pairs(n, 'a host section');
    const onItem = items.find((i) => i.key === 'on');
    const flItem = items.find((i) => i.key === 'floating');
    if (!onItem === !flItem) this.fail(n, `a host section needs exactly one of 'on' or 'floating'`);
    let host: HostSection;
    if (onItem) {
      const names = isSeq(onItem.value) ? onItem.value.items.map((x) => this.text(x as Node, 'on')) : [this.text(onItem.value, 'on')];
      host = { kind: 'on', names, volumes: [], loc: this.loc(onItem.pair), endLoc: this.loc(onItem.pair) };
    } else {
      const f = flItem as { value: Node | null; pair: Pair };
      host = { kind: 'floating', names: [], address: this.address(f.value), volumes: [], loc: this.loc(f.pair), endLoc: this.loc(f.pair) };
    }
    const flat = items.filter((i) => ['device', 'minor', 'disk', 'meta-disk', 'meta-index', 'disk-options'].includes(i.key));
    if (flat.length) addVolume(host.volumes, this.volumeFrom(flat, true, host.loc));
    for (const { key, value, pair } of items) {
      if (key === 'address' && host.kind === 'on') host.address = this.address(value);
      else if (key === 'volumes') {
        if (!isSeq(value)) this.fail(value, 'volumes must be a list');
        for (const v of value.items) addVolume(host.volumes, this.volume(v as Node, false));
      } else if (key !== 'on' && key !== 'floating' && !flat.some((f) => f.key === key)) {
        this.fail(pair, `unknown key '${key}' in a host section`);
      }
    }
    return host;
  }

  private volume(n: Node, implicit: boolean): Volume {
    const items = this.pairs(n, 'a volume');
    return this.volumeFrom(items, implicit, this.loc(n));
  }

  private volumeFrom(items: { key: string; value: Node | null; pair: Pair }[], implicit: boolean, loc: Loc): Volume {
    let vnr = 0;
    const get = (k: string) => items.find((i) => i.key === k);
    const vItem = get('volume');
    if (!implicit) {
      if (!vItem) this.fail(items[0]?.pair ?? null, `a volume needs 'volume: N'`);
      const t = this.text(vItem.value, 'volume');
      if (!/^\d+$/.test(t)) this.fail(vItem.value, `volume must be a number`);
      vnr = Number(t);
    }
    const vol: Volume = { vnr, implicit, diskOptions: [], loc };
    for (const { key, value, pair } of items) {
      const l = this.loc(pair);
      switch (key) {
        case 'volume':
          break;
        case 'minor':
        case 'device': {
          if (vol.device) break;
          const minorItem = get('minor');
          const devItem = get('device');
          const path = devItem ? this.text(devItem.value, 'device') : undefined;
          let minor = minorItem ? this.text(minorItem.value, 'minor') : undefined;
          if (minor !== undefined && !/^\d+$/.test(minor)) this.fail(minorItem?.value, `minor must be a number`);
          const m = path !== undefined ? /^(?:\/dev\/)?drbd(\d+)$/.exec(path) : null;
          if (m && minor !== undefined && Number(minor) !== Number(m[1])) this.fail(pair, `explicit minor number must match with device name`);
          if (m) minor = m[1];
          if (minor === undefined) this.fail(pair, `device '${path}' needs an explicit minor`);
          vol.device = { path, minor: Number(minor), loc: this.loc((devItem ?? minorItem)?.pair) };
          break;
        }
        case 'disk':
          vol.disk = { path: this.text(value, 'disk'), loc: l };
          break;
        case 'meta-disk': {
          const p = this.text(value, 'meta-disk');
          const idx = get('meta-index');
          let md: MetaDisk;
          if (p === 'internal') md = { kind: 'internal' };
          else if (idx) {
            const i = this.text(idx.value, 'meta-index');
            if (!/^\d+$/.test(i)) this.fail(idx.value, 'meta-index must be a number');
            md = { kind: 'indexed', path: p, index: Number(i) };
          } else md = { kind: 'flexible', path: p };
          vol.metaDisk = { value: md, loc: l };
          break;
        }
        case 'meta-index':
          if (!get('meta-disk')) this.fail(pair, 'meta-index without meta-disk');
          break;
        case 'disk-options':
          vol.diskOptions = this.options('disk', value);
          break;
        default:
          this.fail(pair, `unknown key '${key}' in a volume`);
      }
    }
    return vol;
  }
}

/** Reads the YAML form; errors name the file and line. */
export function parseYamlConfig(src: SourceFile): Config {
  return new YamlReader(src).read();
}
