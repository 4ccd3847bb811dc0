/**
 * sasrec-step-*, narm-step-*: one full training step of a seqfair model, ERM objective — forward,
 * full-softmax cross-entropy over every target position (all items + the padding row as classes),
 * backward, Adam update — exactly what src/train/trainer.ts runs per batch (steps/seqfair-step.ts),
 * against the same model written in TensorFlow.js ops and trained by tf.train.adam's minimize on
 * the same weights and batch (steps/tfjs-*.ts). Dropout is on (the models' defaults) in timed
 * calls; `--check` compares the loss and every parameter gradient of one step with dropout off.
 *
 * SASRec: L = 50, D = 64, 2 blocks, 2 heads, FFN 4·D GELU, targets at every position.
 * NARM: L = 50, D = 64, GRU H = 128, one target (the last item) per row.
 */
import { ErmObjective } from '../../src/fairness/erm.js';
import type { BenchCase } from '../case.js';
import { seqfairStep } from '../steps/seqfair-step.js';
import { type StepSize, narmModel, sasrecModel, stepBatch, tfBatch } from '../steps/setup.js';
import { narmEncode, narmSpec } from '../steps/tfjs-narm.js';
import { gatherRows, sequenceLosses } from '../steps/tfjs-ops.js';
import { sasrecEncode, sasrecSpec } from '../steps/tfjs-sasrec.js';
import { tfjsStep, variablesOf } from '../steps/tfjs-step.js';

export interface StepCaseMeta {
  slow?: BenchCase['slow'];
  /** measure the step's peak memory after timing */
  memory?: boolean;
}

export function sasrecStepCase(name: string, size: StepSize, meta: StepCaseMeta = {}): BenchCase {
  const L = size.L ?? 50;
  return {
    name,
    summary: `SASRec train step (ERM, full softmax, Adam), B=${size.B} L=${L}, ${size.numItems} items`,
    ...meta,
    seqfair(be) {
      return seqfairStep(be, sasrecModel(size), stepBatch('next', size), new ErmObjective());
    },
    tfjs(tf) {
      const model = sasrecModel(size);
      const spec = sasrecSpec(model);
      const batch = stepBatch('next', size);
      const vars = variablesOf(tf, model);
      const b = tfBatch(tf, batch);
      return tfjsStep(tf, vars, (training) => () => {
        const z = gatherRows(tf, vars['item_emb']!, b.ids);
        const hidden = sasrecEncode(tf, vars, spec, z, b.keyMask, training);
        return tf.div(tf.sum(sequenceLosses(tf, hidden, vars['item_emb']!, b.targets, b.weights, batch.B)), b.rows);
      }, b.all);
    },
  };
}

export function narmStepCase(name: string, size: StepSize, meta: StepCaseMeta = {}): BenchCase {
  const L = size.L ?? 50;
  return {
    name,
    summary: `NARM train step (ERM, last-item targets, full softmax, Adam), B=${size.B} L=${L}, ${size.numItems} items`,
    ...meta,
    seqfair(be) {
      return seqfairStep(be, narmModel(size), stepBatch('last', size), new ErmObjective());
    },
    tfjs(tf) {
      const model = narmModel(size);
      const spec = narmSpec(model);
      const batch = stepBatch('last', size);
      const vars = variablesOf(tf, model);
      const b = tfBatch(tf, batch);
      return tfjsStep(tf, vars, (training) => () => {
        const z = gatherRows(tf, vars['item_emb']!, b.ids);
        const hidden = narmEncode(tf, vars, spec, z, b.keyMask, training);
        return tf.div(tf.sum(sequenceLosses(tf, hidden, vars['item_emb']!, b.targets, b.weights, batch.B)), b.rows);
      }, b.all);
    },
  };
}
