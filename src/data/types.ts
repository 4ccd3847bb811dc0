/**
 * The raw, loader-independent form of an interaction data set. Every loader (MovieLens 100K/1M,
 * generic CSV/TSV/JSON-lines, the synthetic generator) returns an `InteractionLog`; preprocessing
 * (preprocess.ts) turns it into a `Dataset` of re-indexed, split sequences.
 *
 * Events are stored as parallel arrays in file order (not sorted): preprocessing sorts each user's
 * events by timestamp with a stable sort, so ties keep file order.
 */
import { DataFormatError } from './errors.js';

/** Attribute value given to a user who has interactions but no row (or an empty cell) in the attribute file. */
export const UNKNOWN_ATTRIBUTE = 'unknown';

/** What to do with an event whose (user, item, timestamp) triple was already seen. */
export type DuplicatePolicy = 'drop' | 'keep' | 'error';

export interface InteractionLog {
  /** where the data came from (a path or a generator description), for reports */
  source: string;
  /** per event: raw user id */
  users: string[];
  /** per event: raw item id */
  items: string[];
  /** per event: timestamp (any monotone unit; seconds for MovieLens) */
  timestamps: Float64Array;
  /** per event: explicit rating, when the source has one */
  ratings?: Float64Array;
  /** names of the user attributes, in file order (e.g. ['age', 'gender', 'occupation', 'zip']) */
  attributeNames: string[];
  /**
   * Attributes of every user that has at least one event (and only of those): name -> value.
   * A user without attributes gets UNKNOWN_ATTRIBUTE for every name.
   */
  userAttributes: Map<string, Record<string, string>>;
  /** raw item id -> title, when the source has titles */
  itemTitles?: Map<string, string>;
  /** counters a loader wants to report (duplicates dropped, attribute rows ignored, ...) */
  stats: LogStats;
}

export interface LogStats {
  events: number;
  duplicatesDropped: number;
  /** attribute rows whose user has no interactions (ignored) */
  attributeRowsIgnored: number;
  /** users with interactions but no attribute row (attributes set to 'unknown') */
  usersWithoutAttributes: number;
}

/**
 * Accumulates events while a loader streams a file, applying the duplicate policy as it goes, and
 * joins the attributes at the end. Shared by all loaders so they behave the same way.
 */
export class LogBuilder {
  private readonly users: string[] = [];
  private readonly items: string[] = [];
  private readonly times: number[] = [];
  private readonly ratings: number[] | null;
  /** key "user\u0000item\u0000time" -> first line; only kept when duplicates are checked */
  private readonly seen: Map<string, number> | null;
  private dropped = 0;

  constructor(
    readonly duplicates: DuplicatePolicy = 'drop',
    withRatings = false,
  ) {
    this.ratings = withRatings ? [] : null;
    this.seen = duplicates === 'keep' ? null : new Map();
  }

  get size(): number {
    return this.users.length;
  }

  /** Adds one event read from `file` at `line`; returns false when it was dropped as a duplicate. */
  add(user: string, item: string, time: number, rating: number | undefined, file: string, line: number): boolean {
    if (this.seen !== null) {
      const key = `${user}\u0000${item}\u0000${time}`;
      const first = this.seen.get(key);
      if (first !== undefined) {
        if (this.duplicates === 'error') {
          throw new DataFormatError(file, line, `duplicate event (user ${user}, item ${item}, timestamp ${time}) first seen on line ${first}`);
        }
        this.dropped++;
        return false;
      }
      this.seen.set(key, line);
    }
    this.users.push(user);
    this.items.push(item);
    this.times.push(time);
    if (this.ratings !== null) this.ratings.push(rating ?? Number.NaN);
    return true;
  }

  /**
   * Builds the log. `attributes` holds the rows of the attribute file (user -> name -> value);
   * rows of users without events are ignored, users without a row get 'unknown'.
   */
  finish(
    source: string,
    attributeNames: string[],
    attributes: Map<string, Record<string, string>>,
    itemTitles?: Map<string, string>,
  ): InteractionLog {
    const userAttributes = new Map<string, Record<string, string>>();
    let missing = 0;
    for (const u of this.users) {
      if (userAttributes.has(u)) continue;
      const row = attributes.get(u);
      if (row === undefined) missing++;
      const attrs: Record<string, string> = {};
      for (const name of attributeNames) {
        const v = row?.[name];
        attrs[name] = v === undefined || v === '' ? UNKNOWN_ATTRIBUTE : v;
      }
      userAttributes.set(u, attrs);
    }
    let ignored = 0;
    for (const u of attributes.keys()) if (!userAttributes.has(u)) ignored++;
    const log: InteractionLog = {
      source,
      users: this.users,
      items: this.items,
      timestamps: Float64Array.from(this.times),
      attributeNames: [...attributeNames],
      userAttributes,
      stats: {
        events: this.users.length,
        duplicatesDropped: this.dropped,
        attributeRowsIgnored: ignored,
        usersWithoutAttributes: attributeNames.length > 0 ? missing : 0,
      },
    };
    if (this.ratings !== null) log.ratings = Float64Array.from(this.ratings);
    if (itemTitles !== undefined) log.itemTitles = itemTitles;
    return log;
  }
}
