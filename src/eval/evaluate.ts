/**
 * Evaluation of a trained model on the leave-one-out split, on the engine, in batches under
 * noGrad and eval mode (dropout off):
 *
 *   for each user of the split: input = the history before the target, the most recent maxLen
 *   items, left-padded (BERT4Rec: the last maxLen−1 items and the mask token, whose output scores
 *   the next item; src/data/batching.ts evalBatch)
 *   hidden = encode(embed(input)) at the last position          (B, D)
 *   scores = model.scores(hidden)                                 (B, vocabSize), one GEMM
 *   ranks  under every requested protocol from the same scores:
 *     full     the target among all items 1..numItems (padding and mask token never compete),
 *              optionally without the items of the input history (`excludeSeen`);
 *     sampled  the target among K = 100 negatives per user (uniform or popularity-proportional;
 *              src/eval/negatives.ts: drawn once per (data set, strategy, K, seed) and reused for
 *              validation and test and every epoch).
 *   Ranks are pessimistic on ties (metrics.ts), so a constant model scores as badly as possible.
 *   per-user metric vectors (Recall@k = HR@k, NDCG@k for k ∈ {3,5,10,20}, MRR), their means
 *   overall and per group of every requested grouping.
 *
 * Scoring once and ranking several ways is what lets one trained model be reported under the
 * three protocols the papers disagree on (issue 3) without training it three times.
 *
 * The per-user full-softmax cross-entropy of the target (log Σ_v exp s_v − s_target over the same
 * vocabulary the 'ce' training loss uses) comes along for free and is reported as `loss`: the
 * validation loss of the training log.
 */
import { Tensor, noGrad, scope } from '../engine/index.js';
import type { Dataset } from '../data/preprocess.js';
import { evalSplit } from '../data/preprocess.js';
import { evalBatch } from '../data/batching.js';
import type { SequentialRecommender } from '../models/types.js';
import {
  DEFAULT_KS, type GroupLabels, type MetricSummary, type UserMetrics, aggregateMetrics, metricsFromRanks, rankFull,
  rankSampled,
} from './metrics.js';
import { type NegativeSamples, type NegativeStrategy, negativesFor, sampleNegatives } from './negatives.js';

export type ProtocolName = 'full' | 'sampled';

export interface ProtocolSpec {
  protocol: ProtocolName;
  /** sampled: how negatives are drawn (default 'popularity', the setting that reproduces the A-FSR paper's SASRec row) */
  negatives?: NegativeStrategy;
  /** sampled: negatives per user (default 100) */
  numNegatives?: number;
  /** full: drop the items of the input history from the candidates (default false) */
  excludeSeen?: boolean;
}

/** Protocol specs with every default filled in. */
export type ResolvedProtocol = Required<ProtocolSpec>;

export function resolveProtocol(p: ProtocolSpec): ResolvedProtocol {
  if (p.protocol !== 'full' && p.protocol !== 'sampled') {
    throw new RangeError(`protocol must be 'full' or 'sampled', got '${String(p.protocol)}'`);
  }
  const negatives = p.negatives ?? 'popularity';
  if (negatives !== 'popularity' && negatives !== 'uniform') {
    throw new RangeError(`negatives must be 'popularity' or 'uniform', got '${String(negatives)}'`);
  }
  const numNegatives = p.numNegatives ?? 100;
  if (!Number.isInteger(numNegatives) || numNegatives < 1) throw new RangeError(`numNegatives must be a positive integer, got ${numNegatives}`);
  return { protocol: p.protocol, negatives, numNegatives, excludeSeen: p.excludeSeen ?? false };
}

/**
 * A short stable name: 'full', 'full-unseen', 'sampled-popularity', 'sampled-uniform'
 * ('sampled-uniform-50' for another number of negatives).
 */
export function protocolKey(p: ProtocolSpec): string {
  const r = resolveProtocol(p);
  if (r.protocol === 'full') return r.excludeSeen ? 'full-unseen' : 'full';
  return `sampled-${r.negatives}${r.numNegatives === 100 ? '' : `-${r.numNegatives}`}`;
}

/** Inverse of protocolKey. */
export function parseProtocolKey(key: string): ResolvedProtocol {
  if (key === 'full') return resolveProtocol({ protocol: 'full' });
  if (key === 'full-unseen') return resolveProtocol({ protocol: 'full', excludeSeen: true });
  const m = /^sampled-(popularity|uniform)(?:-(\d+))?$/.exec(key);
  if (m) return resolveProtocol({ protocol: 'sampled', negatives: m[1] as NegativeStrategy, numNegatives: m[2] ? Number(m[2]) : 100 });
  throw new RangeError(`unknown protocol '${key}' (expected full, full-unseen, sampled-popularity, sampled-uniform)`);
}

export interface EvaluateOptions {
  /** default 'test' */
  split?: 'valid' | 'test';
  /** one protocol or several (default full ranking) */
  protocols?: ProtocolSpec | readonly ProtocolSpec[];
  /** seed of the sampled negatives (default 0) */
  seed?: number;
  /** groupings to summarise: name → label per user index */
  groupings?: Record<string, GroupLabels>;
  /** users per scoring batch (default 256) */
  batchSize?: number;
  /** input length (default model.maxLen) */
  maxLen?: number;
  ks?: readonly number[];
}

export interface ProtocolEvaluation {
  key: string;
  spec: ResolvedProtocol;
  perUser: UserMetrics;
  overall: MetricSummary;
  /** grouping → group label → summary */
  groups: Record<string, Record<string, MetricSummary>>;
}

export interface Evaluation {
  split: 'valid' | 'test';
  /** users in evaluation order (ascending) */
  users: Int32Array;
  /** per user: full-softmax cross-entropy of the target */
  loss: Float64Array;
  meanLoss: number;
  /** by protocolKey, in the order requested */
  protocols: Record<string, ProtocolEvaluation>;
}

// negatives are drawn once per (data set, strategy, K, seed) and reused (every epoch's validation)
const negativeCache = new WeakMap<Dataset, Map<string, NegativeSamples>>();

/** The sampled negatives of a data set (cached per data set object). */
export function negativesOf(ds: Dataset, strategy: NegativeStrategy, numNegatives: number, seed: number): NegativeSamples {
  let byKey = negativeCache.get(ds);
  if (byKey === undefined) negativeCache.set(ds, (byKey = new Map()));
  const key = `${strategy}:${numNegatives}:${seed}`;
  let s = byKey.get(key);
  if (s === undefined) byKey.set(key, (s = sampleNegatives(ds, { strategy, numNegatives, seed })));
  return s;
}

/** Runs `fn` with the model in eval mode and gradients off; restores the previous mode. */
export function inEvalMode<T>(model: SequentialRecommender, fn: () => T): T {
  const was = model.training;
  model.eval();
  try {
    return noGrad(fn);
  } finally {
    model.train(was);
  }
}

/**
 * Scores (B, vocabSize) of the next item after each input row (B, L) of an evaluation batch:
 * the hidden state at the last position through model.scores. Call under inEvalMode.
 */
export function scoreNext(model: SequentialRecommender, inputs: Int32Array, B: number, L: number): Float32Array {
  const ids = new Tensor(inputs, [B, L]);
  const mask = new Tensor(Int32Array.from(inputs, (v) => (v !== 0 ? 1 : 0)), [B, L]);
  const hidden = model.encode(model.embed(ids), mask, { lastOnly: true });
  if (hidden.rank !== 3 || hidden.shape[0] !== B) {
    throw new Error(`evaluate: ${model.modelName}.encode gave hidden (${hidden.shape.join(',')}) for ${B} rows; expected (${B},L',D)`);
  }
  const Lp = hidden.shape[1]!, D = hidden.shape[2]!;
  const last = Lp === 1 ? hidden.reshape([B, D]) : hidden.slice(1, Lp - 1, Lp).reshape([B, D]);
  const scores = model.scores(last);
  if (scores.rank !== 2 || scores.shape[0] !== B || scores.shape[1] !== model.vocabSize) {
    throw new Error(`evaluate: ${model.modelName}.scores gave (${scores.shape.join(',')}); expected (${B},${model.vocabSize})`);
  }
  return scores.f32('evaluate');
}

/** Evaluates `model` on a split of `ds` under one or more protocols (see the file comment). */
export function evaluate(model: SequentialRecommender, ds: Dataset, opts: EvaluateOptions = {}): Evaluation {
  const split = opts.split ?? 'test';
  const specs = (opts.protocols === undefined ? [{ protocol: 'full' as const }]
    : Array.isArray(opts.protocols) ? opts.protocols : [opts.protocols as ProtocolSpec]).map(resolveProtocol);
  const keys = specs.map(protocolKey);
  if (new Set(keys).size !== keys.length) throw new RangeError(`evaluate: protocol listed twice (${keys.join(', ')})`);
  const seed = opts.seed ?? 0;
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  const L = opts.maxLen ?? model.maxLen;
  if (!Number.isInteger(L) || L < 1 || L > model.maxLen) throw new RangeError(`evaluate: maxLen must be in [1, ${model.maxLen}] (the model's), got ${L}`);
  if (model.numItems !== ds.numItems) {
    throw new Error(`evaluate: the model has ${model.numItems} items but the data set ${ds.name} has ${ds.numItems}`);
  }
  const ks = opts.ks ?? DEFAULT_KS;
  const V = model.vocabSize;
  const N = ds.numItems;
  const es = evalSplit(ds, split);
  const n = es.users.length;
  if (n === 0) throw new Error(`evaluate: the ${split} split of ${ds.name} has no users`);
  const samples = specs.map((p) => (p.protocol === 'sampled' ? negativesOf(ds, p.negatives, p.numNegatives, seed) : null));
  const ranks = specs.map(() => new Int32Array(n));
  const loss = new Float64Array(n);
  const maskToken = model.maskToken ?? undefined;

  inEvalMode(model, () => {
    for (let s = 0; s < n; s += batchSize) {
      const e = Math.min(n, s + batchSize);
      const users = es.users.subarray(s, e);
      const rows = es.inputs.slice(s, e);
      const targets = es.targets.subarray(s, e);
      const batch = evalBatch(rows, users, L, targets, maskToken);
      // one scope per batch: only numbers leave it (into loss and ranks), its arrays are recycled
      scope(() => {
        const scores = scoreNext(model, batch.inputs, batch.B, L);
        for (let b = 0; b < batch.B; b++) loss[s + b] = crossEntropyRow(scores, b * V, V, targets[b]!);
        specs.forEach((p, i) => {
          const r = p.protocol === 'full'
            ? rankFull(scores, V, targets, { numItems: N, exclude: p.excludeSeen ? rows : undefined })
            : rankSampled(scores, V, targets, negativesFor(samples[i]!, users), p.numNegatives);
          ranks[i]!.set(r, s);
        });
      });
    }
  });

  let total = 0;
  for (const v of loss) total += v;
  const protocols: Record<string, ProtocolEvaluation> = {};
  specs.forEach((spec, i) => {
    const perUser = metricsFromRanks(es.users, ranks[i]!, ks);
    const groups: Record<string, Record<string, MetricSummary>> = {};
    for (const [name, labels] of Object.entries(opts.groupings ?? {})) groups[name] = aggregateMetrics(perUser, labels).groups;
    protocols[keys[i]!] = { key: keys[i]!, spec, perUser, overall: aggregateMetrics(perUser).overall, groups };
  });
  return { split, users: es.users.slice(), loss, meanLoss: total / n, protocols };
}

/** log Σ exp(row) − row[t], in double precision. */
function crossEntropyRow(scores: Float32Array, base: number, V: number, t: number): number {
  let mx = -Infinity;
  for (let j = 0; j < V; j++) mx = Math.max(mx, scores[base + j]!);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(scores[base + j]! - mx);
  return mx + Math.log(sum) - scores[base + t]!;
}

/**
 * A summary as the flat record of results.json: lower-case `recall@k`, `ndcg@k` for each k, then
 * `mrr` (the count of users is not a metric and is left out).
 */
export function flatMetrics(s: MetricSummary): Record<string, number> {
  const out: Record<string, number> = {};
  const ks = Object.keys(s.recall).map(Number).sort((a, b) => a - b);
  for (const k of ks) {
    out[`recall@${k}`] = s.recall[k]!;
    out[`ndcg@${k}`] = s.ndcg[k]!;
  }
  out.mrr = s.mrr;
  return out;
}

/** A protocol evaluation as results.json's `{overall, groups}` (metric records). */
export function flatEvaluation(p: ProtocolEvaluation): { overall: Record<string, number>; groups: Record<string, Record<string, Record<string, number>>> } {
  const groups: Record<string, Record<string, Record<string, number>>> = {};
  for (const [name, byLabel] of Object.entries(p.groups)) {
    groups[name] = Object.fromEntries(Object.entries(byLabel).map(([label, s]) => [label, flatMetrics(s)]));
  }
  return { overall: flatMetrics(p.overall), groups };
}

/** Parses a metric name like 'ndcg@5', 'recall@10', 'mrr' into (metric, k). */
export function parseMetric(name: string): { metric: 'recall' | 'ndcg' | 'mrr'; k?: number } {
  const s = name.toLowerCase();
  if (s === 'mrr') return { metric: 'mrr' };
  const m = /^(recall|hr|ndcg)@(\d+)$/.exec(s);
  if (!m || Number(m[2]) < 1) throw new RangeError(`metric must be recall@k, hr@k, ndcg@k or mrr, got '${name}'`);
  return { metric: m[1] === 'ndcg' ? 'ndcg' : 'recall', k: Number(m[2]) };
}

/** Reads a named metric ('ndcg@5', 'mrr') from a summary. */
export function readMetric(s: MetricSummary, name: string): number {
  const { metric, k } = parseMetric(name);
  if (metric === 'mrr') return s.mrr;
  const v = s[metric][k!];
  if (v === undefined) throw new RangeError(`metric ${name} was not computed (ks: ${Object.keys(s[metric]).join(', ')})`);
  return v;
}
