/**
 * How each golden op (FORMAT.md section 4) runs on the engine. Differentiable ops go through
 * `differentiable`: build the outputs, compare them, form S = Σ_o <out_o, upstream_o>, and compare
 * ∂S/∂x from the tape with the expected gradients. New files of a known op need no code here.
 */
import {
  Tensor, attention, crossEntropy, cosineTopk, embedding, gelu, grad, gradNorm, gru, layerNorm, linear,
  mul, noGrad, projectionCrossEntropy, reshape, slice, sum, twoHop,
} from '../engine/index.js';
import { Parameter } from '../nn/index.js';
import { Adam, AdamW } from '../optim/index.js';
import { cvarWeights } from '../fairness/cvar.js';
import { chi2Weights } from '../fairness/chi2.js';
import { exponentiatedStep, robustLoss, streamLosses } from '../fairness/group-weights.js';
import { type Comparer, type GoldenCase, type JsonTensor, toTensor } from './format.js';
import { runSasrecSteps } from './sasrec-steps.js';

export type CaseRunner = (c: GoldenCase, cmp: Comparer) => void;

function num(c: GoldenCase, key: string): number {
  const v = c.config[key];
  if (typeof v !== 'number') throw new Error(`config.${key} must be a number`);
  return v;
}

function input(c: GoldenCase, name: string): JsonTensor {
  const t = c.inputs[name];
  if (!t) throw new Error(`missing input "${name}"`);
  return t;
}

function differentiable(c: GoldenCase, cmp: Comparer, forward: (x: Record<string, Tensor>) => Record<string, Tensor>): void {
  const x: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(c.inputs)) x[name] = toTensor(t, name in c.grads);
  const out = forward(x);
  for (const [name, exp] of Object.entries(c.outputs)) {
    const o = out[name];
    if (!o) throw new Error(`the engine produced no output "${name}"`);
    cmp.check(`outputs.${name}`, exp, o.data, o.shape);
  }
  const names = Object.keys(c.grads);
  if (names.length === 0) return;
  let S: Tensor | null = null;
  for (const [name, up] of Object.entries(c.upstream)) {
    const o = out[name];
    if (!o) throw new Error(`upstream for unknown output "${name}"`);
    const term = sum(mul(o, toTensor(up)));
    S = S ? S.add(term) : term;
  }
  if (!S) throw new Error('grads given without upstream');
  const gs = grad(S, names.map((n) => x[n]!));
  names.forEach((n, i) => cmp.check(`grads.${n}`, c.grads[n]!, gs[i]!.data, gs[i]!.shape));
}

/** adam/adamw (FORMAT.md 4.11): the product optimisers fed the given gradient of each step. */
function adamCase(decoupled: boolean): CaseRunner {
  return (c, cmp) => {
    const grads = input(c, 'grads');
    const param = new Parameter(toTensor(input(c, 'param')));
    const P = param.size, steps = num(c, 'steps');
    const config = { lr: num(c, 'lr'), beta1: num(c, 'beta1'), beta2: num(c, 'beta2'), eps: num(c, 'eps'), weightDecay: num(c, 'weight_decay') };
    const opt = decoupled ? new AdamW([param], config) : new Adam([param], config);
    const out = new Float32Array(steps * P);
    for (let t = 1; t <= steps; t++) {
      param.grad = new Tensor(Float32Array.from(grads.data.slice((t - 1) * P, t * P)), [P]);
      opt.step();
      out.set(param.f32(), (t - 1) * P);
    }
    cmp.check('outputs.params', c.outputs.params!, out, [steps, P]);
  };
}

function groupDroCase(streaming: boolean): CaseRunner {
  return (c, cmp) => {
    const losses = input(c, 'losses');
    const [T, G] = losses.shape as [number, number];
    let w: Float64Array = Float64Array.from(input(c, 'w0').data);
    let streamed: Float64Array | null = streaming ? Float64Array.from(input(c, 'lprev0').data) : null;
    const weights = new Float64Array(T * G), robust = new Float64Array(T), stream = new Float64Array(T * G);
    for (let t = 0; t < T; t++) {
      const batch = losses.data.slice(t * G, (t + 1) * G);
      if (streamed) {
        streamed = streamLosses(streamed, batch, num(c, 'rate'));
        stream.set(streamed, t * G);
      }
      w = exponentiatedStep(w, streamed ?? batch, num(c, 'eta'));
      weights.set(w, t * G);
      robust[t] = robustLoss(w, batch);
    }
    cmp.check('outputs.weights', c.outputs.weights!, weights);
    cmp.check('outputs.robust_loss', c.outputs.robust_loss!, robust);
    if (streaming) cmp.check('outputs.streamed_losses', c.outputs.streamed_losses!, stream);
  };
}

export const caseRunners: Record<string, CaseRunner> = {
  linear: (c, cmp) => differentiable(c, cmp, (x) => ({ y: linear(x.x!, x.weight!, x.bias!) })),
  layer_norm: (c, cmp) => differentiable(c, cmp, (x) => ({ y: layerNorm(x.x!, x.gamma!, x.beta!, num(c, 'eps')) })),
  gelu: (c, cmp) => differentiable(c, cmp, (x) => ({ y: gelu(x.x!) })),
  attention: (c, cmp) => differentiable(c, cmp, (x) => ({
    out: attention(x.q!, x.k!, x.v!, x.key_mask!, { causal: c.config.causal === true, scale: num(c, 'scale') }),
  })),
  gru: (c, cmp) => differentiable(c, cmp, (x) => {
    const out = gru(x.x!, x.h0!, x.weight_ih!, x.weight_hh!, x.bias_ih!, x.bias_hh!);
    const [B, L, H] = out.shape as [number, number, number];
    return { out, h_n: reshape(slice(out, 1, L - 1, L), [B, H]) };
  }),
  softmax_cross_entropy: (c, cmp) => differentiable(c, cmp, (x) => {
    const ignoreIndex = num(c, 'ignore_index');
    const loss = crossEntropy(x.logits!, x.targets!, { weights: x.weights ?? null, ignoreIndex });
    const count = x.targets!.i32().filter((t) => t !== ignoreIndex).length;
    return { loss, mean: sum(loss).div(Math.max(count, 1)) };
  }),
  projection_cross_entropy: (c, cmp) => differentiable(c, cmp, (x) => ({
    loss: projectionCrossEntropy(x.hidden!, x.table!, x.targets!, { ignoreIndex: num(c, 'padding_id') }),
  })),
  embedding: (c, cmp) => differentiable(c, cmp, (x) => ({ out: embedding(x.table!, x.ids!) })),
  embedding_grad_norm: (c, cmp) => noGrad(() => {
    const r = gradNorm(toTensor(input(c, 'g')), toTensor(input(c, 'mask')));
    for (const [name, t] of Object.entries(r)) if (c.outputs[name]) cmp.check(`outputs.${name}`, c.outputs[name]!, t.data, t.shape);
  }),
  cosine_topk: (c, cmp) => noGrad(() => {
    const r = cosineTopk(toTensor(input(c, 'x')), num(c, 'k'));
    const h = twoHop(r.indices);
    const got: Record<string, Tensor> = { indices: r.indices, similarities: r.similarities, two_hop: h.twoHop, two_hop_count: h.count };
    for (const [name, exp] of Object.entries(c.outputs)) {
      const t = got[name];
      if (!t) throw new Error(`no output "${name}"`);
      cmp.check(`outputs.${name}`, exp, t.data, t.shape);
    }
  }),
  adam: adamCase(false),
  adamw: adamCase(true),
  cvar_weights: (c, cmp) => {
    const v = input(c, 'losses').data;
    const q = cvarWeights(Float32Array.from(v), num(c, 'alpha'));
    cmp.check('outputs.q', c.outputs.q!, q);
    cmp.check('outputs.value', c.outputs.value!, [q.reduce((s, qi, i) => s + qi * Math.fround(v[i]!), 0)]);
  },
  chi2_dro_weights: (c, cmp) => {
    const v = input(c, 'losses').data;
    const q = chi2Weights(Float32Array.from(v), num(c, 'radius'));
    cmp.check('outputs.q', c.outputs.q!, q);
    cmp.check('outputs.value', c.outputs.value!, [q.reduce((s, qi, i) => s + qi * Math.fround(v[i]!), 0)]);
  },
  group_dro_step: groupDroCase(false),
  streaming_dro_step: groupDroCase(true),
  sasrec_steps: runSasrecSteps,
};
