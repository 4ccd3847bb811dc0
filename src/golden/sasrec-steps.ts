/**
 * The end-to-end golden case (FORMAT.md 4.16): the product SASRec (src/models/sasrec.ts) built
 * from the case's architecture with dropout 0, loaded from the case's parameters, trained for
 * `steps` Adam steps on the per-sequence mean cross-entropy (fused projection + CE). Compared:
 * losses (one per step, before it), seq_losses at θ0, every gradient at θ0, and every parameter
 * after the last step except blocks.*.attn.k.bias (its true gradient is 0: Adam moves it by
 * rounding noise, so the fixture leaves it out).
 */
import { Tensor } from '../engine/index.js';
import { Adam } from '../optim/index.js';
import { sequenceLosses } from '../models/loss.js';
import { Sasrec } from '../models/sasrec.js';
import { type Comparer, type GoldenCase, toTensor } from './format.js';

interface Architecture {
  vocab: number;
  maxlen: number;
  hidden: number;
  blocks: number;
  heads: number;
  ffn_hidden: number;
  ln_eps: number;
  padding_id: number;
  embedding_scale: number;
}

interface Optimizer {
  name: string;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
}

function field<T>(obj: unknown, key: string, what: string): T {
  const v = (obj as Record<string, unknown> | undefined)?.[key];
  if (v === undefined) throw new Error(`sasrec_steps: config.${what}.${key} is missing`);
  return v as T;
}

/** k.bias of every block: not in the fixture's outputs (see the file comment) */
const isUnreproducible = (name: string): boolean => /^blocks\.\d+\.attn\.k\.bias$/.test(name);

export function runSasrecSteps(c: GoldenCase, cmp: Comparer): void {
  const a = c.config.architecture as Architecture;
  const o = c.config.optimizer as Optimizer;
  const num = (key: keyof Architecture): number => field<number>(a, key, 'architecture');
  if (num('padding_id') !== 0) throw new Error(`sasrec_steps: padding_id must be 0 (the models' padding id), got ${a.padding_id}`);
  if (field<string>(o, 'name', 'optimizer') !== 'adam') throw new Error(`sasrec_steps: optimizer ${o.name} is not supported (adam only)`);
  const steps = c.config.steps;
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1) throw new Error(`sasrec_steps: config.steps must be a positive integer, got ${String(steps)}`);

  const model = new Sasrec({
    numItems: num('vocab') - 1, maxLen: num('maxlen'), hiddenSize: num('hidden'), layers: num('blocks'),
    heads: num('heads'), ffnHidden: num('ffn_hidden'), lnEps: num('ln_eps'), embeddingScale: num('embedding_scale'),
    dropout: 0,
  });
  model.train(); // dropout is 0: train and eval mode compute the same thing
  const paramNames = Object.keys(c.inputs).filter((n) => n !== 'ids' && n !== 'targets');
  model.loadStateDict(Object.fromEntries(paramNames.map((n) => [n, c.inputs[n]!])));

  const ids = toTensor(c.inputs.ids!);
  const targets = toTensor(c.inputs.targets!);
  const opt = new Adam(model.parameters(), {
    lr: field<number>(o, 'lr', 'optimizer'), beta1: field<number>(o, 'beta1', 'optimizer'),
    beta2: field<number>(o, 'beta2', 'optimizer'), eps: field<number>(o, 'eps', 'optimizer'),
    weightDecay: field<number>(o, 'weight_decay', 'optimizer'),
  });

  const losses = new Float32Array(steps);
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const seq = sequenceLosses(model, model.forward(ids), targets);
    const loss = seq.mean();
    losses[s] = loss.item();
    loss.backward();
    if (s === 0) {
      if (c.outputs.seq_losses) cmp.check('outputs.seq_losses', c.outputs.seq_losses, seq.data, seq.shape);
      for (const [name, p] of model.namedParameters()) {
        const exp = c.grads[name];
        if (!exp) throw new Error(`sasrec_steps: the fixture has no gradient for parameter ${name}`);
        const g = p.grad ?? new Tensor(new Float32Array(p.size), p.shape);
        cmp.check(`grads.${name}`, exp, g.data, g.shape);
      }
    }
    opt.step();
  }
  if (c.outputs.losses) cmp.check('outputs.losses', c.outputs.losses, losses, [steps]);
  for (const [name, p] of model.namedParameters()) {
    const exp = c.outputs[name];
    if (!exp) {
      if (isUnreproducible(name)) continue;
      throw new Error(`sasrec_steps: the fixture has no value after ${steps} steps for parameter ${name}`);
    }
    cmp.check(`outputs.${name}`, exp, p.values, p.shape);
  }
}
