/** An error a user caused: printed as one line (already in DRBD's wording), then exit with exitCode. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
