/**
 * The training loop: epochs of seeded batches, an objective (ERM by default) over per-sequence
 * losses, Adam/AdamW, optional gradient clipping, validation every k epochs with early stopping
 * on a chosen metric and restore of the best weights, a JSON-lines log of every epoch, and
 * checkpoints that resume an interrupted run to exactly the result of an uninterrupted one.
 *
 * Defaults are the A-FSR paper's settings (SIGIR 2024, Sec. 5.1): AdamW, lr 1e-3, weight decay
 * 0.01, batch 64, no warm-up; validation NDCG@5 under sampled ranking with popularity negatives.
 *
 * Examples per epoch: every position of every user's training sequence (its last maxLen items) for
 * 'next' and 'cloze' models; for 'last' models (NARM) every prefix by default, all prefixes of a
 * window in one row (batches.ts, `lastTargets`).
 *
 * Determinism. Everything random is a function of (seed, epoch, …) rather than of how much
 * randomness earlier work consumed, so a run restarted from the checkpoint of epoch e draws exactly
 * what the uninterrupted run drew in epoch e+1:
 *  - batch order: src/data/batching.ts, Philox block `epoch` of the shuffle stream (prefix
 *    examples: batches.ts, the same scheme on its own stream);
 *  - BERT4Rec masks: a function of (seed, epoch, user) (batching.ts);
 *  - dropout and loss negatives: at the start of epoch e every Generator the model holds (found on
 *    its modules, the init stream excepted), the engine's default dropout / negatives / masking /
 *    dirichlet generators (seeded by `manualSeed(seed)` at the start of train()) and the loss's
 *    negatives generator are moved to counter offset e·2^40. Epochs thus use disjoint counter
 *    ranges of 2^40 numbers each;
 *  - the optimiser's moments and step counts, the objective's state, the weights (f32, bit-exact
 *    in safetensors) and the early-stopping state are in the checkpoint.
 * Model initialisation is the caller's (build the model from a seeded Generator; src/compare does).
 *
 * Rows without a target and the per-sequence mean: see losses.ts. Epochs in logs and results are
 * 1-based; the data layer's epoch index (shuffles, masks) is epoch − 1.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Generator, Streams, type Tensor, generator, manualSeed, scope } from '../engine/index.js';
import type { Dataset } from '../data/preprocess.js';
import { type LastTargets, epochBatchCount, epochBatches } from './batches.js';
import type { SequentialRecommender } from '../models/types.js';
import type { Objective } from '../fairness/objective.js';
import { ErmObjective } from '../fairness/erm.js';
import { Adam, AdamW, clipGradNorm } from '../optim/index.js';
import {
  type ProtocolSpec, evaluate, flatMetrics, parseMetric, parseProtocolKey, protocolKey, readMetric, resolveProtocol,
} from '../eval/evaluate.js';
import { makeContext } from './context.js';
import { type LossKind, LOSS_KINDS, defaultNegatives, targetCounts } from './losses.js';
import { decodeOptimizer, findSnapshot, loadModel, readSnapshotState, saveModel, writeSnapshot } from './checkpoint.js';

export interface ValidationConfig {
  /** metric to select on: 'ndcg@5' (default), 'recall@10', 'mrr', … */
  metric?: string;
  /** ranking protocol of the validation (default sampled, popularity negatives, 100) */
  protocol?: ProtocolSpec;
  /** validate every k epochs (default 1); the last epoch is always validated */
  every?: number;
  /** validations without improvement before stopping (default 10); 0 = never stop early */
  patience?: number;
  /** seed of the validation negatives (default: the training seed) */
  seed?: number;
}

export type EpochProgress =
  | { phase: 'batch'; epoch: number; epochs: number; batch: number; batches: number; loss: number; itemsPerSec: number; elapsedS: number }
  | { phase: 'epoch'; record: EpochRecord };

/** Group ids for group-aware objectives: one per user index, in 0..numGroups−1. */
export interface TrainGroups {
  ids: Int32Array;
  numGroups: number;
}

export interface TrainConfig {
  /** default ERM */
  objective?: Objective;
  epochs: number;
  /** default 64 */
  batchSize?: number;
  /** default 1e-3 */
  lr?: number;
  /** default 0.01 (decoupled for AdamW, L2 for Adam) */
  weightDecay?: number;
  /** default 'adamw' */
  optimizer?: 'adamw' | 'adam';
  /** clip the global gradient norm to this value (default: no clipping) */
  clipNorm?: number | null;
  seed: number;
  /** input length (default and maximum: model.maxLen) */
  maxLen?: number;
  /** per-sequence loss (default 'ce', full softmax) */
  loss?: LossKind;
  /** negatives of the sampled losses (default 100 for sampled-softmax, 1 for bce) */
  numNegatives?: number;
  /** BERT4Rec's cloze masking probability (default 0.2) */
  maskProb?: number;
  /** last-position models (NARM): train on every prefix (default 'all'), one random prefix per user, or the last item only (batches.ts) */
  lastTargets?: LastTargets;
  /**
   * next-item and cloze models (SASRec, GRU4Rec, BERT4Rec): 0 trains each user's newest maxLen
   * items only; p in (0, 1] trains sliding windows every max(1, ⌊p·maxLen⌋) items over the whole
   * training sequence, as the original BERT4Rec's prop_sliding_window (src/data/batching.ts).
   * Default: the model's `defaultSlidingWindow` (BERT4Rec 0.5, the original's), else 0
   */
  slidingWindow?: number;
  /** early stopping; false = train all epochs and keep the last weights */
  validation?: ValidationConfig | false;
  /** a JSON-lines file (rewritten from the checkpoint's history on resume) or a callback per epoch */
  log?: string | ((record: EpochRecord) => void);
  /** where to keep `last/` and `best/` snapshots; a run with a snapshot there resumes from it */
  checkpointDir?: string;
  /** resume from checkpointDir when it holds a snapshot (default true) */
  resume?: boolean;
  onProgress?: (p: EpochProgress) => void;
  /** group ids per user for group-aware objectives (default: none, ctx.groups = null) */
  groups?: TrainGroups | null;
}

/** One line of the training log. */
export interface EpochRecord {
  epoch: number;
  /** global optimiser steps after this epoch */
  step: number;
  /** mean objective value over the epoch's batches */
  train_loss: number;
  /** validation metrics (recall@k, ndcg@k, mrr) when validated this epoch, else null */
  valid: Record<string, number> | null;
  /** mean full-softmax cross-entropy of the validation targets, when validated */
  valid_loss: number | null;
  /** best epoch and value of the selection metric so far */
  best_epoch: number | null;
  best_value: number | null;
  lr: number;
  /** seconds of training (without validation) and of validation */
  time_s: number;
  valid_time_s: number;
  /** target items (predicted positions) and sequences per second of training */
  items_per_s: number;
  seqs_per_s: number;
  /** mean global gradient norm before clipping (only when clipping) */
  grad_norm?: number;
}

/** The config with defaults filled in, as recorded in checkpoints and results (JSON-safe). */
export interface ResolvedTrainConfig {
  objective: string;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  optimizer: 'adamw' | 'adam';
  clipNorm: number | null;
  seed: number;
  maxLen: number;
  loss: LossKind;
  numNegatives: number;
  maskProb: number;
  /** only for last-position models (absent otherwise, so other models' configs are unchanged) */
  lastTargets?: LastTargets;
  /** only when > 0 (absent otherwise, so configs without windows are unchanged) */
  slidingWindow?: number;
  validation: { metric: string; protocol: string; every: number; patience: number; seed: number } | null;
}

export interface TrainResult {
  config: ResolvedTrainConfig;
  /** epochs run in total (over all resumed parts) */
  epochsTrained: number;
  /** epoch whose weights the model holds at the end (best validation; the last without validation) */
  bestEpoch: number | null;
  bestValue: number | null;
  stoppedEarly: boolean;
  history: EpochRecord[];
  /** epoch of the snapshot this call resumed from (null: started fresh) */
  resumedFrom: number | null;
  steps: number;
}

const EPOCH_STRIDE = 2 ** 40;

/** Fills in defaults and checks every field; throws naming the bad field. */
export function resolveTrainConfig(model: SequentialRecommender, c: TrainConfig): ResolvedTrainConfig {
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new RangeError(`train: ${field} must be ${expected}, got ${JSON.stringify(got)}`);
  };
  const posInt = (field: string, v: unknown): number => (Number.isInteger(v) && (v as number) >= 1 ? v as number : bad(field, 'a positive integer', v));
  const nonNeg = (field: string, v: unknown): number => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? v : bad(field, 'a finite number >= 0', v));
  const epochs = posInt('epochs', c.epochs);
  const batchSize = posInt('batchSize', c.batchSize ?? 64);
  const lr = nonNeg('lr', c.lr ?? 1e-3);
  const weightDecay = nonNeg('weightDecay', c.weightDecay ?? 0.01);
  const optimizer = c.optimizer ?? 'adamw';
  if (optimizer !== 'adamw' && optimizer !== 'adam') bad('optimizer', "'adamw' or 'adam'", optimizer);
  const clipNorm = c.clipNorm ?? null;
  if (clipNorm !== null && !(clipNorm > 0 && Number.isFinite(clipNorm))) bad('clipNorm', 'a finite number > 0 (or null)', clipNorm);
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) bad('seed', 'a non-negative integer', c.seed);
  const maxLen = c.maxLen ?? model.maxLen;
  if (!Number.isInteger(maxLen) || maxLen < 1 || maxLen > model.maxLen) bad('maxLen', `an integer in [1, ${model.maxLen}] (the model's maximum)`, maxLen);
  const loss = c.loss ?? 'ce';
  if (!LOSS_KINDS.includes(loss)) bad('loss', LOSS_KINDS.map((k) => `'${k}'`).join(' | '), loss);
  const numNegatives = loss === 'ce' ? 0 : posInt('numNegatives', c.numNegatives ?? defaultNegatives(loss));
  const maskProb = c.maskProb ?? 0.2;
  if (!(maskProb > 0 && maskProb <= 1)) bad('maskProb', 'in (0, 1]', maskProb);
  let validation: ResolvedTrainConfig['validation'] = null;
  if (c.validation !== false) {
    const v = c.validation ?? {};
    const metric = (v.metric ?? 'ndcg@5').toLowerCase();
    parseMetric(metric);
    const protocol = protocolKey(resolveProtocol(v.protocol ?? { protocol: 'sampled', negatives: 'popularity' }));
    const every = posInt('validation.every', v.every ?? 1);
    const patience = v.patience ?? 10;
    if (!Number.isInteger(patience) || patience < 0) bad('validation.patience', 'an integer >= 0', patience);
    const seed = v.seed ?? c.seed;
    if (!Number.isSafeInteger(seed) || seed < 0) bad('validation.seed', 'a non-negative integer', seed);
    validation = { metric, protocol, every, patience, seed };
  }
  const out: ResolvedTrainConfig = {
    objective: (c.objective ?? new ErmObjective()).name, epochs, batchSize, lr, weightDecay, optimizer, clipNorm,
    seed: c.seed, maxLen, loss, numNegatives, maskProb, validation,
  };
  if (model.targetKind === 'last') {
    const lastTargets = c.lastTargets ?? 'all';
    if (!['all', 'random', 'last'].includes(lastTargets)) bad('lastTargets', "'all', 'random' or 'last'", lastTargets);
    out.lastTargets = lastTargets;
  }
  const slidingWindow = c.slidingWindow ?? model.defaultSlidingWindow ?? 0;
  if (!(typeof slidingWindow === 'number' && slidingWindow >= 0 && slidingWindow <= 1)) bad('slidingWindow', 'a number in [0, 1]', slidingWindow);
  if (slidingWindow > 0) {
    if (model.targetKind === 'last') bad('slidingWindow', "0 for a last-position model (NARM trains every prefix: lastTargets 'all')", slidingWindow);
    out.slidingWindow = slidingWindow;
  }
  return out;
}

/** Every Generator the model's modules hold (dropout generators and the like), init streams excepted. */
function modelGenerators(model: SequentialRecommender): Generator[] {
  const found = new Set<Generator>();
  for (const [, m] of model.namedModules()) {
    for (const v of Object.values(m)) if (v instanceof Generator && v.stream !== Streams.init) found.add(v);
  }
  return [...found];
}

/** Config fields that must agree between a run and the snapshot it resumes. */
function configMismatch(a: ResolvedTrainConfig, b: ResolvedTrainConfig): string[] {
  const keys = Object.keys(a) as (keyof ResolvedTrainConfig)[];
  return keys.filter((k) => k !== 'epochs' && JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: checkpoint ${JSON.stringify(b[k])}, now ${JSON.stringify(a[k])}`);
}

function describeModel(model: SequentialRecommender): Record<string, unknown> {
  return {
    name: model.modelName, numItems: model.numItems, vocabSize: model.vocabSize, maxLen: model.maxLen, hiddenSize: model.hiddenSize,
    parameters: Object.fromEntries(model.namedParameters().map(([n, p]) => [n, p.shape])),
  };
}

/**
 * Trains `model` on `ds` (see the file comment). Returns when the epochs are done or early
 * stopping triggers; the model then holds the best validation weights (or the last ones without
 * validation).
 */
export function train(model: SequentialRecommender, ds: Dataset, config: TrainConfig): TrainResult {
  const cfg = resolveTrainConfig(model, config);
  if (model.numItems !== ds.numItems) {
    throw new Error(`train: the model has ${model.numItems} items but the data set ${ds.name} has ${ds.numItems}`);
  }
  const objective = config.objective ?? new ErmObjective();
  const params = model.parameters();
  const names = model.namedParameters().map(([n]) => n);
  const opt = cfg.optimizer === 'adamw'
    ? new AdamW(params, { lr: cfg.lr, weightDecay: cfg.weightDecay })
    : new Adam(params, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  manualSeed(cfg.seed);
  const lossGen = new Generator(cfg.seed, Streams.negatives);
  const gens = [...modelGenerators(model), lossGen];
  const defaultStreams = [Streams.dropout, Streams.negatives, Streams.masking, Streams.dirichlet];
  const positionRngs = (epoch: number): void => {
    for (const g of gens) g.position = epoch * EPOCH_STRIDE;
    for (const s of defaultStreams) generator(s).position = epoch * EPOCH_STRIDE;
  };
  const groups = config.groups ?? null;
  if (groups !== null && groups.ids.length !== ds.numUsers) {
    throw new RangeError(`train: groups.ids has ${groups.ids.length} entries but the data set has ${ds.numUsers} users`);
  }

  // ---- state (fresh or from the checkpoint) -------------------------------------------------
  let startEpoch = 0;
  let step = 0;
  let history: EpochRecord[] = [];
  let bestEpoch: number | null = null;
  let bestValue: number | null = null;
  let sinceBest = 0;
  let stoppedEarly = false;
  let finished = false;
  let bestWeights: Map<string, Tensor> | null = null;
  let resumedFrom: number | null = null;
  const ckDir = config.checkpointDir;
  const lastDir = ckDir ? path.join(ckDir, 'last') : null;
  const bestFile = ckDir ? path.join(ckDir, 'best', 'model.safetensors') : null;
  const snap = lastDir && (config.resume ?? true) ? findSnapshot(lastDir) : null;
  if (snap !== null) {
    const st = readSnapshotState(snap);
    const mismatch = configMismatch(cfg, st.config as ResolvedTrainConfig);
    if (mismatch.length) {
      throw new Error(`train: the checkpoint in ${ckDir} was made with another config (${mismatch.join('; ')}); use another checkpoint directory or resume: false`);
    }
    loadModel(model, path.join(snap, 'model.safetensors'));
    opt.loadStateDict(decodeOptimizer(path.join(snap, 'optimizer.safetensors'), names, cfg.optimizer));
    objective.loadStateDict((st.objectiveState ?? {}) as Record<string, unknown>);
    startEpoch = st.epoch as number;
    step = st.step as number;
    history = st.history as EpochRecord[];
    bestEpoch = st.bestEpoch as number | null;
    bestValue = st.bestValue as number | null;
    sinceBest = st.sinceBest as number;
    stoppedEarly = st.stoppedEarly as boolean;
    // a run that reached its epochs continues when asked for more; one that stopped early does not
    finished = stoppedEarly || startEpoch >= cfg.epochs;
    resumedFrom = startEpoch;
    if (bestEpoch !== null && bestFile && existsSync(bestFile)) {
      const current = model.stateDict();
      loadModel(model, bestFile);
      bestWeights = model.stateDict();
      model.loadStateDict(current);
    }
  }
  const logFile = typeof config.log === 'string' ? config.log : null;
  if (logFile !== null) {
    mkdirSync(path.dirname(path.resolve(logFile)), { recursive: true });
    writeFileSync(logFile, history.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  const emit = (r: EpochRecord): void => {
    if (logFile !== null) appendFileSync(logFile, `${JSON.stringify(r)}\n`);
    else if (typeof config.log === 'function') config.log(r);
    config.onProgress?.({ phase: 'epoch', record: r });
  };

  const kind = model.targetKind;
  const lastTargets = cfg.lastTargets ?? 'last';
  const slidingWindow = cfg.slidingWindow ?? 0;
  const nBatches = epochBatchCount(ds, kind, { batchSize: cfg.batchSize, maxLen: cfg.maxLen, lastTargets, slidingWindow });
  if (nBatches === 0) throw new Error(`train: no user of ${ds.name} has a training target for a '${kind}' model`);
  const v = cfg.validation;
  const vProtocol = v ? parseProtocolKey(v.protocol) : null;

  for (let epoch = startEpoch + 1; epoch <= cfg.epochs && !finished; epoch++) {
    positionRngs(epoch);
    model.train();
    const t0 = performance.now();
    let lossSum = 0, batches = 0, items = 0, seqs = 0, normSum = 0;
    let b = 0;
    for (const batch of epochBatches(ds, kind, { batchSize: cfg.batchSize, maxLen: cfg.maxLen, seed: cfg.seed, epoch: epoch - 1, maskProb: cfg.maskProb, lastTargets, slidingWindow })) {
      // one scope per step: its kernel outputs are recycled by the next step (buffer-pool.ts)
      const lv = scope(() => {
        opt.zeroGrad();
        const ctx = makeContext(model, batch, step, groups, { loss: cfg.loss, numNegatives: cfg.numNegatives, gen: lossGen });
        const loss = objective.loss(ctx);
        const value = loss.item();
        if (!Number.isFinite(value)) throw new Error(`train: ${objective.name} returned the loss ${value} at step ${step} (epoch ${epoch}, batch ${b + 1})`);
        loss.backward();
        if (cfg.clipNorm !== null) normSum += clipGradNorm(params, cfg.clipNorm);
        opt.step();
        return value;
      });
      step++;
      b++;
      lossSum += lv;
      batches++;
      seqs += batch.B;
      for (const c of targetCounts(batch)) items += c;
      if (config.onProgress) {
        const el = (performance.now() - t0) / 1000;
        config.onProgress({ phase: 'batch', epoch, epochs: cfg.epochs, batch: b, batches: nBatches, loss: lv, itemsPerSec: items / Math.max(el, 1e-9), elapsedS: el });
      }
    }
    const trainTime = (performance.now() - t0) / 1000;

    let valid: Record<string, number> | null = null;
    let validLoss: number | null = null;
    let validTime = 0;
    if (v && vProtocol && (epoch % v.every === 0 || epoch === cfg.epochs)) {
      const t1 = performance.now();
      const ev = evaluate(model, ds, { split: 'valid', protocols: vProtocol, seed: v.seed, maxLen: cfg.maxLen });
      const pe = ev.protocols[v.protocol]!;
      valid = flatMetrics(pe.overall);
      validLoss = ev.meanLoss;
      const value = readMetric(pe.overall, v.metric);
      if (bestValue === null || value > bestValue) {
        bestValue = value;
        bestEpoch = epoch;
        sinceBest = 0;
        bestWeights = model.stateDict();
        if (bestFile) saveModel(model, bestFile, { epoch: String(epoch), metric: v.metric, value: String(value) });
      } else {
        sinceBest++;
      }
      validTime = (performance.now() - t1) / 1000;
      if (v.patience > 0 && sinceBest >= v.patience) {
        stoppedEarly = true;
        finished = true;
      }
    }
    if (epoch === cfg.epochs) finished = true;
    const record: EpochRecord = {
      epoch, step, train_loss: lossSum / batches, valid, valid_loss: validLoss, best_epoch: bestEpoch, best_value: bestValue,
      lr: opt.lr, time_s: trainTime, valid_time_s: validTime, items_per_s: items / trainTime, seqs_per_s: seqs / trainTime,
    };
    if (cfg.clipNorm !== null) record.grad_norm = normSum / batches;
    history.push(record);
    if (lastDir) {
      writeSnapshot(lastDir, {
        model,
        optimizer: { state: opt.stateDict(), kind: cfg.optimizer },
        state: {
          epoch, step, config: cfg, model: describeModel(model), objectiveState: objective.stateDict(), history,
          bestEpoch, bestValue, sinceBest, stoppedEarly, finished,
        },
      });
    }
    emit(record);
  }

  // a run that had already finished when resumed falls through the loop: restore its best weights
  if (v && bestWeights !== null) model.loadStateDict(bestWeights);
  const epochsTrained = history.length ? history[history.length - 1]!.epoch : 0;
  return {
    config: cfg, epochsTrained, bestEpoch: v ? bestEpoch : epochsTrained, bestValue: v ? bestValue : null, stoppedEarly,
    history, resumedFrom, steps: step,
  };
}
