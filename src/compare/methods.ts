/**
 * Training methods by name, for compare(), the command line and the library: every objective of
 * src/fairness (erm, ipw, ipw-log, class-balanced, class-balanced-log, reg, adv, group-dro,
 * streaming-dro, cvar-dro, afsr and its ablations), built through createObjective, plus any a
 * user adds with registerMethod. A method builds its objective for one run, and for the
 * group-aware objectives the per-user group ids they train on.
 *
 * Method parameters (compare's `methodParams[method]`, the config file's `methods.<name>`) are the
 * objective's own options (each src/fairness file lists them), plus, for the group-aware methods
 * (ipw, ipw-log, reg, adv, group-dro, streaming-dro), `trainGroups`: which groups they train on
 * (src/compare/train-groups.ts). There is no default for it: which groups a group-aware method
 * trains on is the experiment's choice, and a silent one would be easy to misread.
 *
 * The recorded params (part of the run key) are the objective's resolved config (defaults filled
 * in) plus trainGroups, so two runs that trained on different groups never share a key.
 * afsr's neighbour-table refresh (once per epoch by default) counts steps per epoch from the
 * context's batch size; adv sizes its adversary from the model's hidden size.
 */
import { trainableUsers } from '../data/batching.js';
import type { Dataset } from '../data/preprocess.js';
import { ErmObjective } from '../fairness/erm.js';
import { OBJECTIVE_NAMES, createObjective, needsGroups } from '../fairness/index.js';
import type { Objective } from '../fairness/objective.js';
import type { SequentialRecommender } from '../models/types.js';
import type { TrainGroups } from '../train/trainer.js';
import { trainingGroups } from './train-groups.js';

export interface MethodContext {
  dataset: Dataset;
  seed: number;
  /** method hyper-parameters from the config (e.g. { alpha: 0.3 }) */
  params: Record<string, unknown>;
  /** the model the run trains (adv reads its hidden size; afsr its training kind) */
  model?: SequentialRecommender;
  /** the run's batch size, for per-epoch schedules (default 64, the trainer's) */
  batchSize?: number;
}

export interface MethodSetup {
  objective: Objective;
  groups?: TrainGroups | null;
  /** hyper-parameters to record in results (defaults filled in) */
  params?: Record<string, unknown>;
}

export type MethodFactory = (ctx: MethodContext) => MethodSetup;

/** The objective `name` of src/fairness as a method. */
function objectiveMethod(name: string): MethodFactory {
  return ({ dataset, seed, params, model, batchSize }) => {
    const { trainGroups, ...options } = params as { trainGroups?: unknown } & Record<string, unknown>;
    const aware = needsGroups(name);
    if (aware && typeof trainGroups !== 'string') {
      throw new RangeError(`method ${name} trains on user groups: give methods.${name}.trainGroups (e.g. "popularity:2060", "length", "popularity×length", "random:gender")`);
    }
    if (!aware && trainGroups !== undefined) throw new RangeError(`method ${name} is group-agnostic: it takes no trainGroups (got ${JSON.stringify(trainGroups)})`);
    const groups = aware ? trainingGroups(dataset, trainGroups as string, seed) : null;
    const kind = model?.targetKind ?? 'next';
    // one row per user: the true epoch for SASRec / GRU4Rec, a quarter of it for NARM's prefix rows
    // and BERT4Rec's windows on ML-100K (src/fairness/afsr.ts, refresh schedule)
    const stepsPerEpoch = Math.max(1, Math.ceil(trainableUsers(dataset, kind).length / (batchSize ?? 64)));
    // adv reads only the hidden size from its setup when no model is given
    const forSetup = model ?? ({ hiddenSize: 64, targetKind: 'next' } as unknown as SequentialRecommender);
    const objective = createObjective(name, options, { model: forSetup, dataset, groups, stepsPerEpoch, seed });
    const config = (objective as { config?: Record<string, unknown> }).config ?? {};
    // ipw's config lists its group counts and weights: keep them out of the key-relevant params
    const recorded = name.startsWith('ipw') ? { ...options } : { ...config };
    return {
      objective,
      groups: groups ? { ids: groups.ids, numGroups: groups.numGroups } : null,
      params: aware ? { ...recorded, trainGroups } : recorded,
    };
  };
}

const registry = new Map<string, MethodFactory>([
  ['erm', () => ({ objective: new ErmObjective(), params: {} })],
  ...OBJECTIVE_NAMES.filter((n) => n !== 'erm').map((n): [string, MethodFactory] => [n, objectiveMethod(n)]),
]);

export function registerMethod(name: string, factory: MethodFactory): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`registerMethod: '${name}' must be lower-case letters, digits and dashes`);
  registry.set(name, factory);
}

export function methodNames(): string[] {
  return [...registry.keys()];
}

export function createMethod(name: string, ctx: MethodContext): MethodSetup {
  const f = registry.get(name);
  if (f === undefined) throw new RangeError(`unknown method '${name}' (known: ${methodNames().join(', ')})`);
  return f(ctx);
}
