/**
 * Field-level parsing shared by the loaders: splitting a line into fields and reading numbers,
 * each failure reported as a DataFormatError with file and line.
 */
import { DataFormatError } from './errors.js';

/** A finite number from `text` (surrounding spaces allowed, nothing else), or a DataFormatError. */
export function parseNumber(text: string, what: string, file: string, line: number): number {
  const t = text.trim();
  const v = t === '' ? Number.NaN : Number(t);
  if (!Number.isFinite(v)) {
    throw new DataFormatError(file, line, `${what} must be a number, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** A timestamp: a number, or (when `dates` is true) anything Date.parse accepts, in seconds. */
export function parseTimestamp(text: string, dates: boolean, file: string, line: number): number {
  const t = text.trim();
  if (t !== '') {
    const v = Number(t);
    if (Number.isFinite(v)) return v;
    if (dates) {
      const ms = Date.parse(t);
      if (Number.isFinite(ms)) return ms / 1000;
    }
  }
  const expected = dates ? 'a number or a date' : 'a number';
  throw new DataFormatError(file, line, `timestamp must be ${expected}, got ${JSON.stringify(text)}`);
}

/** A non-empty id (trimmed), or a DataFormatError naming the column. */
export function parseId(text: string, what: string, file: string, line: number): string {
  const t = text.trim();
  if (t === '') throw new DataFormatError(file, line, `${what} is empty`);
  return t;
}

/**
 * Splits one CSV line (RFC 4180 quoting: "a,b" and "" for a literal quote). A quoted field that
 * runs past the end of the line is an error: the loaders stream line by line and do not support
 * newlines inside fields.
 */
export function splitCsvLine(line: string, delimiter: string, file: string, lineNo: number): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new DataFormatError(file, lineNo, 'unterminated quoted field (newlines inside fields are not supported)');
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < n && !line.startsWith(delimiter, i)) {
        throw new DataFormatError(file, lineNo, `unexpected text after closing quote at column ${i + 1}`);
      }
      out.push(field);
    } else {
      const d = line.indexOf(delimiter, i);
      const end = d < 0 ? n : d;
      out.push(line.slice(i, end));
      i = end;
    }
    if (i >= n) break;
    i += delimiter.length;
    if (i === n) {
      out.push('');
      break;
    }
  }
  return out;
}
