/**
 * A custom training objective: weight each sequence by its own loss to the power γ (hard users
 * count more), written against the Objective interface, trained on the planted-bias synthetic
 * data next to ERM, with the minority's NDCG@10 compared.
 *
 *   npx tsx examples/custom-objective.ts
 */
import { type Objective, type ObjectiveContext, Tensor, evaluate, loadDataset, models, objectives, resolveGroupings, train } from '../src/index.js';

class PowerWeighted implements Objective {
  readonly name = 'power-weighted';
  constructor(readonly gamma = 2) {}

  loss(ctx: ObjectiveContext): Tensor {
    const losses = ctx.sequenceLosses(); // (B): mean cross-entropy per sequence, on the tape
    const v = losses.f32(this.name); // its values, off the tape: the weights are constants
    const w = Float32Array.from(v, (x) => (x > 0 ? x ** this.gamma : 0)); // a row without a target has loss 0
    const total = w.reduce((s, x) => s + x, 0);
    return losses.mul(new Tensor(w.map((x) => x / total), [w.length])).sum();
  }

  stateDict(): Record<string, unknown> {
    return {}; // stateless; an objective with state (running group losses) saves it here for checkpoints
  }

  loadStateDict(): void {}
}

const data = await loadDataset('synthetic:numUsers=300,numItems=250,maxLen=40,seed=3');
const [group] = resolveGroupings(data, ['group']); // evaluation only: training never sees it
const full = { protocol: 'full', excludeSeen: true } as const;

for (const objective of [objectives.create('erm'), new PowerWeighted(2)]) {
  const model = models.create('sasrec', { numItems: data.numItems, hiddenSize: 16, maxLen: 20, layers: 1 });
  train(model, data, { objective, epochs: 8, seed: 1, lr: 3e-3, validation: { protocol: full, metric: 'ndcg@10', patience: 0 } });
  const ev = evaluate(model, data, { protocols: full, groupings: { group: group!.labels } }).protocols['full-unseen']!;
  const g = ev.groups.group!;
  const ndcg = (s: { ndcg: Record<number, number> }): string => s.ndcg[10]!.toFixed(4);
  console.log(`${objective.name.padEnd(15)} NDCG@10 overall ${ndcg(ev.overall)}, majority ${ndcg(g.majority!)}, minority ${ndcg(g.minority!)}`);
}
