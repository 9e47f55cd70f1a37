/**
 * A meta-data problem a user can cause (no meta-data, device too small, refused overwrite).
 * The message is drbdmeta's wording where it has one; exitCode is drbdmeta's exit code
 * (1 no valid meta-data / cancelled, 10 device too small, 20 cannot open, 40 refused).
 */
export class MetaDataError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'MetaDataError';
  }
}
