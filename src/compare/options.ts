/**
 * Option handling shared by `seqfair compare` and `seqfair train`: value parsers for commander,
 * the config file, and the merge of config and flags into compare()/runOne() settings. Every
 * problem is a UsageError whose message names the flag or config field, what was expected and
 * what was given; the commands turn it into exit status 2.
 *
 * Config file (JSON), every field optional; flags override it:
 *   { "epochs": 200, "batchSize": 64, "lr": 0.001, "weightDecay": 0.01, "optimizer": "adamw",
 *     "clipNorm": 5, "loss": "ce", "numNegatives": 100, "maskProb": 0.2, "lastTargets": "all", "slidingWindow": 0, "maxLen": 50,
 *     "validation": { "metric": "ndcg@5", "patience": 20, "every": 1 },
 *     "model": { "hiddenSize": 64, "layers": 2, "heads": 2, "dropout": 0.2 },   (every model)
 *     "models": { "bert4rec": { "dropout": 0.1 } },                              (per model)
 *     "methods": { "cvar-dro": { "alpha": 0.3 } } }                              (per method)
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import type { TrainSettings } from './run.js';

export class UsageError extends Error {}

export function intArg(min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${v}'`);
    return n;
  };
}

export function numberArg(check: (x: number) => boolean = Number.isFinite, expected = 'a finite number') {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !check(n)) throw new InvalidArgumentError(`expected ${expected}, got '${v}'`);
    return n;
  };
}

export function choiceArg<T extends string>(choices: readonly T[]) {
  return (v: string): T => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got '${v}'`);
    return v as T;
  };
}

/** Comma-separated non-empty names. */
export function listArg(v: string): string[] {
  const xs = v.split(',').map((s) => s.trim());
  if (xs.some((s) => s === '')) throw new InvalidArgumentError(`expected a comma-separated list without empty entries, got '${v}'`);
  if (new Set(xs).size !== xs.length) throw new InvalidArgumentError(`'${v}' lists a value twice`);
  return xs;
}

/** `5` → seeds 1..5; `3,7,9` → those seeds. */
export function seedsArg(v: string): number[] {
  if (/^\d+$/.test(v.trim()) && !v.includes(',')) {
    const n = Number(v);
    if (n < 1 || n > 1000) throw new InvalidArgumentError(`expected a number of seeds in [1, 1000] or a list like 1,2,3, got '${v}'`);
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  const xs = listArg(v).map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`seed '${s}' is not a non-negative integer`);
    return n;
  });
  return xs;
}

export interface FileConfig {
  train: Partial<TrainSettings>;
  model: Record<string, number | boolean | string>;
  models: Record<string, Record<string, number | boolean | string>>;
  methods: Record<string, Record<string, unknown>>;
}

const TRAIN_KEYS = ['epochs', 'batchSize', 'lr', 'weightDecay', 'optimizer', 'clipNorm', 'loss', 'numNegatives', 'maskProb', 'lastTargets', 'slidingWindow', 'maxLen', 'validation'] as const;
const VALIDATION_KEYS = ['metric', 'patience', 'every'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarMap(v: unknown, where: string): Record<string, number | boolean | string> {
  if (!isObject(v)) throw new UsageError(`config: ${where} must be an object of option → value, got ${JSON.stringify(v)}`);
  for (const [k, x] of Object.entries(v)) {
    if (!['number', 'boolean', 'string'].includes(typeof x)) throw new UsageError(`config: ${where}.${k} must be a number, boolean or string, got ${JSON.stringify(x)}`);
  }
  return v as Record<string, number | boolean | string>;
}

/** Reads and checks a config file (see the file comment). */
export function readConfigFile(file: string): FileConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`config ${file}: ${(e as Error).message}`);
  }
  if (!isObject(raw)) throw new UsageError(`config ${file}: expected a JSON object`);
  const out: FileConfig = { train: {}, model: {}, models: {}, methods: {} };
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'model') out.model = scalarMap(v, 'model');
    else if (k === 'models') {
      if (!isObject(v)) throw new UsageError(`config: models must be an object of model name → options, got ${JSON.stringify(v)}`);
      for (const [m, o] of Object.entries(v)) out.models[m] = scalarMap(o, `models.${m}`);
    } else if (k === 'methods') {
      if (!isObject(v)) throw new UsageError(`config: methods must be an object of method name → parameters, got ${JSON.stringify(v)}`);
      for (const [m, o] of Object.entries(v)) {
        if (!isObject(o)) throw new UsageError(`config: methods.${m} must be an object, got ${JSON.stringify(o)}`);
        out.methods[m] = o;
      }
    } else if (k === 'validation') {
      if (!isObject(v)) throw new UsageError(`config: validation must be an object with ${VALIDATION_KEYS.join(', ')}, got ${JSON.stringify(v)}`);
      for (const vk of Object.keys(v)) {
        if (!(VALIDATION_KEYS as readonly string[]).includes(vk)) throw new UsageError(`config: unknown field validation.${vk} (expected ${VALIDATION_KEYS.join(', ')})`);
      }
      out.train.validation = v as TrainSettings['validation'];
    } else if ((TRAIN_KEYS as readonly string[]).includes(k)) {
      (out.train as Record<string, unknown>)[k] = v;
    } else {
      throw new UsageError(`config: unknown field '${k}' (expected ${[...TRAIN_KEYS, 'model', 'models', 'methods'].join(', ')})`);
    }
  }
  return out;
}

/** The hyper-parameter flags both commands share, as commander hands them over. */
export interface HyperFlags {
  config?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  optimizer?: 'adamw' | 'adam';
  clipNorm?: number;
  loss?: 'ce' | 'sampled-softmax' | 'bce';
  numNegatives?: number;
  maskProb?: number;
  lastTargets?: 'all' | 'random' | 'last';
  slidingWindow?: number;
  maxLen?: number;
  patience?: number;
  validEvery?: number;
  validMetric?: string;
  hidden?: number;
  layers?: number;
  heads?: number;
  dropout?: number;
}

/** Config file, then flags. */
export function mergeSettings(f: HyperFlags): FileConfig {
  const cfg = f.config !== undefined ? readConfigFile(f.config) : { train: {}, model: {}, models: {}, methods: {} } as FileConfig;
  const t = cfg.train as Record<string, unknown>;
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) t[k] = v;
  };
  set('epochs', f.epochs);
  set('batchSize', f.batchSize);
  set('lr', f.lr);
  set('weightDecay', f.weightDecay);
  set('optimizer', f.optimizer);
  set('clipNorm', f.clipNorm);
  set('loss', f.loss);
  set('numNegatives', f.numNegatives);
  set('maskProb', f.maskProb);
  set('lastTargets', f.lastTargets);
  set('slidingWindow', f.slidingWindow);
  set('maxLen', f.maxLen);
  if (f.patience !== undefined || f.validEvery !== undefined || f.validMetric !== undefined) {
    const v = { ...((cfg.train.validation as object | undefined) ?? {}) } as Record<string, unknown>;
    if (f.patience !== undefined) v.patience = f.patience;
    if (f.validEvery !== undefined) v.every = f.validEvery;
    if (f.validMetric !== undefined) v.metric = f.validMetric;
    cfg.train.validation = v as TrainSettings['validation'];
  }
  const m = cfg.model;
  if (f.hidden !== undefined) m.hiddenSize = f.hidden;
  if (f.layers !== undefined) m.layers = f.layers;
  if (f.heads !== undefined) m.heads = f.heads;
  if (f.dropout !== undefined) m.dropout = f.dropout;
  // the model's maxLen follows the training input length unless the config sets it
  if (cfg.train.maxLen !== undefined && m.maxLen === undefined) m.maxLen = cfg.train.maxLen;
  return cfg;
}
