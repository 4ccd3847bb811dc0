/**
 * Adv — adversarial debiasing (the SIGIR 2024 paper's Adv baseline, after Wei & He 2022): an
 * adversary MLP predicts the user's group from the sequence representation, read through a
 * gradient-reversal layer, so the recommender learns representations the adversary cannot read
 * the group from:
 *
 *   h     = hidden state at the last position of encode(z, mask)   (B, D): the newest item's
 *           state for SASRec/GRU4Rec/BERT4Rec, NARM's representation of the whole sequence (its last position)
 *   logit = fc2(relu(fc1(GRL_α(norm(h)))))                          (B, G)
 *   norm  = identity (inputNorm 'none', the default) or h / √(mean(h²) + ε) per row ('rms')
 *   loss  = ERM + CE(logit, group)                                  CE averaged over the rows
 *
 * One backward pass trains both: the adversary's parameters descend the CE, the recommender gets
 * −α·∂CE/∂h through the reversal (grl.ts) on top of the ERM gradient.
 *
 * The adversary has its own Adam optimiser (its parameters are not the model's, so the trainer's
 * optimiser never sees them). The trainer calls backward() after loss() returns and gives the
 * objective no hook after it, so the adversary's step is taken at the start of the next loss()
 * from the gradients that backward left on its parameters. Its parameters do not change in between,
 * so this is exactly the update a step right after backward would make. The state dict carries
 * the adversary's weights, its Adam moments and step counts, and any gradient still waiting for
 * its step, so a resumed run continues exactly.
 *
 * Defaults (neither paper gives the Adv architecture): one hidden layer of width D = the model's
 * hidden size with ReLU (the smallest MLP that is not linear); Adam lr 1e-3 and no weight decay
 * (the paper's learning rate, Sec. 5.1); α = 1 (Ganin & Lempitsky's reversal at full strength;
 * their schedule that ramps α from 0 is not used, so the run has no extra schedule to tune); the
 * adversary's initial weights from their own Philox stream ADV_INIT_STREAM (seed option), so
 * building the objective never shifts the model's initialisation stream.
 *
 * inputNorm 'rms': the reversal pushes h to raise the adversary's cross-entropy, and a model whose
 * representation is not normalised can do that without bound by scaling h (confidently wrong
 * logits). NARM (no LayerNorm) does: in the SIGIR grid of 2026-12-07, 4 of 5 NARM adv seeds
 * diverged (seed 2's training loss 17 → 150 in 15 epochs, Recall@5 0.06–0.17 against erm's
 * 0.36). The adversary then reads the direction of h only; its gradient to h is orthogonal to h,
 * so scaling gains nothing.
 * SASRec and BERT4Rec end in a LayerNorm and trained stably without it; the default stays 'none'
 * until the grids are rerun with 'rms'.
 *
 * The representation and the recommender's losses come from one `ctx.forward()` pass (the run's
 * loss kind).
 */
import { Generator, Tensor, crossEntropy } from '../engine/index.js';
import { Linear, Module } from '../nn/index.js';
import { Adam } from '../optim/index.js';
import { checkFiniteLoss } from './erm.js';
import { activeRows, checkOptionKeys, choiceOption, checkStateKind, finiteLosses, numberOption, requireGroups, stateNumbers } from './common.js';
import { gradientReversal } from './grl.js';
import type { Objective, ObjectiveContext } from './objective.js';

export interface AdvOptions {
  /** gradient-reversal strength α (default 1) */
  alpha?: number;
  /** adversary hidden width (default: the model's hidden size) */
  hidden?: number;
  /** adversary Adam learning rate (default 1e-3) */
  lr?: number;
  /** adversary Adam L2 weight decay (default 0) */
  weightDecay?: number;
  /** seed of the adversary's initial weights (default 0) */
  seed?: number;
  /** what the adversary reads: h as it is ('none', default) or h RMS-normalised per row ('rms') */
  inputNorm?: AdvInputNorm;
}

export type AdvInputNorm = 'none' | 'rms';
const INPUT_NORMS: readonly AdvInputNorm[] = ['none', 'rms'];
const RMS_EPS = 1e-6;

/** The adversary's input: h (B, D) as it is, or h / √(mean over D of h² + 1e-6) per row. */
export function adversaryInput(h: Tensor, inputNorm: AdvInputNorm): Tensor {
  if (inputNorm === 'none') return h;
  return h.div(h.square().mean(-1, true).add(RMS_EPS).sqrt());
}

export const ADV_DEFAULTS = { alpha: 1, lr: 1e-3, weightDecay: 0, seed: 0, inputNorm: 'none' as AdvInputNorm } as const;

/** Philox stream of the adversary's initial weights (apart from the engine's init stream 1). */
export const ADV_INIT_STREAM = 0xad7e0001;

/** fc2(relu(fc1(x))): (N, D) → (N, G) logits. */
export class Adversary extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(inFeatures: number, hidden: number, numGroups: number, gen: Generator) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hidden, { gen }));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, numGroups, { gen }));
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).relu());
  }
}

export class AdvObjective implements Objective {
  readonly name = 'adv';
  readonly alpha: number;
  readonly inputNorm: AdvInputNorm;
  readonly adversary: Adversary;
  readonly optimizer: Adam;
  readonly config: Readonly<Record<string, unknown>>;
  /** the last batch's adversary cross-entropy and accuracy, for logs */
  lastAdversaryLoss = 0;
  lastAdversaryAccuracy = 0;

  constructor(readonly hiddenSize: number, readonly numGroups: number, options: AdvOptions = {}) {
    const n = this.name;
    if (!(Number.isInteger(hiddenSize) && hiddenSize >= 1)) throw new Error(`adv: hiddenSize must be a positive integer, got ${hiddenSize}`);
    if (!(Number.isInteger(numGroups) && numGroups >= 2)) throw new Error(`adv: an adversary needs at least 2 groups, got ${numGroups}`);
    checkOptionKeys(n, options, ['alpha', 'hidden', 'lr', 'weightDecay', 'seed', 'inputNorm']);
    this.inputNorm = choiceOption(n, 'inputNorm', options.inputNorm, ADV_DEFAULTS.inputNorm, INPUT_NORMS);
    this.alpha = numberOption(n, 'alpha', options.alpha, ADV_DEFAULTS.alpha, (x) => x >= 0, 'a number >= 0');
    const hidden = numberOption(n, 'hidden', options.hidden, hiddenSize, (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
    const lr = numberOption(n, 'lr', options.lr, ADV_DEFAULTS.lr, (x) => x > 0, 'a number > 0');
    const weightDecay = numberOption(n, 'weightDecay', options.weightDecay, ADV_DEFAULTS.weightDecay, (x) => x >= 0, 'a number >= 0');
    const seed = numberOption(n, 'seed', options.seed, ADV_DEFAULTS.seed, (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer');
    this.adversary = new Adversary(hiddenSize, hidden, numGroups, new Generator(seed, ADV_INIT_STREAM));
    this.optimizer = new Adam(this.adversary.parameters(), { lr, weightDecay });
    // inputNorm only where it is not the default: run keys hash this config (src/compare/methods.ts),
    // so runs trained before the option existed keep their keys
    this.config = { alpha: this.alpha, hidden, lr, weightDecay, seed, numGroups, ...(this.inputNorm === 'none' ? {} : { inputNorm: this.inputNorm }) };
  }

  /** Applies the adversary step owed from the previous backward (see the file comment). */
  private stepAdversary(): void {
    if (this.adversary.parameters().some((p) => p.grad !== null)) {
      this.optimizer.step();
      this.optimizer.zeroGrad();
    }
  }

  loss(ctx: ObjectiveContext): Tensor {
    const groups = requireGroups(ctx, this.name, this.numGroups);
    const { rows, n } = activeRows(ctx, this.name);
    this.stepAdversary();
    const { hidden, losses } = ctx.forward();
    finiteLosses(this.name, ctx, losses);
    const [B, P, D] = hidden.shape as [number, number, number];
    if (D !== this.hiddenSize) throw new Error(`adv: the model's hidden states are ${D} wide but the adversary was built for ${this.hiddenSize}`);
    const h = hidden.slice(1, P - 1, P).reshape([B, D]);
    const logits = this.adversary.forward(gradientReversal(adversaryInput(h, this.inputNorm), this.alpha));
    // rows without a target are not in the batch mean: their group is ignored (index −100)
    const target = Int32Array.from(groups, (g, b) => (rows[b] ? g : -100));
    const ce = crossEntropy(logits, new Tensor(target, [B])).sum().div(n);
    this.recordAccuracy(logits, target, n, ce);
    const loss = losses.sum().div(n).add(ce);
    checkFiniteLoss(this.name, ctx, loss, losses);
    return loss;
  }

  private recordAccuracy(logits: Tensor, target: Int32Array, n: number, ce: Tensor): void {
    const G = this.numGroups;
    const l = logits.f32();
    let right = 0;
    for (let b = 0; b < target.length; b++) {
      if (target[b]! < 0) continue;
      let best = 0;
      for (let g = 1; g < G; g++) if (l[b * G + g]! > l[b * G + best]!) best = g;
      if (best === target[b]) right++;
    }
    this.lastAdversaryAccuracy = right / n;
    this.lastAdversaryLoss = ce.item();
  }

  stateDict(): Record<string, unknown> {
    const params = this.adversary.namedParameters();
    const opt = this.optimizer.stateDict();
    return {
      kind: this.name,
      adversary: Object.fromEntries(params.map(([name, p]) => [name, Array.from(p.values)])),
      optimizer: { step: opt.step, paramSteps: opt.paramSteps, m: opt.m.map((a) => Array.from(a)), v: opt.v.map((a) => Array.from(a)) },
      pendingGrads: params.map(([, p]) => (p.grad === null ? null : Array.from(p.grad.f32()))),
    };
  }

  loadStateDict(state: Record<string, unknown>): void {
    const n = `${this.name}.loadStateDict`;
    checkStateKind(this.name, state, this.name);
    const params = this.adversary.namedParameters();
    const adv = state.adversary as Record<string, unknown> | undefined;
    const opt = state.optimizer as Record<string, unknown> | undefined;
    const pending = state.pendingGrads as unknown;
    if (typeof adv !== 'object' || adv === null || typeof opt !== 'object' || opt === null || !Array.isArray(pending) || pending.length !== params.length) {
      throw new Error(`${n}: the state must hold 'adversary', 'optimizer' and 'pendingGrads' for ${params.length} parameters`);
    }
    const values = params.map(([name, p]) => stateNumbers(n, adv, name, p.size));
    const m = opt.m, v = opt.v;
    if (!Array.isArray(m) || !Array.isArray(v) || m.length !== params.length || v.length !== params.length) {
      throw new Error(`${n}: optimizer.m and optimizer.v must hold ${params.length} arrays`);
    }
    const mv = params.map(([name, p], i) => [
      stateNumbers(n, { [name]: m[i] }, name, p.size), stateNumbers(n, { [name]: v[i] }, name, p.size),
    ] as const);
    const paramSteps = stateNumbers(n, opt, 'paramSteps', params.length);
    const grads = params.map(([name, p], i) => (pending[i] === null ? null : stateNumbers(n, { [name]: pending[i] }, name, p.size)));
    this.optimizer.loadStateDict({
      step: opt.step as number, paramSteps, m: mv.map(([a]) => Float32Array.from(a)), v: mv.map(([, b]) => Float32Array.from(b)),
    });
    params.forEach(([, p], i) => {
      p.values.set(values[i]!);
      p.grad = grads[i] === null ? null : new Tensor(Float32Array.from(grads[i]!), p.shape);
    });
  }
}
