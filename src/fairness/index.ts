/**
 * The training objectives by name (the method names of the command line and of results.json):
 *
 * | name               | groups | what (file)                                                     |
 * | ------------------ | ------ | --------------------------------------------------------------- |
 * | erm                | –      | mean per-sequence loss, the papers' Naive / ERM (erm.ts)         |
 * | ipw, ipw-log       | yes    | inverse group-frequency weights (ipw.ts)                        |
 * | class-balanced(-log)| –     | inverse item-frequency weights inside the CE (class-balanced.ts)|
 * | reg                | yes    | ERM + λ·Σ |group mean gaps| (reg.ts)                            |
 * | adv                | yes    | adversary through a gradient-reversal layer (adv.ts)            |
 * | group-dro          | yes    | Sagawa et al. exponentiated group weights (group-dro.ts)        |
 * | streaming-dro      | yes    | Wen et al. streamed group losses (streaming-dro.ts)             |
 * | cvar-dro           | –      | Levy et al. worst α-fraction (cvar-dro.ts)                      |
 * | afsr               | –      | A-FSR, SIGIR 2024 (afsr*.ts); ablations afsr-no-dns, afsr-no-dro |
 *
 * `createObjective(name, options, setup)`: `options` are the method's hyper-parameters (each file
 * lists them with their defaults and sources; an unknown key is an error), `setup` what a method
 * reads from the run: the model, the training data, the user groups, steps per epoch, a seed.
 * Every objective's `config` records the values it runs with (defaults filled in).
 */
import { trainableUsers } from '../data/batching.js';
import type { Dataset } from '../data/preprocess.js';
import { groupCounts as countGroups } from '../data/user-groups.js';
import type { SequentialRecommender } from '../models/types.js';
import { ADV_DEFAULTS, AdvObjective, type AdvOptions } from './adv.js';
import { AFSR_DEFAULTS, AfsrObjective, type AfsrOptions } from './afsr.js';
import { ClassBalancedObjective } from './class-balanced.js';
import { checkOptionKeys } from './common.js';
import { CVAR_DRO_DEFAULTS, CvarDroObjective, type CvarDroOptions } from './cvar-dro.js';
import { ErmObjective } from './erm.js';
import { GROUP_DRO_DEFAULTS, GroupDroObjective, type GroupDroOptions } from './group-dro.js';
import { IpwObjective } from './ipw.js';
import type { Objective } from './objective.js';
import { REG_DEFAULTS, RegObjective, type RegOptions } from './reg.js';
import { STREAMING_DRO_DEFAULTS, StreamingDroObjective, type StreamingDroOptions } from './streaming-dro.js';

export type { Objective, ObjectiveContext } from './objective.js';
export { ErmObjective, erm, checkFiniteLoss } from './erm.js';
export { cvarWeights } from './cvar.js';
export { chi2Weights } from './chi2.js';
export { exponentiatedStep, robustLoss, streamLosses } from './group-weights.js';
export { IpwObjective, ipwWeights } from './ipw.js';
export type { IpwVariant } from './ipw.js';
export { ClassBalancedObjective, classBalancedWeights } from './class-balanced.js';
export type { ClassBalancedVariant } from './class-balanced.js';
export { RegObjective, REG_DEFAULTS } from './reg.js';
export type { RegOptions } from './reg.js';
export { AdvObjective, Adversary, ADV_DEFAULTS, ADV_INIT_STREAM } from './adv.js';
export type { AdvOptions } from './adv.js';
export { gradientReversal } from './grl.js';
export { GroupDroObjective, GROUP_DRO_DEFAULTS } from './group-dro.js';
export type { GroupDroOptions } from './group-dro.js';
export { StreamingDroObjective, STREAMING_DRO_DEFAULTS } from './streaming-dro.js';
export type { StreamingDroOptions } from './streaming-dro.js';
export { CvarDroObjective, CVAR_DRO_DEFAULTS } from './cvar-dro.js';
export type { CvarDroOptions } from './cvar-dro.js';
export { AfsrObjective, AFSR_DEFAULTS } from './afsr.js';
export type { AfsrOptions, AfsrVariant, AfsrBatchInfo } from './afsr.js';
export { firstPass, locateSpans, realItemMask, topIndicators } from './afsr-locate.js';
export type { FirstPass, SpanLocation } from './afsr-locate.js';
export { NeighbourTable, embedItems, itemEmbeddings } from './afsr-neighbours.js';
export { smoothSpans } from './afsr-smooth.js';
export type { Smoothing, SmoothOptions } from './afsr-smooth.js';
export { auditSpans, spanItemCounts } from './afsr-audit.js';
export type { SpanAudit, AuditOptions } from './afsr-audit.js';

export const OBJECTIVE_NAMES = Object.freeze([
  'erm', 'ipw', 'ipw-log', 'class-balanced', 'class-balanced-log', 'reg', 'adv', 'group-dro', 'streaming-dro', 'cvar-dro',
  'afsr', 'afsr-no-dns', 'afsr-no-dro',
] as const);

export type ObjectiveName = (typeof OBJECTIVE_NAMES)[number];

const GROUP_AWARE: ReadonlySet<string> = new Set(['ipw', 'ipw-log', 'reg', 'adv', 'group-dro', 'streaming-dro']);

export function isObjectiveName(name: string): name is ObjectiveName {
  return (OBJECTIVE_NAMES as readonly string[]).includes(name);
}

/** true for the methods that read user groups in training (they fail without them). */
export function needsGroups(name: string): boolean {
  if (!isObjectiveName(name)) throw new Error(`needsGroups: unknown objective '${name}' (known: ${OBJECTIVE_NAMES.join(', ')})`);
  return GROUP_AWARE.has(name);
}

/** Each method's default hyper-parameters (for reports and `--help`); see the method's file for sources. */
export const OBJECTIVE_DEFAULTS: Readonly<Record<ObjectiveName, Readonly<Record<string, unknown>>>> = {
  erm: {},
  ipw: {},
  'ipw-log': {},
  'class-balanced': {},
  'class-balanced-log': {},
  reg: REG_DEFAULTS,
  adv: { ...ADV_DEFAULTS, hidden: 'model hiddenSize' },
  'group-dro': GROUP_DRO_DEFAULTS,
  'streaming-dro': STREAMING_DRO_DEFAULTS,
  'cvar-dro': CVAR_DRO_DEFAULTS,
  afsr: { ...AFSR_DEFAULTS, radius: 'lambda', refreshEvery: 'stepsPerEpoch (else 100)' },
  'afsr-no-dns': { ...AFSR_DEFAULTS, smoothing: false, radius: 'lambda', refreshEvery: 'stepsPerEpoch (else 100)' },
  'afsr-no-dro': { ...AFSR_DEFAULTS, lambda: 0, radius: 0, refreshEvery: 'stepsPerEpoch (else 100)' },
};

/** What an objective may read from the run, beyond its hyper-parameters. */
export interface ObjectiveSetup {
  /** the model being trained: adv sizes its adversary from model.hiddenSize */
  model?: SequentialRecommender;
  /**
   * the training data: class-balanced counts item frequencies in it (itemPopularity), ipw counts
   * group frequencies over its trainable users (for the model's target kind when a model is given)
   */
  dataset?: Dataset;
  /** group id per user (the trainer's `groups`) for the group-aware methods */
  groups?: { ids: Int32Array; numGroups: number } | null;
  /** optimiser steps per epoch: afsr rebuilds its neighbour table once per epoch by default */
  stepsPerEpoch?: number;
  /** seed of adv's adversary initialisation, when options.seed is not given */
  seed?: number;
  /** explicit training group sizes for ipw (default: counted from groups and dataset) */
  groupCounts?: ArrayLike<number>;
  /** explicit training item counts (length numItems + 1) for class-balanced (default: dataset.itemPopularity) */
  itemCounts?: ArrayLike<number>;
}

function need<T>(name: string, what: string, v: T | null | undefined): T {
  if (v === undefined || v === null) throw new Error(`createObjective('${name}'): needs ${what}`);
  return v;
}

/** Training users per group for ipw: over the trainable users of the data set when it is given. */
function trainingGroupCounts(name: string, setup: ObjectiveSetup): ArrayLike<number> {
  if (setup.groupCounts) return setup.groupCounts;
  const g = need(name, 'setup.groups (a group id per user) or setup.groupCounts', setup.groups);
  const ds = setup.dataset;
  if (!ds) return countGroups(g.ids, g.numGroups);
  if (g.ids.length !== ds.numUsers) throw new Error(`createObjective('${name}'): ${g.ids.length} group ids but ${ds.name} has ${ds.numUsers} users`);
  const users = trainableUsers(ds, setup.model?.targetKind ?? 'next');
  return countGroups(g.ids, g.numGroups, users);
}

/** Builds an objective by name (see the file comment). */
export function createObjective(name: string, options: Record<string, unknown> = {}, setup: ObjectiveSetup = {}): Objective {
  if (!isObjectiveName(name)) throw new Error(`createObjective: unknown objective '${name}' (known: ${OBJECTIVE_NAMES.join(', ')})`);
  const groupsOf = (): number => need(name, 'setup.groups (a group id per user)', setup.groups).numGroups;
  switch (name) {
    case 'erm':
      checkOptionKeys(name, options, []);
      return new ErmObjective();
    case 'ipw':
    case 'ipw-log':
      checkOptionKeys(name, options, []);
      return new IpwObjective(trainingGroupCounts(name, setup), name);
    case 'class-balanced':
    case 'class-balanced-log': {
      checkOptionKeys(name, options, []);
      const counts = setup.itemCounts ?? need(name, 'setup.dataset (item frequencies) or setup.itemCounts', setup.dataset).itemPopularity;
      return new ClassBalancedObjective(counts, name);
    }
    case 'reg':
      return new RegObjective(groupsOf(), options as RegOptions);
    case 'adv': {
      const model = need(name, 'setup.model (the adversary reads its hidden states)', setup.model);
      const o = { ...options } as AdvOptions;
      if (o.seed === undefined && setup.seed !== undefined) o.seed = setup.seed;
      return new AdvObjective(model.hiddenSize, groupsOf(), o);
    }
    case 'group-dro':
      return new GroupDroObjective(groupsOf(), options as GroupDroOptions);
    case 'streaming-dro':
      return new StreamingDroObjective(groupsOf(), options as StreamingDroOptions);
    case 'cvar-dro':
      return new CvarDroObjective(options as CvarDroOptions);
    case 'afsr':
    case 'afsr-no-dns':
    case 'afsr-no-dro':
      return new AfsrObjective(options as AfsrOptions, name, setup.stepsPerEpoch);
  }
}
