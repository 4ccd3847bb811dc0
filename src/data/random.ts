/**
 * Seeded draws for the data layer (shuffles, choices, masks, negatives, the synthetic generator)
 * on top of the project's one counter-based generator, Philox-4x32-10 (src/engine/philox.ts).
 *
 * A `SeededRandom` is a cursor into one Philox stream: draw i reads uniform element
 * `key.offset + i` (exactly `uniformAt(key, key.offset + i)`), so a sequence of draws depends only
 * on (seed, stream, offset) and can be recomputed anywhere. The Philox block (4 words) is cached so
 * consecutive draws cost one block per four numbers.
 *
 * Work that must not depend on how much randomness earlier work consumed gets its own sub-stream
 * block: `SeededRandom.at(seed, stream, block)` starts at offset `block * 2^32` (e.g. one block per
 * user for negatives, one per epoch for shuffles), so adding users or epochs never shifts others.
 */
import type { RngKey } from '../backend/backend.js';
import { checkKey, philoxBlock, u32ToUniform } from '../engine/philox.js';

/**
 * Philox streams used by the data and evaluation layers. Fixed numbers, so results are stable
 * across versions; the high bytes ('DA'/'E0') keep them away from the small streams the engine
 * uses for initialisation and dropout.
 */
export const STREAMS = {
  shuffle: 0xda7a0001,
  cloze: 0xda7a0002,
  validationUsers: 0xda7a0003,
  synthetic: 0xda7a0004,
  clozeWindows: 0xda7a0005,
  negatives: 0xe0a10001,
} as const;

/** Offset stride of one sub-stream block: 2^32 draws. */
export const BLOCK = 4294967296;

export class SeededRandom {
  private next0: number;
  private cachedIndex = -1;
  private cached: Uint32Array = new Uint32Array(4);

  constructor(readonly key: RngKey) {
    checkKey(key, 'SeededRandom');
    this.next0 = key.offset;
  }

  /** A cursor at the start of sub-stream block `block` (offset block * 2^32) of (seed, stream). */
  static at(seed: number, stream: number, block = 0): SeededRandom {
    return new SeededRandom({ seed, stream, offset: block * BLOCK });
  }

  /** number of draws taken so far */
  get drawn(): number {
    return this.next0 - this.key.offset;
  }

  /** Uniform in [0, 1) with 24 random bits (the next element of the stream). */
  uniform(): number {
    const e = this.next0++;
    const b = Math.floor(e / 4);
    if (b !== this.cachedIndex) {
      this.cached = philoxBlock(this.key.seed, b, this.key.stream, 0);
      this.cachedIndex = b;
    }
    return u32ToUniform(this.cached[e % 4]!);
  }

  /** Uniform in [0, 1) with 48 random bits (two draws), for choices among many items. */
  uniform48(): number {
    const hi = this.uniform();
    const lo = this.uniform();
    return hi + lo / 16777216;
  }

  /** Uniform integer in [0, n). Uses 48 random bits, so the bias is below n / 2^48. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`SeededRandom.int: n must be a positive integer, got ${n}`);
    return Math.min(n - 1, Math.floor(this.uniform48() * n));
  }

  /** Uniform integer in [lo, hi] (both included). */
  intIn(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** true with probability p */
  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Fisher-Yates shuffle in place (Durstenfeld: i from the end, j uniform in [0, i]). */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** Index drawn with probability proportional to weights[i] via a cumulative table (see `cumulative`). */
  weighted(cum: Float64Array): number {
    const total = cum[cum.length - 1]!;
    if (!(total > 0)) throw new RangeError('SeededRandom.weighted: weights must have a positive sum');
    const x = this.uniform48() * total;
    // first index with cum[i] > x
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * Random access to the uniforms of one stream: `get(e)` equals `uniformAt({seed, stream}, e)`, with
 * the last Philox block cached so nearby elements share one block computation.
 */
export class UniformStream {
  private cachedIndex = -1;
  private cached: Uint32Array = new Uint32Array(4);

  constructor(
    readonly seed: number,
    readonly stream: number,
  ) {
    checkKey({ seed, stream, offset: 0 }, 'UniformStream');
  }

  get(e: number): number {
    const b = Math.floor(e / 4);
    if (b !== this.cachedIndex) {
      this.cached = philoxBlock(this.seed, b, this.stream, 0);
      this.cachedIndex = b;
    }
    return u32ToUniform(this.cached[e - 4 * b]!);
  }
}

/** Running sums of non-negative weights, the table `SeededRandom.weighted` reads. */
export function cumulative(weights: ArrayLike<number>): Float64Array {
  const cum = new Float64Array(weights.length);
  let s = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`cumulative: weight ${i} must be finite and >= 0, got ${w}`);
    s += w;
    cum[i] = s;
  }
  return cum;
}
