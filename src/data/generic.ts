/**
 * Generic loader: an interactions file in CSV, TSV or JSON-lines, plus an optional user-attribute
 * file (CSV/TSV), into an InteractionLog.
 *
 * Columns are named by header name (string) or 0-based index (number). JSON-lines rows are
 * objects (columns by key) or arrays (columns by index).
 *
 * Behaviour, decided once for every loader:
 * - Duplicate events (same user, item and timestamp): dropped, keeping the first, and counted in
 *   `log.stats.duplicatesDropped` (`duplicates: 'keep'` keeps them, `'error'` rejects the file).
 *   The same item at a different timestamp is a real re-consumption and is always kept.
 * - Users in the attribute file with no interactions: ignored (counted in
 *   `stats.attributeRowsIgnored`). A user listed twice in the attribute file is an error.
 * - Users with interactions but no attribute row, and empty attribute cells: value 'unknown'
 *   (counted in `stats.usersWithoutAttributes`).
 * - Empty files (no data line after the header; blank lines do not count): error.
 * - Non-numeric timestamps: error naming the line (`timestamps: 'date'` also accepts anything
 *   Date.parse reads, e.g. ISO 8601, converted to seconds).
 * - Missing columns: a named column absent from the header is an error at line 1 listing the
 *   header; a row with too few fields (or a JSON object without the key) is an error at its line.
 * - Blank lines are skipped everywhere. CSV fields may be quoted ("a,b", "" for a quote) but may
 *   not span lines; TSV fields are never quoted. User and item ids are trimmed strings.
 */
import path from 'node:path';
import { DataFormatError } from './errors.js';
import { parseId, parseNumber, parseTimestamp, splitCsvLine } from './fields.js';
import { readLines, type TextEncoding } from './lines.js';
import { LogBuilder, type DuplicatePolicy, type InteractionLog } from './types.js';

export type Column = string | number;
export type TableFormat = 'csv' | 'tsv';
export type InteractionsFormat = TableFormat | 'jsonl';

export interface InteractionsFileOptions {
  /** default: from the extension (.csv; .tsv/.tab; .jsonl/.ndjson/.json) */
  format?: InteractionsFormat;
  /** field separator for csv/tsv (default ',' and '\t') */
  delimiter?: string;
  /** csv/tsv: the first non-blank line is a header (default true) */
  header?: boolean;
  columns: { user: Column; item: Column; timestamp: Column; rating?: Column };
  /** 'number' (default) or 'date' (numbers, or strings Date.parse accepts, in seconds) */
  timestamps?: 'number' | 'date';
  duplicates?: DuplicatePolicy;
  encoding?: TextEncoding;
  /** an optional user-attribute file joined onto the interactions */
  userAttributes?: UserAttributesFileOptions & { file: string };
}

export interface UserAttributesFileOptions {
  format?: TableFormat;
  delimiter?: string;
  /** default true; without a header attributes are named 'attr<index>' */
  header?: boolean;
  /** the user id column (default: column 0) */
  userColumn?: Column;
  /** attribute columns (default: every column but the user column) */
  attributeColumns?: Column[];
  encoding?: TextEncoding;
}

function formatFromExtension(file: string, allowJson: boolean): InteractionsFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (allowJson && (ext === '.jsonl' || ext === '.ndjson' || ext === '.json')) return 'jsonl';
  throw new DataFormatError(file, 0, `cannot tell the format from the extension ${JSON.stringify(ext)}: pass format ('csv', 'tsv'${allowJson ? " or 'jsonl'" : ''})`);
}

/**
 * Reads a delimited table line by line: resolves named columns against the header and calls
 * `row(fields, lineNo)` for each data line. Returns the header (or null) and the data line count.
 */
async function readTable(
  file: string,
  format: TableFormat,
  delimiter: string | undefined,
  header: boolean,
  encoding: TextEncoding,
  onHeader: (names: string[]) => void,
  row: (fields: string[], lineNo: number) => void,
): Promise<number> {
  const sep = delimiter ?? (format === 'csv' ? ',' : '\t');
  if (sep === '') throw new DataFormatError(file, 0, 'delimiter must not be empty');
  let seenHeader = !header;
  let rows = 0;
  for await (const [lineNo, line] of readLines(file, encoding)) {
    if (line.trim() === '') continue;
    const fields = format === 'csv' ? splitCsvLine(line, sep, file, lineNo) : line.split(sep);
    if (!seenHeader) {
      seenHeader = true;
      onHeader(fields.map((f) => f.trim()));
      continue;
    }
    rows++;
    row(fields, lineNo);
  }
  if (rows === 0) throw new DataFormatError(file, 0, header ? 'empty file: no data lines after the header' : 'empty file: no data lines');
  return rows;
}

/** Resolves a column reference to an index, against the header when it is a name. */
function resolveColumn(col: Column, role: string, headerNames: string[] | null, file: string): number {
  if (typeof col === 'number') {
    if (!Number.isInteger(col) || col < 0) throw new DataFormatError(file, 0, `${role} column index must be a non-negative integer, got ${col}`);
    return col;
  }
  if (headerNames === null) throw new DataFormatError(file, 0, `${role} column is named ${JSON.stringify(col)} but the file has no header: use an index`);
  const j = headerNames.indexOf(col);
  if (j < 0) throw new DataFormatError(file, 1, `missing column ${JSON.stringify(col)} (${role}); header has ${headerNames.map((h) => JSON.stringify(h)).join(', ')}`);
  return j;
}

function field(fields: string[], j: number, role: string, file: string, lineNo: number): string {
  if (j >= fields.length) {
    throw new DataFormatError(file, lineNo, `missing ${role} column: expected at least ${j + 1} fields, got ${fields.length}`);
  }
  return fields[j]!;
}

/** Reads a user-attribute table into user -> name -> value, with the attribute names in order. */
export async function loadUserAttributes(
  file: string,
  opts: UserAttributesFileOptions = {},
): Promise<{ names: string[]; rows: Map<string, Record<string, string>> }> {
  const format = opts.format ?? (formatFromExtension(file, false) as TableFormat);
  const header = opts.header ?? true;
  let headerNames: string[] | null = null;
  let userCol = -1;
  let attrCols: number[] = [];
  let names: string[] = [];
  const resolve = (width: number): void => {
    userCol = resolveColumn(opts.userColumn ?? 0, 'user', headerNames, file);
    if (opts.attributeColumns !== undefined) {
      attrCols = opts.attributeColumns.map((c) => resolveColumn(c, 'attribute', headerNames, file));
    } else {
      attrCols = [];
      for (let j = 0; j < width; j++) if (j !== userCol) attrCols.push(j);
    }
    names = attrCols.map((j) => (headerNames !== null && j < headerNames.length ? headerNames[j]! : `attr${j}`));
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new DataFormatError(file, header ? 1 : 0, `attribute name ${JSON.stringify(dup)} appears twice`);
  };
  const rows = new Map<string, Record<string, string>>();
  const firstLine = new Map<string, number>();
  await readTable(
    file,
    format,
    opts.delimiter,
    header,
    opts.encoding ?? 'utf8',
    (h) => {
      headerNames = h;
      resolve(h.length);
    },
    (fields, lineNo) => {
      if (userCol < 0) resolve(fields.length);
      const user = parseId(field(fields, userCol, 'user', file, lineNo), 'user id', file, lineNo);
      const first = firstLine.get(user);
      if (first !== undefined) throw new DataFormatError(file, lineNo, `user ${user} is listed twice (first on line ${first})`);
      firstLine.set(user, lineNo);
      const attrs: Record<string, string> = {};
      attrCols.forEach((j, a) => (attrs[names[a]!] = field(fields, j, `attribute ${JSON.stringify(names[a])}`, file, lineNo).trim()));
      rows.set(user, attrs);
    },
  );
  return { names, rows };
}

function jsonValue(row: unknown, col: Column, role: string, file: string, lineNo: number): string {
  let v: unknown;
  if (Array.isArray(row)) {
    if (typeof col !== 'number') throw new DataFormatError(file, lineNo, `row is a JSON array but the ${role} column is named ${JSON.stringify(col)}: use an index`);
    if (col >= row.length) throw new DataFormatError(file, lineNo, `missing ${role} column: expected at least ${col + 1} values, got ${row.length}`);
    v = row[col];
  } else {
    const key = String(col);
    if (!Object.prototype.hasOwnProperty.call(row, key)) throw new DataFormatError(file, lineNo, `missing ${role} column ${JSON.stringify(key)}`);
    v = (row as Record<string, unknown>)[key];
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new DataFormatError(file, lineNo, `${role} must be a string or a number, got ${JSON.stringify(v)}`);
}

/** Loads an interactions file (and optionally a user-attribute file) into an InteractionLog. */
export async function loadInteractions(file: string, opts: InteractionsFileOptions): Promise<InteractionLog> {
  const format = opts.format ?? formatFromExtension(file, true);
  const dates = opts.timestamps === 'date';
  const cols = opts.columns;
  const builder = new LogBuilder(opts.duplicates ?? 'drop', cols.rating !== undefined);
  if (format === 'jsonl') {
    for await (const [lineNo, line] of readLines(file, opts.encoding ?? 'utf8')) {
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        throw new DataFormatError(file, lineNo, `invalid JSON: ${(err as Error).message}`);
      }
      if (row === null || typeof row !== 'object') throw new DataFormatError(file, lineNo, 'expected a JSON object or array');
      const user = parseId(jsonValue(row, cols.user, 'user', file, lineNo), 'user id', file, lineNo);
      const item = parseId(jsonValue(row, cols.item, 'item', file, lineNo), 'item id', file, lineNo);
      const time = parseTimestamp(jsonValue(row, cols.timestamp, 'timestamp', file, lineNo), dates, file, lineNo);
      const rating = cols.rating === undefined ? undefined : parseNumber(jsonValue(row, cols.rating, 'rating', file, lineNo), 'rating', file, lineNo);
      builder.add(user, item, time, rating, file, lineNo);
    }
    if (builder.size === 0) throw new DataFormatError(file, 0, 'empty file: no data lines');
  } else {
    const header = opts.header ?? true;
    let headerNames: string[] | null = null;
    let iu = -1, ii = -1, it = -1, ir = -1;
    const resolve = (): void => {
      iu = resolveColumn(cols.user, 'user', headerNames, file);
      ii = resolveColumn(cols.item, 'item', headerNames, file);
      it = resolveColumn(cols.timestamp, 'timestamp', headerNames, file);
      if (cols.rating !== undefined) ir = resolveColumn(cols.rating, 'rating', headerNames, file);
    };
    await readTable(
      file,
      format,
      opts.delimiter,
      header,
      opts.encoding ?? 'utf8',
      (h) => {
        headerNames = h;
        resolve();
      },
      (fields, lineNo) => {
        if (iu < 0) resolve();
        const user = parseId(field(fields, iu, 'user', file, lineNo), 'user id', file, lineNo);
        const item = parseId(field(fields, ii, 'item', file, lineNo), 'item id', file, lineNo);
        const time = parseTimestamp(field(fields, it, 'timestamp', file, lineNo), dates, file, lineNo);
        const rating = ir < 0 ? undefined : parseNumber(field(fields, ir, 'rating', file, lineNo), 'rating', file, lineNo);
        builder.add(user, item, time, rating, file, lineNo);
      },
    );
  }
  let names: string[] = [];
  let rows = new Map<string, Record<string, string>>();
  if (opts.userAttributes !== undefined) {
    const { file: attrFile, ...attrOpts } = opts.userAttributes;
    ({ names, rows } = await loadUserAttributes(attrFile, attrOpts));
  }
  return builder.finish(path.resolve(file), names, rows);
}
