/**
 * Named user groupings for evaluation tables, from short specs (the `--groups` flag):
 *
 *   <attribute>              a user attribute of the data set: gender, age, occupation (MovieLens),
 *                            group (the synthetic data's planted majority/minority)
 *   popularity[:<shares>]    niche / diverse / popular by the share of popular items in the user's
 *                            training history (ECIR 2025; src/data/groups.ts)
 *   length[:<shares>]        short / medium / long by training sequence length
 *
 * <shares> gives the group sizes in percent, low to high: `20/60/20`, `20-60-20`, or the ECIR
 * write-up's shorthand of the first two shares `2060` (= 20/60/20), `1080`, `3333`. Default:
 * thirds. The three shares must sum to 100. Labels keep the data layer's names.
 */
import type { Dataset } from '../data/preprocess.js';
import { attributeGroups, popularityGroups, sequenceLengthGroups } from '../data/groups.js';

export interface Grouping {
  /** the spec as given, used as the grouping's name in results */
  name: string;
  /** per user index: group label */
  labels: string[];
}

/** Parses `<shares>` into quantile cuts, e.g. '2060' → [0.2, 0.8]. */
export function parseShares(spec: string, what: string): number[] {
  let shares: number[];
  if (/^\d{4}$/.test(spec)) {
    const a = Number(spec.slice(0, 2)), b = Number(spec.slice(2));
    shares = [a, b, 100 - a - b];
  } else if (/^\d+(\.\d+)?([/-]\d+(\.\d+)?){2}$/.test(spec)) {
    shares = spec.split(/[/-]/).map(Number);
  } else {
    throw new RangeError(`${what}: group shares '${spec}' must look like 20/60/20, 20-60-20 or 2060`);
  }
  // 33/33/33 (or 3333) means thirds
  if (shares.every((s) => Math.abs(s - 100 / 3) < 1)) return [1 / 3, 2 / 3];
  const sum = shares.reduce((p, q) => p + q, 0);
  if (shares.some((s) => !(s > 0)) || Math.abs(sum - 100) > 1e-9) {
    throw new RangeError(`${what}: group shares ${shares.join('/')} must be positive and sum to 100`);
  }
  return [shares[0]! / 100, (shares[0]! + shares[1]!) / 100];
}

/** Resolves one grouping spec on a data set (see the file comment). */
export function resolveGrouping(ds: Dataset, spec: string): Grouping {
  const [kind, shares] = spec.split(':', 2) as [string, string | undefined];
  if (kind === 'popularity' || kind === 'length') {
    const cuts = shares === undefined ? [1 / 3, 2 / 3] : parseShares(shares, `grouping '${spec}'`);
    const labels = kind === 'popularity' ? popularityGroups(ds, cuts) : sequenceLengthGroups(ds, cuts);
    return { name: spec, labels };
  }
  if (shares !== undefined) throw new RangeError(`grouping '${spec}': only popularity and length take shares`);
  if (!ds.attributeNames.includes(kind)) {
    const have = [...ds.attributeNames, 'popularity', 'length'];
    throw new RangeError(`unknown grouping '${spec}': ${ds.name} has ${have.map((a) => `'${a}'`).join(', ')}`);
  }
  return { name: spec, labels: attributeGroups(ds, kind) };
}

/** Resolves several specs (names must be distinct). */
export function resolveGroupings(ds: Dataset, specs: readonly string[]): Grouping[] {
  const seen = new Set<string>();
  return specs.map((s) => {
    if (seen.has(s)) throw new RangeError(`grouping '${s}' is listed twice`);
    seen.add(s);
    return resolveGrouping(ds, s);
  });
}
