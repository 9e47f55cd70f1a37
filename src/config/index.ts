// Public API of the configuration module (what the CLI and the daemon import).
export { loadConfig, parseText, isYamlFile, canonicalPath } from './load.js';
export { ConfigError, EXIT_CONFIG_INVALID, EXIT_BAD_NUMBER, EXIT_NO_SUCH_RESOURCE } from './errors.js';
export {
  hostContext,
  thisHostname,
  localIpAddresses,
  findMe,
  selectResources,
  verifyIps,
  resolveResource,
  resolveAll,
  resolveGlobal,
} from './resolve.js';
export type {
  HostContext,
  ResolvedResource,
  ResolvedHost,
  ResolvedVolume,
  NetOptions,
  DiskOptions,
  StartupOptions,
  ResourceOptions,
  Handlers,
  GlobalOptions,
} from './resolve.js';
export { dumpAll, dumpResource } from './dump.js';
export { configToYaml } from './yaml.js';
export { OPTIONS, findOption, parseScaledNumber } from './options.js';
export type { OptionSpec, Section } from './options.js';
export type * from './model.js';
