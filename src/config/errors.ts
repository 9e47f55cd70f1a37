// Errors in a configuration: each line is `FILE:LINE: what is wrong`, in drbdadm's wording
// where drbdadm has one. exitCode is drbdadm's: 10 invalid config, 20 a bad number
// (drbdadm-84 exits 20 for `5X is not a valid number`), 1 an unknown resource name.
import { formatLoc, type Loc } from './model.js';

export const EXIT_CONFIG_INVALID = 10;
export const EXIT_BAD_NUMBER = 20;
export const EXIT_NO_SUCH_RESOURCE = 1;

export class ConfigError extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode: number = EXIT_CONFIG_INVALID,
  ) {
    super(lines.join('\n'));
  }

  static at(loc: Loc, what: string, exitCode: number = EXIT_CONFIG_INVALID): ConfigError {
    return new ConfigError([`${formatLoc(loc)}: ${what}`], exitCode);
  }
}
