/**
 * A-FSR part (b): the item neighbourhoods of Dirichlet Neighbour Smoothing (SIGIR 2024, Eq. 6 and
 * Def. 4.1). For every item i of 1..N:
 *
 *   N¹(i) = the k items j ≠ i with the largest CosSim(f_e(i), f_e(j))    (cosineTopk op)
 *   N(i)  = N¹(i) ∪ ⋃_{j ∈ N¹(i)} N¹(j)  minus i itself                 (twoHop op)
 *
 * over the item embeddings f_e of the real items only (rows 1..N: the padding row and BERT4Rec's
 * mask token are never neighbours). f_e is read through model.embed(), in chunks of maxLen ids,
 * so the table is whatever the model's f_e is (for the four backbones: the raw item_emb rows),
 * without assuming that the output table is tied to it.
 *
 * k default 6: the paper's "top-6 closest neighbors" (Sec. 5.1). The table is a function of the
 * weights at the step it was built; `AfsrObjective` rebuilds it on a schedule (afsr.ts). Its state
 * (the 1-hop table and the step it was built at) is checkpointed: the 2-hop sets are rebuilt from
 * it exactly (twoHop is deterministic), so a resumed run smooths with the very same neighbours.
 */
import { Tensor, cosineTopk, noGrad, twoHop } from '../engine/index.js';
import type { SequentialRecommender } from '../models/types.js';
import { stateNumbers } from './common.js';

/**
 * f_e(ids) as (n, D) through model.embed, on the tape (ids in [0, vocabSize)). Ids are laid out as
 * rows of model.maxLen (the most embed accepts), padded with 0, and the padding rows cut off.
 */
export function embedItems(model: SequentialRecommender, ids: Int32Array): Tensor {
  const n = ids.length;
  if (n === 0) throw new Error('embedItems: no ids given');
  const W = model.maxLen;
  const R = Math.ceil(n / W);
  const laid = new Int32Array(R * W);
  laid.set(ids);
  const z = model.embed(new Tensor(laid, [R, W]));
  const D = z.shape[2]!;
  const flat = z.reshape([R * W, D]);
  return R * W === n ? flat : flat.slice(0, 0, n);
}

/** f_e of items 1..N as a constant (N, D) table (row r = item r + 1). */
export function itemEmbeddings(model: SequentialRecommender): Tensor {
  return noGrad(() => {
    const ids = Int32Array.from({ length: model.numItems }, (_, i) => i + 1);
    return embedItems(model, ids).detach();
  });
}

export interface NeighbourTableState {
  k: number;
  numItems: number;
  refreshedAt: number;
  /** (N·k) 1-hop table as table rows (item id − 1) */
  indices: number[];
}

/** 1-hop and 2-hop neighbourhoods of items 1..N (see the file comment). */
export class NeighbourTable {
  /** (N·K) 2-hop item ids (1-based), ascending, −1 padded; K = k + k² */
  readonly neighbourIds: Int32Array;
  /** (N) size of each 2-hop set */
  readonly counts: Int32Array;
  readonly width: number;

  /** indices (N·k): the 1-hop table as rows 0..N−1 (item id − 1). */
  constructor(readonly k: number, readonly numItems: number, readonly indices: Int32Array, readonly refreshedAt: number) {
    if (!(Number.isInteger(k) && k >= 1)) throw new Error(`NeighbourTable: k must be a positive integer, got ${k}`);
    if (numItems < k + 1) throw new Error(`afsr: ${k} neighbours per item need at least ${k + 1} items, the model has ${numItems}`);
    if (indices.length !== numItems * k) throw new Error(`NeighbourTable: ${indices.length} indices for ${numItems} items × k = ${k}`);
    const th = twoHop(new Tensor(indices, [numItems, k]));
    this.width = k + k * k;
    const rows = th.twoHop.i32();
    this.neighbourIds = Int32Array.from(rows, (r) => (r < 0 ? -1 : r + 1));
    this.counts = Int32Array.from(th.count.i32());
  }

  /** Builds the table from the model's current item embeddings. */
  static build(model: SequentialRecommender, k: number, step: number): NeighbourTable {
    const N = model.numItems;
    if (N < k + 1) throw new Error(`afsr: ${k} neighbours per item need at least ${k + 1} items, the model has ${N}`);
    const x = itemEmbeddings(model);
    const { indices } = cosineTopk(x, k);
    return new NeighbourTable(k, N, Int32Array.from(indices.i32()), step);
  }

  /** The 2-hop neighbourhood of item `item` (1-based ids, ascending). */
  neighbours(item: number): number[] {
    if (!(Number.isInteger(item) && item >= 1 && item <= this.numItems)) {
      throw new Error(`NeighbourTable: item ${item} is outside 1..${this.numItems}`);
    }
    const r = item - 1;
    return Array.from(this.neighbourIds.subarray(r * this.width, r * this.width + this.counts[r]!));
  }

  toState(): NeighbourTableState {
    return { k: this.k, numItems: this.numItems, refreshedAt: this.refreshedAt, indices: Array.from(this.indices) };
  }

  static fromState(state: Record<string, unknown>, k: number, numItems: number, name = 'afsr'): NeighbourTable {
    if (state.k !== k || state.numItems !== numItems) {
      throw new Error(`${name}.loadStateDict: the neighbour table was built with k = ${String(state.k)} over ${String(state.numItems)} items, this run has k = ${k} over ${numItems}`);
    }
    const at = state.refreshedAt;
    if (!(typeof at === 'number' && Number.isInteger(at) && at >= 0)) throw new Error(`${name}.loadStateDict: neighbour table refreshedAt must be a step >= 0, got ${String(at)}`);
    const idx = stateNumbers(name, state, 'indices', numItems * k);
    if (idx.some((v) => !Number.isInteger(v) || v < 0 || v >= numItems)) throw new Error(`${name}.loadStateDict: neighbour indices must be integers in [0, ${numItems})`);
    return new NeighbourTable(k, numItems, Int32Array.from(idx), at);
  }
}
