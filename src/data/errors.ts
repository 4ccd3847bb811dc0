/**
 * The one error type of the data layer: every problem found while reading a data file names the
 * file, the 1-based line number and the reason, so a user can open the file at the right place.
 * Line 0 means "the file as a whole" (missing, empty, no data lines after the header).
 */
export class DataFormatError extends Error {
  override readonly name = 'DataFormatError';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
  }
}
