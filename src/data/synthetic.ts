/**
 * Synthetic sequential data with a known, planted group bias, for testing fairness methods where
 * the truth is known. Deterministic from `seed` (all draws from Philox stream STREAMS.synthetic,
 * one sub-stream block per user, so user u's sequence does not depend on the other users).
 *
 * Generative story
 * ----------------
 * Users. A share `minorityShare` (default 0.2, exact count round(share * numUsers), members chosen by
 * a seeded permutation) belongs to the hidden group 'minority', the rest to 'majority'. The group
 * is exposed as user attribute `group` (training must not read it; evaluation groups by it).
 *
 * Items. Three kinds, by id: ids 1..S are *stereotypical* items (S = stereotypeShare * numItems);
 * the rest is split into a majority pool and a minority pool (`minorityItemShare` of it), each cut
 * into *chains* of about `chainLength` items. A chain is an ordered list (think of a series, a
 * genre walk, an album): consecutive chain items are what the sequential model can learn.
 * Popularity is Zipf-like twice over: chains of a group are ranked and chosen with weight
 * 1/(rank+1)^zipf, and a walk enters a chain at position p with weight 1/(p+1)^zipf, so chain heads
 * of popular chains are the head of the long tail and late items of niche chains its tail.
 *
 * Walks. Each user draws a length, log-uniform in [minLen, maxLen] (many short, few long users,
 * same distribution in both groups, so length does not confound the group). The user has
 * `preferredChains` favourite chains of their own group. A walk starts by *jumping*: to a chain of
 * the other group with probability `crossGroupProb`, else to a favourite chain with probability
 * `favouriteProb`, else to any own-group chain (Zipf), entering at a Zipf position. At each later
 * step the user either
 *   - consumes a stereotypical item (probability pStereo[group], item by Zipf over the S items), or
 *   - advances along the current chain: one item (stepProbs[0]), two items (stepProbs[1]), or
 *     jumps (the rest, and whenever the chain ends).
 * After a stereotypical item s the groups part ways; this is the planted bias:
 *   - majority users continue with s's *follow-up*: the head of a fixed majority chain assigned to
 *     s (with probability `followUpProb`; else they resume their chain);
 *   - minority users resume the chain they were on (the item after the one before s).
 * Stereotypical items are consumed by both groups but mostly by the majority (it is 4x larger),
 * so a model that learns "after s comes follow-up(s)" from the majority is misled for minority
 * users, whose correct next item is only predictable from the context before s. Minority items are
 * also sparser (fewer users per item), the other usual source of worse minority performance. No
 * user consumes an item twice (as in MovieLens): a repeat is skipped along the chain, or replaced
 * by a jump, or (after `maxRetries`) by an unseen item of the user's own pool.
 *
 * Expected outcome (checked once models exist): naive training gives the minority clearly lower
 * Recall/NDCG than the majority. A last-item (Markov) model shows the gap already; see
 * test/data/synthetic.test.ts.
 *
 * Timestamps are integer seconds, strictly increasing per user, so chronological order is the
 * generation order.
 */
import { SeededRandom, STREAMS, cumulative } from './random.js';
import { LogBuilder, type InteractionLog } from './types.js';

export type Group = 'majority' | 'minority';
export type ItemKind = 'stereotype' | 'majority' | 'minority';

export interface SyntheticOptions {
  seed?: number;
  numUsers?: number;
  numItems?: number;
  /** share of users in the minority group (default 0.2) */
  minorityShare?: number;
  /** share of items that are stereotypical (default 0.05) */
  stereotypeShare?: number;
  /** share of the non-stereotypical items in minority chains (default 0.35) */
  minorityItemShare?: number;
  /** target chain length (default 25) */
  chainLength?: number;
  /** sequence length bounds, log-uniform (default 10..80) */
  minLen?: number;
  maxLen?: number;
  /** probability that a step is a stereotypical item, per group (default 0.2 for both: the irreducible part is equal, the gap comes from how a model learns) */
  pStereo?: { majority: number; minority: number };
  /** probability that a majority user follows s's follow-up after s (default 0.85) */
  followUpProb?: number;
  /** probabilities of advancing one and two chain items; the rest jumps (default [0.75, 0.15]) */
  stepProbs?: [number, number];
  /** jump to a chain of the other group (default 0.08) */
  crossGroupProb?: number;
  /** jump to one of the user's favourite chains (default 0.6) */
  favouriteProb?: number;
  /** number of favourite chains per user (default 3) */
  preferredChains?: number;
  /** Zipf exponent of chain and entry-position popularity (default 1) */
  zipf?: number;
  /** first timestamp (default 1_600_000_000) */
  startTime?: number;
  maxRetries?: number;
}

export type ResolvedSyntheticOptions = Required<SyntheticOptions>;

export const SYNTHETIC_DEFAULTS: ResolvedSyntheticOptions = {
  seed: 0,
  numUsers: 1000,
  numItems: 1000,
  minorityShare: 0.2,
  stereotypeShare: 0.05,
  minorityItemShare: 0.35,
  chainLength: 25,
  minLen: 10,
  maxLen: 80,
  pStereo: { majority: 0.2, minority: 0.2 },
  followUpProb: 0.85,
  stepProbs: [0.75, 0.15],
  crossGroupProb: 0.08,
  favouriteProb: 0.6,
  preferredChains: 3,
  zipf: 1,
  startTime: 1_600_000_000,
  maxRetries: 20,
};

/** What the generator planted, for tests and analyses (never for training). */
export interface SyntheticTruth {
  options: ResolvedSyntheticOptions;
  /** per raw user id */
  userGroup: Map<string, Group>;
  /** per item id 1..numItems (index 0 unused) */
  itemKind: ItemKind[];
  /** per item id: chain index (-1 for stereotypical items) */
  itemChain: Int32Array;
  /** chains as lists of item ids; chainGroup[c] says whose they are */
  chains: Int32Array[];
  chainGroup: Group[];
  /** per item id: the majority follow-up of a stereotypical item (0 for other items) */
  followUp: Int32Array;
}

export interface SyntheticData {
  log: InteractionLog;
  truth: SyntheticTruth;
}

function resolve(opts: SyntheticOptions): ResolvedSyntheticOptions {
  const o: ResolvedSyntheticOptions = { ...SYNTHETIC_DEFAULTS, ...opts };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new RangeError(`generateSynthetic: ${what}`);
  };
  check(Number.isInteger(o.numUsers) && o.numUsers >= 2, `numUsers must be an integer >= 2, got ${o.numUsers}`);
  check(Number.isInteger(o.minLen) && o.minLen >= 3, `minLen must be an integer >= 3, got ${o.minLen}`);
  check(Number.isInteger(o.maxLen) && o.maxLen >= o.minLen, `maxLen must be an integer >= minLen, got ${o.maxLen}`);
  check(Number.isInteger(o.numItems) && o.numItems >= 2 * o.maxLen && o.numItems >= 20, `numItems must be an integer >= max(20, 2 * maxLen), got ${o.numItems}`);
  check(o.minorityShare > 0 && o.minorityShare < 1, `minorityShare must be in (0, 1), got ${o.minorityShare}`);
  check(o.stereotypeShare > 0 && o.stereotypeShare < 0.5, `stereotypeShare must be in (0, 0.5), got ${o.stereotypeShare}`);
  check(o.minorityItemShare > 0 && o.minorityItemShare < 1, `minorityItemShare must be in (0, 1), got ${o.minorityItemShare}`);
  check(Number.isInteger(o.chainLength) && o.chainLength >= 2, `chainLength must be an integer >= 2, got ${o.chainLength}`);
  const [s1, s2] = o.stepProbs;
  check(s1 >= 0 && s2 >= 0 && s1 + s2 <= 1, `stepProbs must be non-negative with sum <= 1, got [${s1}, ${s2}]`);
  for (const g of ['majority', 'minority'] as const) check(o.pStereo[g] >= 0 && o.pStereo[g] < 1, `pStereo.${g} must be in [0, 1), got ${o.pStereo[g]}`);
  for (const k of ['followUpProb', 'crossGroupProb', 'favouriteProb'] as const) check(o[k] >= 0 && o[k] <= 1, `${k} must be in [0, 1], got ${o[k]}`);
  check(Number.isInteger(o.preferredChains) && o.preferredChains >= 1, `preferredChains must be a positive integer, got ${o.preferredChains}`);
  check(o.zipf >= 0, `zipf must be >= 0, got ${o.zipf}`);
  return o;
}

function zipfWeights(n: number, a: number): Float64Array {
  const w = new Float64Array(n);
  for (let r = 0; r < n; r++) w[r] = 1 / Math.pow(r + 1, a);
  return w;
}

/** Splits ids [first, first + count) into about count / len chains of near-equal length. */
function cutChains(first: number, count: number, len: number): Int32Array[] {
  const k = Math.max(1, Math.round(count / len));
  const out: Int32Array[] = [];
  let start = first;
  for (let c = 0; c < k; c++) {
    const size = Math.floor(count / k) + (c < count % k ? 1 : 0);
    const chain = new Int32Array(size);
    for (let i = 0; i < size; i++) chain[i] = start + i;
    out.push(chain);
    start += size;
  }
  return out;
}

/** Generates the synthetic log and the planted truth. */
export function generateSynthetic(options: SyntheticOptions = {}): SyntheticData {
  const o = resolve(options);
  const N = o.numItems;
  const S = Math.max(1, Math.round(o.stereotypeShare * N));
  const rest = N - S;
  const nMin = Math.max(o.chainLength, Math.round(o.minorityItemShare * rest));
  const nMaj = rest - nMin;
  const majChains = cutChains(S + 1, nMaj, o.chainLength);
  const minChains = cutChains(S + 1 + nMaj, nMin, o.chainLength);
  const chains = [...majChains, ...minChains];
  const chainGroup: Group[] = chains.map((_, c) => (c < majChains.length ? 'majority' : 'minority'));
  const itemKind: ItemKind[] = new Array(N + 1);
  const itemChain = new Int32Array(N + 1).fill(-1);
  for (let i = 1; i <= S; i++) itemKind[i] = 'stereotype';
  chains.forEach((ch, c) => ch.forEach((it) => ((itemKind[it] = chainGroup[c]!), (itemChain[it] = c))));
  const chainsOf: Record<Group, number[]> = { majority: [], minority: [] };
  chains.forEach((_, c) => chainsOf[chainGroup[c]!].push(c));
  // Follow-up of stereotypical item s: the head of majority chain (s - 1) mod #majority chains.
  const followUp = new Int32Array(N + 1);
  for (let s = 1; s <= S; s++) followUp[s] = majChains[(s - 1) % majChains.length]![0]!;

  const chainCum: Record<Group, Float64Array> = {
    majority: cumulative(zipfWeights(chainsOf.majority.length, o.zipf)),
    minority: cumulative(zipfWeights(chainsOf.minority.length, o.zipf)),
  };
  const entryCum = cumulative(zipfWeights(Math.max(...chains.map((c) => c.length)), o.zipf));
  const stereoCum = cumulative(zipfWeights(S, o.zipf));
  const pool: Record<Group, Int32Array> = {
    majority: Int32Array.from({ length: nMaj }, (_, i) => S + 1 + i),
    minority: Int32Array.from({ length: nMin }, (_, i) => S + 1 + nMaj + i),
  };

  const numMinority = Math.round(o.minorityShare * o.numUsers);
  const perm = SeededRandom.at(o.seed, STREAMS.synthetic, 0).permutation(o.numUsers);
  const isMinority = new Uint8Array(o.numUsers);
  for (let i = 0; i < numMinority; i++) isMinority[perm[i]!] = 1;

  const width = String(o.numUsers - 1).length;
  const builder = new LogBuilder('keep');
  const userGroup = new Map<string, Group>();
  const attrs = new Map<string, Record<string, string>>();

  for (let u = 0; u < o.numUsers; u++) {
    const rng = SeededRandom.at(o.seed, STREAMS.synthetic, u + 1);
    const g: Group = isMinority[u] ? 'minority' : 'majority';
    const other: Group = g === 'majority' ? 'minority' : 'majority';
    const id = `u${String(u).padStart(width, '0')}`;
    userGroup.set(id, g);
    attrs.set(id, { group: g });

    // favourite chains: Zipf draws without replacement among own-group chains
    const own = chainsOf[g];
    const favourites: number[] = [];
    const wanted = Math.min(o.preferredChains, own.length);
    for (let t = 0; favourites.length < wanted && t < 100 * wanted; t++) {
      const c = own[rng.weighted(chainCum[g])]!;
      if (!favourites.includes(c)) favourites.push(c);
    }

    const len = Math.min(o.maxLen, Math.floor(Math.exp(Math.log(o.minLen) + rng.uniform() * (Math.log(o.maxLen + 1) - Math.log(o.minLen)))));
    const seen = new Set<number>();
    const seq: number[] = [];
    let chain = -1;
    let pos = -1;

    /** first unseen item of `c` at or after position p; sets chain/pos; false when none */
    const walkTo = (c: number, p: number): boolean => {
      const ch = chains[c]!;
      for (let q = p; q < ch.length; q++) {
        if (!seen.has(ch[q]!)) {
          chain = c;
          pos = q;
          return true;
        }
      }
      return false;
    };
    const jump = (): void => {
      for (let t = 0; t < o.maxRetries; t++) {
        let c: number;
        const r = rng.uniform();
        if (r < o.crossGroupProb) c = chainsOf[other][rng.weighted(chainCum[other])]!;
        else if (r < o.crossGroupProb + (1 - o.crossGroupProb) * o.favouriteProb) c = favourites[rng.int(favourites.length)]!;
        else c = own[rng.weighted(chainCum[g])]!;
        const p = Math.min(rng.weighted(entryCum), chains[c]!.length - 1);
        if (walkTo(c, p)) return;
      }
      // fallback: any unseen item of the own pool (exists: numItems >= 2 * maxLen keeps pools large)
      const p = pool[g];
      for (let t = 0; t < 4 * p.length; t++) {
        const it = p[rng.int(p.length)]!;
        if (!seen.has(it)) {
          chain = itemChain[it]!;
          pos = chains[chain]!.indexOf(it);
          return;
        }
      }
      for (let it = 1; it <= N; it++) {
        if (!seen.has(it) && itemChain[it]! >= 0) {
          chain = itemChain[it]!;
          pos = chains[chain]!.indexOf(it);
          return;
        }
      }
      throw new Error('generateSynthetic: no unseen item left (numItems too small)');
    };
    const emit = (it: number): void => {
      seen.add(it);
      seq.push(it);
    };
    const stereotype = (): number => {
      for (let t = 0; t < o.maxRetries; t++) {
        const s = rng.weighted(stereoCum) + 1;
        if (!seen.has(s)) return s;
      }
      return 0;
    };

    jump();
    emit(chains[chain]![pos]!);
    while (seq.length < len) {
      if (rng.uniform() < o.pStereo[g]) {
        const s = stereotype();
        if (s > 0) {
          emit(s);
          if (seq.length >= len) break;
          // the planted divergence: majority follows s's follow-up, minority resumes its chain
          if (g === 'majority' && rng.uniform() < o.followUpProb) {
            const f = followUp[s]!;
            if (walkTo(itemChain[f]!, 0)) {
              emit(chains[chain]![pos]!);
              continue;
            }
          }
          if (!walkTo(chain, pos + 1)) jump();
          emit(chains[chain]![pos]!);
          continue;
        }
      }
      const r = rng.uniform();
      const step = r < o.stepProbs[0] ? 1 : r < o.stepProbs[0] + o.stepProbs[1] ? 2 : 0;
      if (step === 0 || !walkTo(chain, pos + step)) jump();
      emit(chains[chain]![pos]!);
    }

    let t = o.startTime + Math.floor(rng.uniform() * 30 * 86400);
    for (const it of seq) {
      builder.add(id, String(it), t, undefined, 'synthetic', 0);
      t += 60 + Math.floor(rng.uniform() * 3 * 86400);
    }
  }

  const source = `synthetic(seed=${o.seed}, users=${o.numUsers}, items=${N}, minorityShare=${o.minorityShare})`;
  const log = builder.finish(source, ['group'], attrs);
  return { log, truth: { options: o, userGroup, itemKind, itemChain, chains, chainGroup, followUp } };
}
