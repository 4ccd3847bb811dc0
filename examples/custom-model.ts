/**
 * A custom model: a tiny mean-pooling recommender implementing SequentialRecommender (through
 * RecommenderBase): the hidden state at each position is a projection of the mean embedding of
 * the items so far. Trained and evaluated like the built-in models, on synthetic data.
 *
 *   npx tsx examples/custom-model.ts
 */
import { type ModelName, RecommenderBase, Tensor, embedding, evaluate, loadDataset, nn, resolveGroupings, train, uniform } from '../src/index.js';

class MeanPool extends RecommenderBase {
  // ModelName lists the built-in models; the trainer and evaluation only print the name
  readonly modelName = 'meanpool' as ModelName;
  readonly targetKind = 'next' as const; // one hidden state per position, next item as target
  readonly items: nn.Parameter;
  readonly proj: nn.Linear;

  constructor(numItems: number, hiddenSize: number, maxLen: number) {
    super(numItems, numItems + 1, maxLen, hiddenSize, null); // vocabulary: padding 0 and items 1..numItems
    this.items = this.registerParameter('items', new nn.Parameter(uniform([numItems + 1, hiddenSize], -0.1, 0.1)));
    this.proj = this.registerModule('proj', new nn.Linear(hiddenSize, hiddenSize));
  }

  embed(ids: Tensor): Tensor {
    return embedding(this.items, ids); // (B,L) → (B,L,D)
  }

  encode(z: Tensor, mask: Tensor): Tensor {
    const [B, L] = mask.shape as [number, number];
    const m = mask.i32();
    // upper-triangular ones (L,L): column l sums positions 0..l; and the count of real items so far
    const upper = new Float32Array(L * L).map((_, i) => (Math.floor(i / L) <= i % L ? 1 : 0));
    const count = new Float32Array(B * L);
    for (let b = 0; b < B; b++) for (let l = 0, c = 0; l < L; l++) count[b * L + l] = Math.max(1, (c += m[b * L + l]!));
    const real = z.mul(new Tensor(Float32Array.from(m), [B, L, 1])); // padding contributes nothing
    const sums = real.permute([0, 2, 1]).matmul(new Tensor(upper, [L, L])).permute([0, 2, 1]); // (B,L,D)
    return this.proj.forward(sums.div(new Tensor(count, [B, L, 1])));
  }

  outputTable(): Tensor {
    return this.items; // scores = hidden · itemsᵀ
  }
}

const data = await loadDataset('synthetic:numUsers=300,numItems=250,maxLen=40,seed=3');
const model = new MeanPool(data.numItems, 32, 20);
const full = { protocol: 'full', excludeSeen: true } as const;
const r = train(model, data, { epochs: 10, seed: 1, lr: 5e-3, validation: { protocol: full, metric: 'ndcg@10', patience: 0 } });
const [group] = resolveGroupings(data, ['group']);
const ev = evaluate(model, data, { protocols: full, groupings: { group: group!.labels } }).protocols['full-unseen']!;
console.log(`MeanPool (${model.numParameters()} parameters), best epoch ${r.bestEpoch}: test NDCG@10 ${ev.overall.ndcg[10]!.toFixed(4)}`);
for (const [g, s] of Object.entries(ev.groups.group!)) console.log(`  ${g}: NDCG@10 ${s.ndcg[10]!.toFixed(4)} (${s.count} users)`);
