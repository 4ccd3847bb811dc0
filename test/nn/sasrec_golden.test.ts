/**
 * End-to-end golden test (FORMAT.md 4.16): a tiny SASRec built from the nn modules in this file
 * (not the product model, which lives in src/models), trained 3 Adam steps from the fixture's
 * parameters. It pins, against PyTorch float64 references:
 *   1. seq_losses at θ0            (forward: embeddings, LN, attention, GELU FFN, fused CE)
 *   2. every gradient at θ0        (backward of every op and module, tied item_emb)
 *   3. losses over the 3 steps     (the optimiser feeds back into the forward)
 *   4. every parameter after step 3 (Adam), except blocks.{0,1}.attn.k.bias (see FORMAT.md 4.16:
 *      its true gradient is 0, so its Adam moves are rounding noise)
 */
import { describe, expect, it } from 'vitest';
import { Tensor, arange, embedding, projectionCrossEntropy } from '../../src/engine/index.js';
import { LayerNorm, Linear, Module, ModuleList, MultiHeadAttention, Parameter } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import { type Golden, expectClose, goldenCases, loadGolden, toTensor } from './golden.js';

interface Arch {
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

class Ffn extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(d: number, h: number) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(d, h));
    this.fc2 = this.registerModule('fc2', new Linear(h, d));
  }
}

class Block extends Module {
  readonly attn_ln: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ffn_ln: LayerNorm;
  readonly ffn: Ffn;
  constructor(a: Arch) {
    super();
    this.attn_ln = this.registerModule('attn_ln', new LayerNorm(a.hidden, { eps: a.ln_eps }));
    this.attn = this.registerModule('attn', new MultiHeadAttention(a.hidden, a.heads, { causal: true }));
    this.ffn_ln = this.registerModule('ffn_ln', new LayerNorm(a.hidden, { eps: a.ln_eps }));
    this.ffn = this.registerModule('ffn', new Ffn(a.hidden, a.ffn_hidden));
  }
}

/** Kang & McAuley's block order: only queries are layer-normed; residuals on the normed streams. */
class TinySasrec extends Module {
  readonly item_emb: Parameter;
  readonly pos_emb: Parameter;
  readonly blocks: ModuleList<Block>;
  readonly final_ln: LayerNorm;
  constructor(readonly a: Arch) {
    super();
    // raw parameters (not Embedding modules): the fixture names them item_emb / pos_emb
    this.item_emb = this.registerParameter('item_emb', new Parameter(new Tensor(new Float32Array(a.vocab * a.hidden), [a.vocab, a.hidden])));
    this.pos_emb = this.registerParameter('pos_emb', new Parameter(new Tensor(new Float32Array(a.maxlen * a.hidden), [a.maxlen, a.hidden])));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: a.blocks }, () => new Block(a))));
    this.final_ln = this.registerModule('final_ln', new LayerNorm(a.hidden, { eps: a.ln_eps }));
  }

  /** ids, targets (B,L) i32 → per-sequence mean cross-entropy (B) */
  seqLosses(ids: Tensor, targets: Tensor): Tensor {
    const [B, L] = ids.shape as [number, number];
    const D = this.a.hidden;
    const idv = ids.i32();
    const keyMask = new Tensor(idv.map((v) => (v !== this.a.padding_id ? 1 : 0)), [B, L]);
    const m = new Tensor(Float32Array.from(keyMask.i32()), [B, L, 1]);
    let x = embedding(this.item_emb, ids).mul(this.a.embedding_scale)
      .add(embedding(this.pos_emb, arange(L))).mul(m);
    for (const b of this.blocks) {
      const q = b.attn_ln.forward(x);
      x = q.add(b.attn.forward(q, x, x, keyMask));
      const f = b.ffn_ln.forward(x);
      x = f.add(b.ffn.fc2.forward(b.ffn.fc1.forward(f).gelu())).mul(m);
    }
    const h = this.final_ln.forward(x);
    const ce = projectionCrossEntropy(h.reshape([B * L, D]), this.item_emb, targets.reshape([B * L]), { ignoreIndex: this.a.padding_id });
    const tv = targets.i32();
    const inv = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = 0; t < L; t++) if (tv[b * L + t] !== this.a.padding_id) n++;
      inv[b] = 1 / n;
    }
    return ce.reshape([B, L]).sum(1).mul(new Tensor(inv, [B]));
  }
}

const SKIP_AFTER_STEP = new Set(['blocks.0.attn.k.bias', 'blocks.1.attn.k.bias']);

function run(c: Golden): void {
  const a = c.config.architecture as Arch;
  const o = c.config.optimizer as { name: string; lr: number; beta1: number; beta2: number; eps: number; weight_decay: number };
  expect(o.name).toBe('adam');
  const model = new TinySasrec(a);
  const names = model.namedParameters().map(([n]) => n);
  const paramInputs = Object.keys(c.inputs).filter((n) => n !== 'ids' && n !== 'targets');
  // the module tree reproduces the fixture's names exactly
  expect([...names].sort()).toEqual([...paramInputs].sort());
  model.loadStateDict(Object.fromEntries(paramInputs.map((n) => [n, c.inputs[n]!])));
  const ids = toTensor(c.inputs.ids!), targets = toTensor(c.inputs.targets!);
  const opt = new Adam(model.parameters(), { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weight_decay });
  const steps = c.config.steps as number;
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const seq = model.seqLosses(ids, targets);
    const loss = seq.mean();
    losses.push(loss.item());
    loss.backward();
    if (s === 0) {
      expectClose('seq_losses', seq.f32(), c.outputs.seq_losses!, c.tolerance);
      for (const [n, p] of model.namedParameters()) {
        expect(p.grad, `grad of ${n}`).not.toBeNull();
        expectClose(`grad ${n}`, p.grad!.f32(), c.grads[n]!, c.tolerance);
      }
    }
    opt.step();
  }
  expectClose('losses', losses, c.outputs.losses!, c.tolerance);
  let checked = 0;
  for (const [n, p] of model.namedParameters()) {
    if (SKIP_AFTER_STEP.has(n)) {
      expect(c.outputs[n], `${n} is not in the fixture's outputs`).toBeUndefined();
      continue;
    }
    expectClose(`${n} after ${steps} steps`, p.values, c.outputs[n]!, c.tolerance);
    checked++;
  }
  expect(checked).toBe(names.length - SKIP_AFTER_STEP.size);
}

const cases = goldenCases('sasrec_steps');
if (cases.length === 0) {
  console.warn('sasrec_steps golden test skipped: no fixtures in ../shared/golden (set SEQFAIR_GOLDEN)');
}
describe.skipIf(cases.length === 0)('sasrec_steps golden: tiny SASRec, 3 Adam steps (FORMAT.md 4.16)', () => {
  for (const file of cases) {
    it(file, () => run(loadGolden(file)));
  }
});
