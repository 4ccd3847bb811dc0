/**
 * Streaming line reader shared by every loader: node:readline over an fs read stream, so a file is
 * never held in memory as one string. Lines are numbered from 1; the trailing newline, a final
 * '\r' of CRLF files and a UTF-8 byte-order mark on the first line are removed.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { DataFormatError } from './errors.js';

export type TextEncoding = 'utf8' | 'latin1';

/** Throws a DataFormatError (line 0) when `file` does not exist or is not a regular file. */
export async function assertReadableFile(file: string): Promise<void> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new DataFormatError(file, 0, code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`);
  }
  if (!info.isFile()) throw new DataFormatError(file, 0, 'not a regular file');
}

/** Yields [lineNumber, text] for every line of `file` (blank lines included). */
export async function* readLines(file: string, encoding: TextEncoding = 'utf8'): AsyncGenerator<[number, string]> {
  await assertReadableFile(file);
  const stream = createReadStream(file, { encoding });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (let line of rl) {
      lineNo++;
      if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      yield [lineNo, line];
    }
  } catch (err) {
    if (err instanceof DataFormatError) throw err;
    throw new DataFormatError(file, lineNo, `read failed: ${(err as Error).message}`);
  } finally {
    rl.close();
    stream.destroy();
  }
}
