/**
 * The one interface every sequential recommender implements. It splits the item embedding f_e
 * from the sequence model f_m because A-FSR reads ∂L/∂z at z = f_e(items) and substitutes
 * smoothed embeddings into z before f_m runs (SIGIR paper, Sec. 3).
 */
import type { Tensor } from '../engine/index.js';
import type { Module } from '../nn/index.js';

export type ModelName = 'sasrec' | 'bert4rec' | 'narm' | 'gru4rec';

/**
 * Which training batches a model learns from (src/data/batching.ts):
 * 'next' — next item at every position (SASRec, GRU4Rec); 'cloze' — masked items (BERT4Rec);
 * 'last' — the item after the whole input (NARM), trained on every prefix of the training
 * sequences (src/train/batches.ts): its encode gives the representation of the prefix ending at
 * each position, so one 'next'-style batch trains all of them; a 'last' batch reads the last one.
 */
export type TargetKind = 'next' | 'cloze' | 'last';

/** Hints to encode from its caller. */
export interface EncodeOptions {
  /**
   * the caller reads the last position only (a 'last' batch, evaluation): a model may then
   * return L' = 1 and skip the other positions' work (NARM does); others ignore it
   */
  lastOnly?: boolean;
}

export interface SequentialRecommender extends Module {
  readonly modelName: ModelName;
  /** real items are 1..numItems; 0 is padding */
  readonly numItems: number;
  /** rows of the output table: numItems + 1 (+1 mask token for BERT4Rec) */
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly hiddenSize: number;
  readonly targetKind: TargetKind;
  /** BERT4Rec's mask token id (numItems + 1); null for the others */
  readonly maskToken: number | null;
  /** the trainer's `slidingWindow` when its config gives none (src/data/batching.ts); absent = 0 */
  readonly defaultSlidingWindow?: number;
  /** f_e: item ids (B,L) i32 → z (B,L,D) */
  embed(items: Tensor): Tensor;
  /**
   * f_m: z (B,L,D) and mask (B,L) i32 (1 = real position) → hidden (B,L',D): L' = L, one hidden
   * state per position (for 'last' models: the state of the prefix ending there). A 'last' model
   * may also give L' = 1 (the whole input's state only); it can then learn from 'last' batches only.
   * With `o.lastOnly` any model may give L' = 1.
   */
  encode(z: Tensor, mask: Tensor, o?: EncodeOptions): Tensor;
  /** the (vocabSize, D) table that hidden states are scored against */
  outputTable(): Tensor;
  /** an optional per-item output bias (vocabSize) added to the scores (src/models/output.ts) */
  outputBias?(): Tensor | null;
  /** hidden rows (N,D) → scores (N, vocabSize) */
  scores(hidden: Tensor): Tensor;
}
