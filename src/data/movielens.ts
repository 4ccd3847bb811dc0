/**
 * MovieLens loaders (GroupLens, https://grouplens.org/datasets/movielens/). The files are read from
 * a directory the user gives; seqfair never ships them (their licence forbids redistribution).
 *
 * ML-100K directory:
 *   u.data  `user \t item \t rating \t timestamp`  (required)
 *   u.user  `id|age|gender|occupation|zip`          (required: gender/age/occupation groups)
 *   u.item  `id|title|release|video|url|19 genre flags`, latin-1 (optional: titles)
 * ML-1M directory:
 *   ratings.dat `UserID::MovieID::Rating::Timestamp`          (required)
 *   users.dat   `UserID::Gender::Age::Occupation::Zip-code`   (required)
 *   movies.dat  `MovieID::Title::Genres`, latin-1             (optional: titles)
 *
 * Attribute values are kept as the raw strings of the files (ML-1M age and occupation are the
 * GroupLens codes, e.g. age '25' means 25-34). Rules shared with the generic loader: blank lines
 * are skipped, an empty ratings file is an error, exact duplicate (user, item, timestamp) events
 * are dropped by default (`duplicates`), a user listed twice in the user file is an error, user
 * rows without ratings are ignored and rated users missing from the user file get 'unknown'.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { DataFormatError } from './errors.js';
import { parseId, parseNumber, parseTimestamp } from './fields.js';
import { readLines, type TextEncoding } from './lines.js';
import { LogBuilder, type DuplicatePolicy, type InteractionLog } from './types.js';

export interface MovieLensOptions {
  /** duplicate (user, item, timestamp) events: 'drop' (default), 'keep' or 'error' */
  duplicates?: DuplicatePolicy;
  /** read item titles when the item file exists (default true) */
  titles?: boolean;
}

export const ML100K_USER_ATTRIBUTES = ['age', 'gender', 'occupation', 'zip'] as const;
export const ML1M_USER_ATTRIBUTES = ['gender', 'age', 'occupation', 'zip'] as const;

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

interface Layout {
  ratings: string;
  users: string;
  items: string;
  ratingsSep: string;
  /** separator of the user and item files */
  sep: string;
  attributeNames: readonly string[];
}

const ML100K: Layout = { ratings: 'u.data', users: 'u.user', items: 'u.item', ratingsSep: '\t', sep: '|', attributeNames: ML100K_USER_ATTRIBUTES };
const ML1M: Layout = { ratings: 'ratings.dat', users: 'users.dat', items: 'movies.dat', ratingsSep: '::', sep: '::', attributeNames: ML1M_USER_ATTRIBUTES };

async function readRatings(file: string, sep: string, builder: LogBuilder): Promise<void> {
  for await (const [lineNo, line] of readLines(file)) {
    if (line.trim() === '') continue;
    const f = line.split(sep);
    if (f.length !== 4) {
      throw new DataFormatError(file, lineNo, `expected 4 fields separated by ${JSON.stringify(sep)} (user, item, rating, timestamp), got ${f.length}`);
    }
    const user = parseId(f[0]!, 'user id', file, lineNo);
    const item = parseId(f[1]!, 'item id', file, lineNo);
    const rating = parseNumber(f[2]!, 'rating', file, lineNo);
    const time = parseTimestamp(f[3]!, false, file, lineNo);
    builder.add(user, item, time, rating, file, lineNo);
  }
  if (builder.size === 0) throw new DataFormatError(file, 0, 'empty file: no ratings');
}

async function readUsers(file: string, sep: string, names: readonly string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  const firstLine = new Map<string, number>();
  for await (const [lineNo, line] of readLines(file)) {
    if (line.trim() === '') continue;
    const f = line.split(sep);
    if (f.length !== names.length + 1) {
      throw new DataFormatError(file, lineNo, `expected ${names.length + 1} fields separated by ${JSON.stringify(sep)} (id, ${names.join(', ')}), got ${f.length}`);
    }
    const id = parseId(f[0]!, 'user id', file, lineNo);
    const first = firstLine.get(id);
    if (first !== undefined) throw new DataFormatError(file, lineNo, `user ${id} is listed twice (first on line ${first})`);
    firstLine.set(id, lineNo);
    const attrs: Record<string, string> = {};
    names.forEach((name, j) => (attrs[name] = f[j + 1]!.trim()));
    out.set(id, attrs);
  }
  if (out.size === 0) throw new DataFormatError(file, 0, 'empty file: no users');
  return out;
}

async function readTitles(file: string, sep: string, encoding: TextEncoding): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [lineNo, line] of readLines(file, encoding)) {
    if (line.trim() === '') continue;
    const f = line.split(sep);
    if (f.length < 2) throw new DataFormatError(file, lineNo, `expected at least 2 fields separated by ${JSON.stringify(sep)} (id, title), got ${f.length}`);
    const id = parseId(f[0]!, 'item id', file, lineNo);
    if (out.has(id)) throw new DataFormatError(file, lineNo, `item ${id} is listed twice`);
    out.set(id, f[1]!);
  }
  return out;
}

async function load(dir: string, layout: Layout, opts: MovieLensOptions): Promise<InteractionLog> {
  const ratingsFile = path.join(dir, layout.ratings);
  const usersFile = path.join(dir, layout.users);
  const itemsFile = path.join(dir, layout.items);
  const builder = new LogBuilder(opts.duplicates ?? 'drop', true);
  await readRatings(ratingsFile, layout.ratingsSep, builder);
  const users = await readUsers(usersFile, layout.sep, layout.attributeNames);
  // Both item files are latin-1 in the GroupLens zips (e.g. ML-100K item 1633 'Á köldum klaka').
  const titles = (opts.titles ?? true) && (await exists(itemsFile)) ? await readTitles(itemsFile, layout.sep, 'latin1') : undefined;
  return builder.finish(path.resolve(dir), [...layout.attributeNames], users, titles);
}

/** Loads an ML-100K directory (u.data, u.user, optional u.item). */
export function loadMovieLens100K(dir: string, opts: MovieLensOptions = {}): Promise<InteractionLog> {
  return load(dir, ML100K, opts);
}

/** Loads an ML-1M directory (ratings.dat, users.dat, optional movies.dat). */
export function loadMovieLens1M(dir: string, opts: MovieLensOptions = {}): Promise<InteractionLog> {
  return load(dir, ML1M, opts);
}

/** Loads whichever MovieLens layout `dir` holds (u.data -> 100K, ratings.dat -> 1M). */
export async function loadMovieLens(dir: string, opts: MovieLensOptions = {}): Promise<InteractionLog> {
  if (await exists(path.join(dir, ML100K.ratings))) return loadMovieLens100K(dir, opts);
  if (await exists(path.join(dir, ML1M.ratings))) return loadMovieLens1M(dir, opts);
  throw new DataFormatError(dir, 0, `not a MovieLens directory: neither ${ML100K.ratings} nor ${ML1M.ratings} found`);
}
