/**
 * Embedding: a (num, dim) table looked up by i32 ids (engine `embedding`: gather forward,
 * deterministic scatter-add backward). Init N(0, 1) as torch.nn.Embedding (option `std`).
 *
 * paddingIdx (as PyTorch's padding_idx): the row starts at zero and receives no gradient from
 * this lookup, so a padding id contributes nothing and the row never moves under Adam/AdamW
 * (zero gradient ⇒ zero moments ⇒ zero update; decay of a zero row is zero). The row's gradient
 * is zeroed by a pass-through node on the table (forward: the same values; backward: the row set
 * to 0), so the looked-up output still equals the table row, exactly as in PyTorch. Other uses
 * of `weight` (e.g. a tied output projection) still send it gradient, as in PyTorch.
 */
import { type Generator, Tensor, embedding, result } from '../engine/index.js';
import { normalParam } from './init.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';

export interface EmbeddingOptions {
  paddingIdx?: number;
  /** init standard deviation (default 1, PyTorch's) */
  std?: number;
  gen?: Generator;
}

/** table unchanged in the forward pass; gradient row `row` dropped in the backward pass */
function stopRowGrad(table: Tensor, row: number): Tensor {
  const D = table.shape[1]!;
  return result(table.data, table.shape, 'paddingRowGrad', [table], (g) => {
    const gx = Float32Array.from(g);
    gx.fill(0, row * D, (row + 1) * D);
    return [gx];
  });
}

export class Embedding extends Module {
  readonly weight: Parameter;
  readonly paddingIdx: number | null;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    for (const [what, n] of [['num', numEmbeddings], ['dim', embeddingDim]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`Embedding: ${what} must be a positive integer, got ${n}`);
    }
    const pad = opts.paddingIdx ?? null;
    if (pad !== null && (!Number.isInteger(pad) || pad < 0 || pad >= numEmbeddings)) {
      throw new Error(`Embedding: paddingIdx ${pad} is out of range [0, ${numEmbeddings})`);
    }
    this.paddingIdx = pad;
    this.weight = this.registerParameter('weight', normalParam([numEmbeddings, embeddingDim], opts.std ?? 1, opts.gen));
    if (pad !== null) this.weight.values.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
  }

  /** ids (...) i32 in [0, num) → (..., dim) */
  forward(ids: Tensor): Tensor {
    const table = this.paddingIdx === null ? this.weight : stopRowGrad(this.weight, this.paddingIdx);
    return embedding(table, ids);
  }
}
