/**
 * One TensorFlow.js training step: tf.train.adam over tf.variables that start from the very same
 * weights as seqfair's model (copied from its parameters, so both sides train identical models on
 * identical batches), one optimizer.minimize per call inside tf.tidy, everything freed on dispose.
 */
import type { RecommenderBase } from '../../src/models/base.js';
import type { Outputs, Prepared } from '../case.js';
import type { Tf } from '../tfjs.js';
import { ADAM } from './seqfair-step.js';

type T = import('@tensorflow/tfjs').Tensor;
type Variable = import('@tensorflow/tfjs').Variable;
type Scalar = import('@tensorflow/tfjs').Scalar;

/** seqfair's parameters by name (item_emb, blocks.0.attn.q.weight, …) as trainable tf.variables */
export type Vars = Record<string, Variable>;

export function variablesOf(tf: Tf, model: RecommenderBase): Vars {
  const vars: Vars = {};
  for (const [name, p] of model.namedParameters()) vars[name] = tf.tidy(() => tf.variable(tf.tensor(p.f32(), [...p.shape]), true));
  return vars;
}

/**
 * `lossOf(training)` (training: dropout on) may do work outside the gradient tape first (A-FSR's
 * first pass) and returns the function that builds the scalar loss from `vars` on the tape; both
 * run inside the call's tf.tidy. The --check pass (training false) returns the loss and every
 * variable's gradient under seqfair's parameter names, then applies them as the timed calls do.
 * `extra`: constant tensors the step uses (ids, weights), freed on dispose.
 */
export function tfjsStep(tf: Tf, vars: Vars, lossOf: (training: boolean) => () => T, extra: T[] = []): Prepared {
  const optimizer = tf.train.adam(ADAM.lr, ADAM.beta1, ADAM.beta2, ADAM.eps);
  const names = Object.keys(vars);
  const list = names.map((n) => vars[n]!);
  return {
    run() {
      tf.tidy(() => { optimizer.minimize(lossOf(true) as () => Scalar, false, list); });
    },
    outputs(): Outputs {
      const out: Outputs = {};
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(lossOf(false) as () => Scalar, list);
        out['loss'] = Float32Array.from(value.dataSync());
        for (const [i, n] of names.entries()) {
          const g = grads[list[i]!.name];
          if (g) out[`d:${n}`] = Float32Array.from(g.dataSync());
        }
        optimizer.applyGradients(grads as import('@tensorflow/tfjs').NamedTensorMap as never);
      });
      return out;
    },
    dispose() {
      optimizer.dispose();
      for (const v of list) v.dispose();
      for (const t of extra) t.dispose();
    },
  };
}
