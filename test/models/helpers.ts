/**
 * Shared pieces of the model tests: a tiny data set in the batch layouts of src/data/batching.ts,
 * tiny model configurations, the cpu backend (or why it is missing), and comparisons.
 */
import { expect } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { loadCpuBackend } from '../../src/backend/index.js';
import { clozeBatch, nextItemBatch } from '../../src/data/batching.js';
import { SeededRandom } from '../../src/data/random.js';
import { Generator, Streams, Tensor } from '../../src/engine/index.js';
import { type ModelName, type ModelOptions, type RecommenderBase, type SequentialRecommender, createModel } from '../../src/models/index.js';

export const NUM_ITEMS = 20;
export const NUM_SEQ = 16;
export const L = 8;
export const D = 16;

let cpu: Backend | null = null;
let cpuError = '';
try {
  cpu = loadCpuBackend();
} catch (e) {
  cpuError = (e as Error).message;
}
/** the native cpu backend, or null when the addon does not load */
export const cpuOrNull = cpu;
/** appended to a suite title when the cpu suites are skipped */
export const cpuSkipNote = cpu ? '' : ` (SKIPPED: cpu addon did not load: ${cpuError})`;

/** Tiny options of each model (dropout 0 unless given). */
export function tinyOptions(name: ModelName, extra: Partial<ModelOptions> = {}): ModelOptions {
  // two layers exercise the block / GRU stacks; heads is ignored by the RNNs
  const base = { numItems: NUM_ITEMS, maxLen: L, hiddenSize: D, layers: 2, heads: 2, dropout: 0 };
  // NARM's second dropout (before the decoder) has its own rate: tie it to `dropout` here
  const narm = name === 'narm' ? { outputDropout: extra.dropout ?? 0 } : {};
  return { ...base, ...narm, ...extra } as ModelOptions;
}

export function tinyModel(name: ModelName, seed = 1, extra: Partial<ModelOptions> = {}): RecommenderBase {
  return createModel(name, tinyOptions(name, extra), new Generator(seed, Streams.init));
}

/**
 * NUM_SEQ sequences of L+1 items over 1..NUM_ITEMS with real lengths 3..L+1, each starting with
 * a different item, so every prefix determines its next item (a model that sees the whole
 * prefix can drive the loss to 0, whatever it does with padding). Seeded, fixed.
 */
export function tinySequences(seed = 11): Int32Array[] {
  const r = SeededRandom.at(seed, 0xda7a0099);
  const firsts = r.permutation(NUM_ITEMS);
  return Array.from({ length: NUM_SEQ }, (_, n) => {
    const len = 3 + (n % (L - 1)); // 3..L+1
    const s = new Int32Array(len);
    s[0] = firsts[n]! + 1;
    for (let t = 1; t < len; t++) s[t] = 1 + Math.floor(r.uniform() * NUM_ITEMS);
    return s;
  });
}

/**
 * The training batch a model learns from, for the tiny sequences: next items at every position
 * ('next', and 'last' models, which learn every prefix in one pass) or cloze masks.
 */
export function tinyBatch(model: SequentialRecommender, seed = 11): { ids: Tensor; targets: Tensor } {
  const rows = tinySequences(seed);
  const users = Int32Array.from(rows, (_, i) => i);
  const b = model.targetKind === 'cloze' ? clozeBatch(rows, users, L, { maskProb: 0.3, maskToken: model.maskToken!, seed, epoch: 0 })
    : nextItemBatch(rows, users, L);
  return { ids: new Tensor(b.inputs, [b.B, L]), targets: new Tensor(b.targets, [b.B, L]) };
}

/** ‖a − b‖₂ ≤ rtol·‖b‖₂ + atol, reporting the worst element. */
export function expectNormClose(what: string, a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol = 0): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  let diff = 0, ref = 0, worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    diff += d * d;
    ref += b[i]! * b[i]!;
    if (!(Math.abs(d) <= worst)) { worst = Math.abs(d); at = i; }
  }
  const bound = rtol * Math.sqrt(ref) + atol;
  expect(Math.sqrt(diff), `${what}: ‖diff‖ ${Math.sqrt(diff).toExponential(2)} > ${bound.toExponential(2)} (‖ref‖ ${Math.sqrt(ref).toExponential(2)}; worst [${at}]: ${a[at]} vs ${b[at]})`)
    .toBeLessThanOrEqual(bound);
}

/** max |a − b| elementwise */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
