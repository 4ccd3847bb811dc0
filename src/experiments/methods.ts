/**
 * The fairness objectives of src/fairness as methods of the compare grid (src/compare/methods.ts
 * ships only `erm`; nothing registers the others yet). `registerFairnessMethods()` registers every
 * name of OBJECTIVE_NAMES with a factory that builds it through createObjective, so compare() —
 * and the experiment scripts of this folder, which call it before compare() — can run
 * `--methods erm,ipw,…,cvar-dro,afsr,afsr-no-dns,afsr-no-dro`.
 *
 * Method parameters (compare's `methodParams[method]`, the config file's `methods.<name>`) are the
 * objective's own options (each src/fairness file lists them), plus, for the group-aware methods
 * (ipw, ipw-log, reg, adv, group-dro, streaming-dro), which groups they TRAIN on:
 *
 *   trainGroups: '<grouping>'         any evaluation grouping spec of src/eval/groupings.ts
 *                                     (gender, group, popularity:2060, length:1080, …), or the
 *                                     intersection of two joined by '×' (popularity×length,
 *                                     popularity:2060×length:2060);
 *                'random:<grouping>'  the SIGIR 2024 protocol for baselines that need
 *                                     demographics: the grouping's labels permuted at random with
 *                                     the run's seed (same group sizes, no information about any
 *                                     user; src/data/user-groups.ts randomGroupLabels).
 *
 * There is no default for trainGroups: which groups a group-aware method trains on is the
 * experiment's choice, and a silent one would be easy to misread. The recorded params (part of
 * the run key) are the objective's resolved config (defaults filled in) plus trainGroups, so two
 * runs that trained on different groups never share a key.
 *
 * The factory sees neither the model nor the batch size: afsr's neighbour-table refresh (once per
 * epoch by default) counts steps per epoch with `batchSize` given at registration, and adv sizes
 * its adversary with `hiddenSize` given at registration (defaults 64 and 64, the trainer's and
 * the models' defaults and the papers' settings).
 */
import { trainableUsers } from '../data/batching.js';
import type { Dataset } from '../data/preprocess.js';
import { encodeGroups, intersectGroups, randomGroupLabels } from '../data/user-groups.js';
import { resolveGrouping } from '../eval/groupings.js';
import { registerMethod } from '../compare/methods.js';
import { OBJECTIVE_NAMES, createObjective, needsGroups } from '../fairness/index.js';
import { KNOWN_ORDERS } from '../report/summary.js';
import type { SequentialRecommender } from '../models/types.js';

export interface RegisterOptions {
  /** batch size the runs train with, for afsr's once-per-epoch refresh (default 64) */
  batchSize?: number;
  /** hidden size of the models, for adv's adversary input (default 64, every model's default) */
  hiddenSize?: number;
}

/** Per-user labels of a grouping spec, with 'a×b' intersections (see the file comment). */
export function groupingLabels(ds: Dataset, spec: string): string[] {
  const parts = spec.split('×');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new RangeError(`grouping '${spec}': expected one grouping or two joined by '×'`);
  const labels = parts.map((p) => resolveGrouping(ds, p).labels);
  return labels.length === 1 ? labels[0]! : intersectGroups(labels[0]!, labels[1]!);
}

/** Training groups of a group-aware method: 'random:<spec>' or '<spec>' (see the file comment). */
export function trainingGroups(ds: Dataset, spec: string, seed: number): { ids: Int32Array; numGroups: number; names: string[] } {
  const random = spec.startsWith('random:');
  const base = groupingLabels(ds, random ? spec.slice('random:'.length) : spec);
  const labels = random ? randomGroupLabels(base, seed) : base;
  // a known display order where one applies (M, F; niche, diverse, popular; …), else sorted
  const distinct = [...new Set(labels)];
  const known = KNOWN_ORDERS.find((o) => distinct.every((l) => o.includes(l)));
  return encodeGroups(labels, known ? known.filter((l) => distinct.includes(l)) : undefined);
}

/** Registers every objective of src/fairness as a compare method (again: replaces the factories). */
export function registerFairnessMethods(opts: RegisterOptions = {}): void {
  const batchSize = opts.batchSize ?? 64;
  // adv reads only model.hiddenSize from its setup (the factory does not see the model)
  const model = { hiddenSize: opts.hiddenSize ?? 64, targetKind: 'next' } as unknown as SequentialRecommender;
  for (const name of OBJECTIVE_NAMES) {
    if (name === 'erm') continue; // compare's own
    registerMethod(name, ({ dataset, seed, params }) => {
      const { trainGroups, ...options } = params as { trainGroups?: unknown } & Record<string, unknown>;
      const aware = needsGroups(name);
      if (aware && typeof trainGroups !== 'string') {
        throw new RangeError(`method ${name} trains on user groups: give methods.${name}.trainGroups (e.g. "popularity:2060", "length", "popularity×length", "random:gender")`);
      }
      if (!aware && trainGroups !== undefined) throw new RangeError(`method ${name} is group-agnostic: it takes no trainGroups (got ${JSON.stringify(trainGroups)})`);
      const groups = aware ? trainingGroups(dataset, trainGroups as string, seed) : null;
      const stepsPerEpoch = Math.ceil(trainableUsers(dataset, 'next').length / batchSize);
      const objective = createObjective(name, options, { model, dataset, groups, stepsPerEpoch, seed });
      const config = (objective as { config?: Record<string, unknown> }).config ?? {};
      // ipw's config lists its group counts and weights: keep them out of the key-relevant params
      const recorded = name.startsWith('ipw') ? { ...options } : { ...config };
      return {
        objective,
        groups: groups ? { ids: groups.ids, numGroups: groups.numGroups } : null,
        params: aware ? { ...recorded, trainGroups } : recorded,
      };
    });
  }
}
