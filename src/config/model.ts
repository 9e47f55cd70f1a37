// Types of the parsed configuration. The parsed model keeps what `drbdadm dump` needs
// (literal values, file order, file:line); resolve.ts turns it into effective values.
import type { OptionSection } from './options.js';

/** Where a statement is. `file` is the name as drbdadm prints it in parse-time errors
 * (the -c argument, include paths as globbed); `canonical` is the absolute path with the
 * directory resolved (drbdadm's "# defined at" and post-parse messages use it). */
export interface Loc {
  readonly file: string;
  readonly canonical: string;
  readonly line: number;
}

/** One `name value;` statement, after 8.3 → 8.4 renaming. `value` is the literal text
 * (unquoted), except: booleans are 'yes'/'no', protocol is upper-case; undefined for flags. */
export interface OptionStmt {
  readonly name: string;
  readonly value: string | undefined;
  readonly loc: Loc;
}

export type OptionSections = Record<OptionSection, OptionStmt[]>;

export type MetaDisk =
  | { readonly kind: 'internal' }
  | { readonly kind: 'flexible'; readonly path: string }
  | { readonly kind: 'indexed'; readonly path: string; readonly index: number };

export interface Device {
  /** /dev/drbdN or /dev/drbd_NAME; absent for `device minor N;`. */
  readonly path: string | undefined;
  readonly minor: number;
  readonly loc: Loc;
}

export interface Volume {
  readonly vnr: number;
  /** Statements directly in the host/resource section (implicit volume 0): printed flat. */
  readonly implicit: boolean;
  device?: Device;
  disk?: { readonly path: string; readonly loc: Loc };
  metaDisk?: { readonly value: MetaDisk; readonly loc: Loc };
  /** 8.4 per-volume `disk {}` options (drbdadm-84 parses them but its dump omits them). */
  diskOptions: OptionStmt[];
  readonly loc: Loc;
}

export type AddressFamily = 'ipv4' | 'ipv6' | 'ssocks' | 'sdp';

export interface Address {
  readonly af: AddressFamily;
  readonly ip: string;
  readonly port: number;
  readonly loc: Loc;
}

export interface HostSection {
  /** `on NAMES {}` or `floating [af] ADDR:PORT {}`. */
  readonly kind: 'on' | 'floating';
  readonly names: string[];
  address?: Address;
  volumes: Volume[];
  /** Line of the `on`/`floating` keyword (missing-keyword messages). */
  readonly loc: Loc;
  /** Line of the closing `}` (meta-disk conflict messages). */
  endLoc: Loc;
}

export interface Resource {
  readonly name: string;
  readonly loc: Loc;
  hosts: HostSection[];
  /** Resource-level volume statements: copied into every host section. */
  volumes: Volume[];
  sections: OptionSections;
}

export interface GlobalSection {
  usageCount?: 'yes' | 'no' | 'ask';
  minorCount?: number;
  dialogRefresh?: number;
  disableIpVerification: boolean;
  loc?: Loc;
}

export interface Config {
  /** Absolute path of the main file (`# FILE` header of `dump all`). */
  readonly file: string;
  global: GlobalSection;
  common: OptionSections | undefined;
  resources: Resource[];
  /** Non-fatal messages (drbdadm prints them and goes on). */
  warnings: string[];
}

export function emptySections(): OptionSections {
  return { options: [], net: [], disk: [], startup: [], handlers: [] };
}

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}`;
}
