// `drbdadm dump` text, laid out as drbdadm-84 lays it out (spec/config-defaults.md §3):
// 4 spaces per level, option names left-justified in (24 − 4×level) columns, values
// right-justified in 3, strings quoted only when they contain more than [A-Za-z0-9/._-].
import type { Config, HostSection, OptionSections, OptionStmt, Resource, Volume } from './model.js';
import { OPTION_SECTIONS } from './options.js';

const INDENT = 4;

function pad(level: number): string {
  return ' '.repeat(INDENT * level);
}

/** `name value;` line. */
function optLine(level: number, name: string, value: string): string {
  return `${pad(level)}${name.padEnd(24 - INDENT * level)} ${value.padStart(3)};\n`;
}

/** drbdadm's quoting: bare when only [A-Za-z0-9/._-], else in double quotes with \ and " escaped. */
export function esc(s: string): string {
  if (s === '') return '""';
  if (/^[A-Za-z0-9/._-]+$/.test(s)) return s;
  return `"${s.replace(/[\\"]/g, '\\$&')}"`;
}

function dumpOptions(level: number, name: string, opts: readonly OptionStmt[]): string {
  if (opts.length === 0) return '';
  let out = `${pad(level)}${name} {\n`;
  for (const o of opts) {
    if (o.value === undefined) out += `${pad(level + 1)}${o.name};\n`;
    // become-primary-on is a list of host names, printed as such (not as one quoted string).
    else out += optLine(level + 1, o.name, o.name === 'become-primary-on' ? o.value.split(' ').map(esc).join(' ') : esc(o.value));
  }
  return out + `${pad(level)}}\n`;
}

/** drbdadm-84 keeps stacked-timeouts and become-primary-on apart from the kernel's startup
 * options: they come last (stacked-timeouts, then the last become-primary-on). */
function startupOrder(opts: readonly OptionStmt[]): OptionStmt[] {
  const kernel = opts.filter((o) => o.name !== 'stacked-timeouts' && o.name !== 'become-primary-on');
  const stacked = opts.find((o) => o.name === 'stacked-timeouts');
  const bpo = opts.filter((o) => o.name === 'become-primary-on').pop();
  return [...kernel, ...(stacked ? [stacked] : []), ...(bpo ? [bpo] : [])];
}

function dumpSections(level: number, s: OptionSections): string {
  return OPTION_SECTIONS.map((n) => dumpOptions(level, n, n === 'startup' ? startupOrder(s[n]) : s[n])).join('');
}

function dumpVolume(level: number, v: Volume): string {
  let out = '';
  let l = level;
  if (!v.implicit) {
    out += `${pad(l)}volume ${v.vnr} {\n`;
    l++;
  }
  // Per-volume disk {} options are not printed: drbdadm-84's dump leaves them out too.
  if (v.device) {
    out += `${pad(l)}device${' '.repeat(19 - INDENT * l)}${v.device.path !== undefined ? `${esc(v.device.path)} ` : ''}minor ${v.device.minor};\n`;
  }
  if (v.disk) out += optLine(l, 'disk', esc(v.disk.path));
  const md = v.metaDisk?.value;
  if (md?.kind === 'internal') out += optLine(l, 'meta-disk', 'internal');
  else if (md?.kind === 'flexible') out += optLine(l, 'meta-disk', esc(md.path));
  else if (md?.kind === 'indexed') out += `${pad(l)}meta-disk        ${esc(md.path)} [${md.index}];\n`;
  if (!v.implicit) out += `${pad(level)}}\n`;
  return out;
}

export function addressText(a: { af: string; ip: string; port: number }): string {
  return a.af === 'ipv6' ? `ipv6 [${a.ip}]:${a.port}` : `${a.af} ${a.ip}:${a.port}`;
}

function dumpHost(level: number, h: HostSection): string {
  let out: string;
  if (h.kind === 'floating' && h.address) out = `${pad(level)}floating ${addressText(h.address)} {\n`;
  else out = `${pad(level)}on ${h.names.map(esc).join(' ')} {\n`;
  for (const v of h.volumes) out += dumpVolume(level + 1, v);
  if (h.kind === 'on' && h.address) out += optLine(level + 1, 'address', addressText(h.address));
  return out + `${pad(level)}}\n`;
}

export function dumpResource(res: Resource, hostname: string, ignored: boolean): string {
  let out = `# resource ${esc(res.name)} on ${hostname}: ${ignored ? 'ignored' : 'not ignored'}, not stacked\n`;
  out += `# defined at ${res.loc.canonical}:${res.loc.line}\n`;
  out += `resource ${esc(res.name)} {\n`;
  for (const h of res.hosts) out += dumpHost(1, h);
  out += dumpSections(1, res.sections);
  return out + '}\n\n';
}

/** `global {}` only when something differs from the defaults. The two cmd-timeout lines of
 * drbd-utils 9.22 are a bug of that build (spec §3 rule 9) and are not printed. */
export function dumpGlobal(c: Config): string {
  const g = c.global;
  let body = '';
  if (g.disableIpVerification) body += `${pad(1)}disable-ip-verification;\n`;
  if (g.minorCount !== undefined) body += `${pad(1)}minor-count ${g.minorCount};\n`;
  if (g.dialogRefresh !== undefined) body += `${pad(1)}dialog-refresh ${g.dialogRefresh};\n`;
  if (g.usageCount !== undefined && g.usageCount !== 'ask') body += `${pad(1)}usage-count ${g.usageCount};\n`;
  return body ? `global {\n${body}}\n\n` : '';
}

export function dumpCommon(c: Config): string {
  if (!c.common) return '';
  const body = dumpSections(1, c.common);
  return body ? `common {\n${body}}\n\n` : '';
}

/** `dump` / `dump all`: header, global, common, every resource (ignored ones too). */
export function dumpAll(c: Config, hostname: string, isIgnored: (r: Resource) => boolean): string {
  let out = `# ${c.file}\n`;
  out += dumpGlobal(c);
  out += dumpCommon(c);
  for (const r of c.resources) out += dumpResource(r, hostname, isIgnored(r));
  return out;
}
