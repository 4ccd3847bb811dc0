/**
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): the one
 * counter-based generator behind every random number in seqfair. The C++/CUDA twin is
 * native/include/seqfair/philox.h; both must produce bit-identical words.
 *
 * Layout of the counter space (key = [seed lo32, seed hi32]):
 *   uniform element e  : counter (floor(e/4) lo, hi, stream, 0), word e % 4
 *   normal element e   : counter (e lo, e hi, stream, 1), Box-Muller on words 0 and 1
 *   gamma draw d       : counter (d lo, d hi, stream, 2 + attempt); words 0,1 -> normal,
 *                        word 2 -> acceptance uniform, word 3 of attempt 0 -> the alpha<1 boost
 *                        (an f32 sampler: logGammaAt)
 * Element indices are absolute (offset + i), so any split of the work over threads or devices
 * draws the same numbers.
 */
import type { RngKey } from '../backend/backend.js';
import { FLT_MIN, f32Cos2pi, f32Log } from './f32math.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** high and low 32 bits of the 64-bit product a*b of two u32 */
function mulhilo(a: number, b: number): [number, number] {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lolo = aLo * bLo;
  const lohi = aLo * bHi;
  const hilo = aHi * bLo;
  const hihi = aHi * bHi;
  const mid = (lolo >>> 16) + (lohi & 0xffff) + (hilo & 0xffff);
  const lo = ((mid & 0xffff) << 16) | (lolo & 0xffff);
  const hi = hihi + (lohi >>> 16) + (hilo >>> 16) + (mid >>> 16);
  return [hi >>> 0, lo >>> 0];
}

/** The 4 output words of Philox-4x32-10 for counter c and key (k0, k1). */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): Uint32Array {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, x2 = c2 >>> 0, x3 = c3 >>> 0;
  let key0 = k0 >>> 0, key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(M0, x0);
    const [hi1, lo1] = mulhilo(M1, x2);
    const n0 = (hi1 ^ x1 ^ key0) >>> 0;
    const n2 = (hi0 ^ x3 ^ key1) >>> 0;
    x0 = n0; x1 = lo1; x2 = n2; x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  return Uint32Array.of(x0, x1, x2, x3);
}

const TWO32 = 4294967296;

export function splitU53(x: number, what = 'philox: value'): [number, number] {
  if (!Number.isInteger(x) || x < 0 || x > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${what} must be an integer in [0, 2^53), got ${x}`);
  }
  return [x % TWO32, Math.floor(x / TWO32)];
}

export function checkKey(key: RngKey, what: string): void {
  splitU53(key.seed, `${what}: rng seed`);
  splitU53(key.offset, `${what}: rng offset`);
  if (!Number.isInteger(key.stream) || key.stream < 0 || key.stream >= TWO32) {
    throw new RangeError(`${what}: rng stream must be an integer in [0, 2^32), got ${key.stream}`);
  }
}

/** u32 -> [0,1) with 24 random bits (exact in f32) */
export function u32ToUniform(u: number): number {
  return (u >>> 8) * (1 / 16777216);
}

/** u32 -> (0,1], safe for log */
export function u32ToUniformOpen0(u: number): number {
  return ((u >>> 8) + 1) * (1 / 16777216);
}

/** Box-Muller in double precision; the caller rounds to f32. */
export function boxMuller(w0: number, w1: number): number {
  const u1 = u32ToUniformOpen0(w0);
  const u2 = u32ToUniform(w1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** The Philox block of counter (index, stream, tag) under `seed`. */
export function philoxBlock(seed: number, index: number, stream: number, tag: number): Uint32Array {
  const [k0, k1] = splitU53(seed);
  const [c0, c1] = splitU53(index);
  return philox4x32(c0, c1, stream, tag, k0, k1);
}

/** Uniform element e of a stream. */
export function uniformAt(key: RngKey, e: number): number {
  const block = philoxBlock(key.seed, Math.floor(e / 4), key.stream, 0);
  return u32ToUniform(block[e % 4]!);
}

/** Standard normal element e of a stream (double; round to f32 when storing). */
export function normalAt(key: RngKey, e: number): number {
  const block = philoxBlock(key.seed, e, key.stream, 1);
  return boxMuller(block[0]!, block[1]!);
}

/** Per-alpha constants of the Gamma sampler, rounded to f32 once from double (seqfair/dirichlet.h). */
export interface GammaParams {
  d: number;
  c: number;
  logD: number;
  invAlpha: number;
  boost: boolean;
}

export function gammaParams(alpha: number): GammaParams {
  const a = alpha < 1 ? alpha + 1 : alpha;
  const d = a - 1 / 3;
  const df = Math.fround(d);
  return { d: df, c: Math.fround(1 / Math.sqrt(9 * d)), logD: f32Log(df), invAlpha: Math.fround(1 / alpha), boost: alpha < 1 };
}

const f = Math.fround;
/** 24 random bits -> (0,1] and [0,1), exact in f32 */
const u24Open0 = (w: number): number => ((w >>> 8) + 1) / 16777216;
const u24 = (w: number): number => (w >>> 8) / 16777216;

/**
 * log of one Gamma(alpha, 1) draw, number d of the stream: Marsaglia & Tsang (2000) in f32 with the
 * portable log/exp/cos of f32math.ts, bit-identical to gamma_log_draw in seqfair/dirichlet.h (whose
 * header gives the formulas). Attempt a uses the block (d, stream, tag 2 + a); for alpha < 1 the
 * draw is Gamma(alpha + 1)·U^(1/alpha), U from word 3 of attempt 0, added in log space.
 */
export function logGammaAt(key: RngKey, d: number, g: GammaParams): number {
  let boost = 0;
  for (let attempt = 0; ; attempt++) {
    const w = philoxBlock(key.seed, d, key.stream, 2 + attempt);
    if (attempt === 0) boost = g.boost ? f(f32Log(u24Open0(w[3]!)) * g.invAlpha) : 0;
    const x = f(f(Math.sqrt(f(-2 * f32Log(u24Open0(w[0]!))))) * f32Cos2pi(u24(w[1]!)));
    const t = f(1 + f(g.c * x));
    if (!(t > 0)) continue;
    const v = f(f(t * t) * t);
    if (!(v >= FLT_MIN)) continue;
    const lv = f32Log(v);
    const rhs = f(f(f(f(0.5 * x) * x) + f(g.d * f(1 - v))) + f(g.d * lv));
    if (!(f32Log(u24Open0(w[2]!)) < rhs)) continue;
    return f(f(g.logD + lv) + boost);
  }
}
