/**
 * Shared pieces of the fairness tests:
 *
 *  - PrefixMean: a tiny SequentialRecommender of our own (so the hand-computed tests do not move
 *    when the product backbones change): z = item_emb[ids]; h_t = mean of the real z_j, j ≤ t,
 *    then h_t + tanh(W h_t + b); scores against its own output table. Rows never interact, every
 *    position's gradient depends on the loss, and it has no dropout (deterministic).
 *  - lossContext: an ObjectiveContext whose per-sequence losses are a leaf tensor the test gives,
 *    so an objective's coefficients are read back exactly as that leaf's gradient.
 *  - modelContext: the trainer's own context (makeContext) on a model and a batch.
 */
import { Generator, Streams, Tensor, matmul } from '../../src/engine/index.js';
import { Embedding, Linear, Module, Parameter, normalParam } from '../../src/nn/index.js';
import type { ModelName, SequentialRecommender, TargetKind } from '../../src/models/types.js';
import type { SequenceBatch } from '../../src/data/batching.js';
import { clozeBatch, lastItemBatch, nextItemBatch } from '../../src/data/batching.js';
import type { ObjectiveContext } from '../../src/fairness/objective.js';
import { makeContext } from '../../src/train/context.js';

export interface PrefixMeanOptions {
  numItems: number;
  hidden?: number;
  maxLen?: number;
  targetKind?: TargetKind;
  seed?: number;
}

export class PrefixMean extends Module implements SequentialRecommender {
  readonly modelName: ModelName = 'sasrec';
  readonly numItems: number;
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly hiddenSize: number;
  readonly targetKind: TargetKind;
  readonly maskToken: number | null;
  readonly items: Embedding;
  readonly mix: Linear;
  readonly out: Parameter;

  constructor(o: PrefixMeanOptions) {
    super();
    const gen = new Generator(o.seed ?? 1, Streams.init);
    this.numItems = o.numItems;
    this.targetKind = o.targetKind ?? 'next';
    this.maskToken = this.targetKind === 'cloze' ? o.numItems + 1 : null;
    this.vocabSize = o.numItems + (this.targetKind === 'cloze' ? 2 : 1);
    this.maxLen = o.maxLen ?? 8;
    this.hiddenSize = o.hidden ?? 4;
    this.items = this.registerModule('items', new Embedding(this.vocabSize, this.hiddenSize, { paddingIdx: 0, std: 0.5, gen }));
    this.mix = this.registerModule('mix', new Linear(this.hiddenSize, this.hiddenSize, { gen }));
    this.out = this.registerParameter('out', normalParam([this.vocabSize, this.hiddenSize], 0.5, gen));
  }

  embed(items: Tensor): Tensor {
    return this.items.forward(items);
  }

  encode(z: Tensor, mask: Tensor): Tensor {
    const [B, L] = z.shape as [number, number, number];
    const m = mask.i32();
    const A = new Float32Array(B * L * L);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < L; t++) {
        let c = 0;
        for (let j = 0; j <= t; j++) c += m[b * L + j]!;
        if (c === 0) continue;
        for (let j = 0; j <= t; j++) if (m[b * L + j]) A[(b * L + t) * L + j] = 1 / c;
      }
    }
    const h = matmul(new Tensor(A, [B, L, L]), z);
    const y = h.add(this.mix.forward(h).tanh());
    if (this.targetKind !== 'last') return y;
    const D = this.hiddenSize;
    return y.slice(1, L - 1, L).reshape([B, 1, D]);
  }

  outputTable(): Tensor {
    return this.out;
  }

  scores(hidden: Tensor): Tensor {
    return matmul(hidden, this.out.transpose());
  }
}

/** An ObjectiveContext whose sequenceLosses() is `losses` (a leaf requiring grad, returned as is). */
export function lossContext(values: number[], groups: number[] | null = null, numGroups = 0, step = 0): { ctx: ObjectiveContext; leaf: Tensor } {
  const B = values.length;
  const leaf = new Tensor(Float32Array.from(values), [B], { requiresGrad: true });
  const batch: SequenceBatch = {
    kind: 'next', B, L: 2, users: Int32Array.from({ length: B }, (_, i) => 100 + i),
    inputs: new Int32Array(B * 2).fill(1), targets: new Int32Array(B * 2).fill(2),
  };
  const ctx: ObjectiveContext = {
    model: null as unknown as SequentialRecommender,
    batch,
    groups: groups ? Int32Array.from(groups) : null,
    numGroups: groups ? numGroups : 0,
    embed: () => { throw new Error('lossContext: no model'); },
    sequenceLosses: () => leaf,
    forward: () => { throw new Error('lossContext: no model (use modelContext)'); },
    step,
  };
  return { ctx, leaf };
}

/** The gradient of a scalar w.r.t. the loss leaf: the objective's coefficients. */
export function coefficients(loss: Tensor, leaf: Tensor): number[] {
  leaf.zeroGrad();
  loss.backward();
  return leaf.grad!.toArray();
}

/** Sequences over items 1..N for batches (fixed, varied lengths). */
export const SEQS: Int32Array[] = [
  [1, 2, 3, 4, 5, 6, 7, 8, 9],
  [3, 5, 7, 9],
  [2, 4],
  [9, 8, 7, 6, 5],
  [4, 1, 6],
  [7, 3, 1, 2, 5, 4],
].map((s) => Int32Array.from(s));

export function batchOf(kind: TargetKind, L = 6, seqs: Int32Array[] = SEQS, numItems = 9): SequenceBatch {
  const users = Int32Array.from(seqs, (_, i) => i);
  if (kind === 'next') return nextItemBatch(seqs, users, L);
  if (kind === 'last') return lastItemBatch(seqs, users, L);
  return clozeBatch(seqs, users, L, { maskProb: 0.4, maskToken: numItems + 1, seed: 3, epoch: 0 });
}

/** The trainer's context (full-softmax CE) on a model and batch. */
export function modelContext(model: SequentialRecommender, batch: SequenceBatch, groups: { ids: Int32Array; numGroups: number } | null = null, step = 0): ObjectiveContext {
  return makeContext(model, batch, step, groups, { loss: 'ce', numNegatives: 0, gen: new Generator(1, Streams.negatives) });
}

/** Max |a − b| over two arrays. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
