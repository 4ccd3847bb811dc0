/**
 * What the four recommenders share: the bookkeeping fields of SequentialRecommender, input
 * checks with messages that name the model and the shapes, the padding mask, the learned
 * position rows, scoring against the output table, and option validation.
 *
 * Layout (src/data/batching.ts): item ids (B,L) i32, left-padded with 0, real items 1..numItems,
 * the newest item in the last slot L−1. BERT4Rec's mask token numItems+1 counts as a real
 * position (it is not padding).
 */
import { type Generator, Tensor, linear, slice, uniform } from '../engine/index.js';
import { Module, Parameter, initGen } from '../nn/index.js';
import type { EncodeOptions, ModelName, SequentialRecommender, TargetKind } from './types.js';

const fmt = (s: readonly number[]): string => `(${s.join(',')})`;

/** The fields every model's options share (createModel passes them to each model). */
export interface CommonModelOptions {
  /** real items are 1..numItems (0 is padding) */
  numItems: number;
  /** longest input the model accepts (the number of learned positions for the transformers) */
  maxLen?: number;
  /** D: the width of item embeddings and of the hidden states scored against them */
  hiddenSize?: number;
  /** transformer blocks (SASRec, BERT4Rec) or stacked GRU layers (NARM, GRU4Rec) */
  layers?: number;
  /** attention heads (transformers only; ignored by the RNN models) */
  heads?: number;
  /** the model's main dropout rate (each model documents where it applies) */
  dropout?: number;
  /** generator of the dropout masks (default: the engine's `dropout` stream) */
  dropoutGen?: Generator;
}

/** (B,L) i32 mask: 1 where the id is not padding (0). */
export function paddingMask(items: Tensor): Tensor {
  const v = items.i32('paddingMask');
  return new Tensor(v.map((id) => (id !== 0 ? 1 : 0)), items.shape);
}

/** mask (B,L) i32 → (B,L,1) f32 constant, to zero padded positions of a (B,L,D) stream. */
export function maskColumn(mask: Tensor): Tensor {
  const [B, L] = mask.shape as [number, number];
  return new Tensor(Float32Array.from(mask.i32('maskColumn')), [B, L, 1]);
}

/**
 * Glorot/Xavier uniform U(±sqrt(6/(rows+cols))) for a (rows, cols) table: the initialiser of
 * Kang & McAuley's item and position tables (tf.contrib.layers.xavier_initializer) and of
 * RecBole's GRU4Rec/NARM embeddings (xavier, normal there).
 */
export function xavierUniformParam(rows: number, cols: number, gen?: Generator): Parameter {
  const bound = Math.sqrt(6 / (rows + cols));
  return new Parameter(uniform([rows, cols], -bound, bound, initGen(gen)));
}

/** Throws unless `v` is a positive integer. */
export function positiveInt(model: string, what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${model}: ${what} must be a positive integer, got ${v}`);
  return v;
}

/** Throws unless `p` is a dropout probability in [0, 1). */
export function probability(model: string, what: string, p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`${model}: ${what} must be in [0, 1), got ${p}`);
  return p;
}

/** Throws on option keys a model does not know (a typo must not silently fall back to a default). */
export function checkKnownOptions(model: string, opts: object, known: readonly string[]): void {
  const extra = Object.keys(opts).filter((k) => !known.includes(k) && (opts as Record<string, unknown>)[k] !== undefined);
  if (extra.length) throw new Error(`${model}: unknown option(s) ${extra.join(', ')} (known: ${known.join(', ')})`);
}

/**
 * Base class of the models: fixed sizes, the checks, scores(), forward(). Subclasses register
 * their parameters and implement embed / encode / outputTable.
 */
export abstract class RecommenderBase extends Module implements SequentialRecommender {
  abstract readonly modelName: ModelName;
  abstract readonly targetKind: TargetKind;

  protected constructor(readonly numItems: number, readonly vocabSize: number, readonly maxLen: number,
    readonly hiddenSize: number, readonly maskToken: number | null) {
    super();
  }

  abstract embed(items: Tensor): Tensor;
  abstract encode(z: Tensor, mask: Tensor, o?: EncodeOptions): Tensor;
  abstract outputTable(): Tensor;

  /** no output bias unless a model has one (BERT4Rec) */
  outputBias(): Tensor | null {
    return null;
  }

  /** hidden (N,D) → scores (N, vocabSize) = hidden · outputTable()ᵀ (+ outputBias()) */
  scores(hidden: Tensor): Tensor {
    if (hidden.rank !== 2 || hidden.shape[1] !== this.hiddenSize) {
      throw new Error(`${this.modelName}.scores: hidden is ${fmt(hidden.shape)}, expected (N,${this.hiddenSize})`);
    }
    const s = linear(hidden, this.outputTable());
    const bias = this.outputBias();
    return bias === null ? s : s.add(bias);
  }

  /** The whole model on item ids: encode(embed(items), paddingMask(items)). */
  forward(items: Tensor): Tensor {
    return this.encode(this.embed(items), paddingMask(items));
  }

  /** items must be i32 (B,L) with 1 ≤ L ≤ maxLen and ids in [0, vocabSize). */
  protected checkItems(items: Tensor): void {
    const name = `${this.modelName}.embed`;
    if (items.dtype !== 'i32' || items.rank !== 2) throw new Error(`${name}: items must be i32 (B,L), got ${items.dtype} ${fmt(items.shape)}`);
    const L = items.shape[1]!;
    if (L < 1 || L > this.maxLen) throw new Error(`${name}: items are ${fmt(items.shape)} but the sequence length must be in [1, ${this.maxLen}] (maxLen)`);
    const v = items.i32();
    for (let i = 0; i < v.length; i++) {
      const id = v[i]!;
      if (id < 0 || id >= this.vocabSize) {
        throw new Error(`${name}: items[${i}] = ${id} is out of range [0, ${this.vocabSize}) (numItems ${this.numItems}${this.maskToken !== null ? `, mask token ${this.maskToken}` : ''})`);
      }
    }
  }

  /** z (B,L,D) f32 and mask (B,L) i32 of 0/1 → [B, L]. */
  protected checkEncode(z: Tensor, mask: Tensor): [number, number] {
    const name = `${this.modelName}.encode`;
    if (z.dtype !== 'f32' || z.rank !== 3 || z.shape[2] !== this.hiddenSize) {
      throw new Error(`${name}: z is ${z.dtype} ${fmt(z.shape)}, expected f32 (B,L,${this.hiddenSize})`);
    }
    const [B, L] = z.shape as [number, number, number];
    if (L < 1 || L > this.maxLen) throw new Error(`${name}: z is ${fmt(z.shape)} but the sequence length must be in [1, ${this.maxLen}] (maxLen)`);
    if (mask.dtype !== 'i32' || mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== L) {
      throw new Error(`${name}: mask must be i32 (${B},${L}) to match z ${fmt(z.shape)}, got ${mask.dtype} ${fmt(mask.shape)}`);
    }
    const m = mask.i32();
    for (let i = 0; i < m.length; i++) {
      if (m[i] !== 0 && m[i] !== 1) throw new Error(`${name}: mask[${i}] = ${m[i]}, expected 0 or 1`);
    }
    return [B, L];
  }
}

/**
 * The position rows of an input of length L ≤ maxLen: the last L rows of a (maxLen, D) table,
 * so the newest item (slot L−1) always reads row maxLen−1 whatever L is (absolute positions
 * counted from the newest item, matching left padding).
 */
export function positionRows(table: Tensor, L: number): Tensor {
  const maxLen = table.shape[0]!;
  return slice(table, 0, maxLen - L, maxLen);
}
