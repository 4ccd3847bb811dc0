/**
 * Deterministic benchmark inputs. Every case draws its inputs here once, before any timing, and
 * hands the very same arrays to seqfair and (copied into tensors) to the TensorFlow.js peers, so
 * all implementations work on identical data. A small local generator (mulberry32) keeps the
 * inputs independent of the engine under test.
 */

/** A seeded stream of uniforms in [0,1) (mulberry32: tiny, fast, good enough for test data). */
export class Rand {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** n normals with standard deviation `std` (Box-Muller) */
  normal(n: number, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = 1 - this.next(), v = this.next();
      const r = std * Math.sqrt(-2 * Math.log(u));
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }

  /** n integers in [lo, hi) */
  ints(n: number, lo: number, hi: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + Math.floor(this.next() * (hi - lo));
    return out;
  }

  /** `count` distinct integers from [0, n), in random order (partial Fisher-Yates) */
  sample(n: number, count: number): Int32Array {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.next() * (n - i));
      const t = all[i]!; all[i] = all[j]!; all[j] = t;
    }
    return all.slice(0, count);
  }
}

/**
 * A left-padded key mask (B,L) as seqfair's batches have it: row b has a random length in
 * [1, L] and its real positions are the last ones (1 = real item, 0 = padding).
 */
export function leftPaddedMask(rand: Rand, B: number, L: number): Int32Array {
  const mask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const len = 1 + Math.floor(rand.next() * L);
    for (let l = L - len; l < L; l++) mask[b * L + l] = 1;
  }
  return mask;
}
