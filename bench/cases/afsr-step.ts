/**
 * afsr-step-*: one A-FSR training step (src/fairness/afsr.ts with its defaults: span 3, k = 6,
 * M = 5, λ = r = 0.1, β = 1, smoothing on) on the SASRec of sasrec-step-*: the first pass for
 * ∂L/∂z, span location, Dirichlet Neighbour Smoothing, the second pass, backward through it and
 * Adam — what the trainer runs per batch with `--methods afsr`. The tfjs peer: steps/tfjs-afsr.ts.
 *
 * The neighbour table is built before timing, from the initial weights, on both sides (the
 * trainer rebuilds it once per epoch; its cost is the topk-1683 case, not part of a step).
 * `--check` runs one step with dropout off and β = 10⁸, where the Dirichlet draws of both sides
 * are the neighbourhood means to within ~10⁻⁴, so loss and gradients are comparable.
 */
import { AfsrObjective, AFSR_DEFAULTS } from '../../src/fairness/afsr.js';
import { NeighbourTable } from '../../src/fairness/afsr-neighbours.js';
import type { Sasrec } from '../../src/models/sasrec.js';
import type { BenchCase } from '../case.js';
import { seqfairStep } from '../steps/seqfair-step.js';
import { type StepSize, sasrecModel, stepBatch, tfBatch } from '../steps/setup.js';
import { afsrLossOf } from '../steps/tfjs-afsr.js';
import { sasrecSpec } from '../steps/tfjs-sasrec.js';
import { tfjsStep, variablesOf } from '../steps/tfjs-step.js';
import type { StepCaseMeta } from './model-step.js';

const CHECK_BETA = 1e8;

function neighbours(model: Sasrec): NeighbourTable {
  return NeighbourTable.build(model, AFSR_DEFAULTS.neighbours, 0);
}

export function afsrStepCase(name: string, size: StepSize, meta: StepCaseMeta = {}): BenchCase {
  const L = size.L ?? 50;
  return {
    name,
    summary: `A-FSR train step on SASRec (defaults), B=${size.B} L=${L}, ${size.numItems} items`,
    ...meta,
    seqfair(be) {
      const model = sasrecModel(size);
      const state = { kind: 'afsr', table: neighbours(model).toState() };
      const objective = new AfsrObjective();
      const check = new AfsrObjective({ beta: CHECK_BETA });
      objective.loadStateDict(state);
      check.loadStateDict(state);
      return seqfairStep(be, model, stepBatch('next', size), objective, { checkObjective: check });
    },
    tfjs(tf) {
      const model = sasrecModel(size);
      const table = neighbours(model);
      const batch = stepBatch('next', size);
      const vars = variablesOf(tf, model);
      const b = tfBatch(tf, batch);
      const o = new AfsrObjective(); // its resolved defaults, so both sides read the same settings
      const settings = { spanSize: o.spanSize, groupSize: o.groupSize, lambda: o.lambda, radius: o.radius, beta: o.beta };
      const timed = afsrLossOf(tf, vars, sasrecSpec(model), batch, b, table, settings);
      const check = afsrLossOf(tf, vars, sasrecSpec(model), batch, b, table, { ...settings, beta: CHECK_BETA });
      return tfjsStep(tf, vars, (training) => (training ? timed : check)(training), b.all);
    },
  };
}
