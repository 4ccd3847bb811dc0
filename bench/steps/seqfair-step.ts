/**
 * One seqfair training step exactly as src/train/trainer.ts runs it for each batch: zeroGrad, the
 * objective's loss over makeContext's per-sequence losses (full-softmax cross-entropy through the
 * fused, chunked projection), backward, Adam step. The model stays in training mode (dropout on)
 * for timed calls; `outputs()` (the --check pass) runs one step with dropout off so its loss and
 * gradients are deterministic and comparable with a peer's.
 */
import type { Backend } from '../../src/backend/backend.js';
import { setBackend } from '../../src/backend/index.js';
import type { SequenceBatch } from '../../src/data/batching.js';
import { Generator, Streams, scope } from '../../src/engine/index.js';
import type { Objective } from '../../src/fairness/objective.js';
import type { RecommenderBase } from '../../src/models/base.js';
import { Adam } from '../../src/optim/index.js';
import { makeContext } from '../../src/train/context.js';
import type { Outputs, Prepared } from '../case.js';

/** Adam as the peers' tf.train.adam: lr 1e-3, β (0.9, 0.999), eps 1e-8, no weight decay. */
export const ADAM = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/**
 * Gradients left out of --check: the attention key bias's is zero in exact arithmetic (adding q·b
 * to every key of a query leaves its softmax unchanged), so both sides return rounding noise.
 */
const NOISE_ONLY = /\.attn\.k\.bias$/;

export interface SeqfairStepOptions {
  /** objective used by the --check pass (default: the timed one), e.g. one with deterministic settings */
  checkObjective?: Objective;
}

export function seqfairStep(be: Backend, model: RecommenderBase, batch: SequenceBatch, objective: Objective,
  o: SeqfairStepOptions = {}): Prepared {
  setBackend(be);
  const params = model.namedParameters();
  const opt = new Adam(params.map(([, p]) => p), { ...ADAM, weightDecay: 0 });
  const lossGen = new Generator(1, Streams.negatives);
  let step = 0;
  // the trainer's step, in the trainer's per-step scope (kernel outputs recycled between steps)
  const run = (obj: Objective): number => scope(() => {
    opt.zeroGrad();
    const ctx = makeContext(model, batch, step, null, { loss: 'ce', numNegatives: 0, gen: lossGen });
    const loss = obj.loss(ctx);
    const value = loss.item();
    loss.backward();
    opt.step();
    step++;
    return value;
  });
  model.train();
  return {
    run: () => { run(objective); },
    outputs(): Outputs {
      model.eval();
      try {
        // the loss and every parameter's gradient (Adam's step leaves .grad in place)
        const out: Outputs = { loss: Float32Array.of(run(o.checkObjective ?? objective)) };
        for (const [name, p] of params) if (p.grad && !NOISE_ONLY.test(name)) out[`d:${name}`] = Float32Array.from(p.grad.f32());
        return out;
      } finally {
        model.train();
      }
    },
    dispose: () => {},
  };
}
