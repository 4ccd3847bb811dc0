/**
 * Config files (`--config <file>`, JSON) of `seqfair train`, `compare` and `demo`, validated with
 * zod before any work starts. Every field is optional; flags override the file. The format is the
 * one src/compare/options.ts documents (and its readConfigFile reads for train/compare):
 *
 *   { "epochs": 200, "batchSize": 64, "lr": 0.001, "weightDecay": 0.01, "optimizer": "adamw",
 *     "clipNorm": 5, "loss": "ce", "numNegatives": 100, "maskProb": 0.2, "lastTargets": "all",
 *     "slidingWindow": 0, "maxLen": 50,
 *     "validation": { "metric": "ndcg@5", "patience": 20, "every": 1 },
 *     "model": { "hiddenSize": 64, "layers": 2, "heads": 2, "dropout": 0.2 },   (every model)
 *     "models": { "bert4rec": { "dropout": 0.1 } },                              (per model)
 *     "methods": { "cvar-dro": { "alpha": 0.3 } } }                              (per method)
 *
 * `seqfair demo` also reads "synthetic": the generator's numeric options (numUsers, numItems,
 * maxLen, minorityShare, …; src/data/synthetic.ts).
 *
 * A bad field is named by its path with what was expected and what was given:
 *   config run.json: epochs: expected an integer >= 1, got "ten"
 *   config run.json: unknown field 'epoch' (expected epochs, batchSize, …)
 * and becomes exit status 2 (UsageError).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SYNTHETIC_KEYS } from '../compare/data-spec.js';
import { type FileConfig, type HyperFlags, UsageError, mergeSettings } from '../compare/options.js';
import { parseMetric } from '../eval/evaluate.js';
import { MODEL_NAMES } from '../models/index.js';

export { UsageError };

/** A leaf value: `ok` decides, `expected` says what was wanted. */
function leaf<T>(expected: string, ok: (v: unknown) => boolean) {
  return z.custom<T>(ok, { message: expected });
}
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const int = (min: number) => leaf<number>(`an integer >= ${min}`, (v) => Number.isSafeInteger(v) && (v as number) >= min);
const num = (expected: string, ok: (x: number) => boolean) => leaf<number>(expected, (v) => isNum(v) && ok(v));
const oneOf = <T extends string>(xs: readonly T[]) => leaf<T>(`one of ${xs.map((x) => `"${x}"`).join(', ')}`, (v) => (xs as readonly unknown[]).includes(v));
const scalar = leaf<number | boolean | string>('a number, boolean or string', (v) => isNum(v) || typeof v === 'boolean' || typeof v === 'string');
const metric = leaf<string>('a metric like "ndcg@5", "recall@10" or "mrr"', (v) => {
  if (typeof v !== 'string') return false;
  try {
    parseMetric(v);
    return true;
  } catch {
    return false;
  }
});
/** An object of name → value; `key` checks the names. */
function map<V extends z.ZodType>(value: V, what: string, key?: { ok: (k: string) => boolean; expected: string }) {
  return z.record(z.string(), value, { error: `an object of ${what}` }).superRefine((obj, ctx) => {
    if (!key) return;
    for (const k of Object.keys(obj)) {
      if (!key.ok(k)) ctx.addIssue({ code: 'custom', path: [k], message: `unknown ${key.expected.split(' ')[0]} '${k}' (expected ${key.expected.split(' ').slice(1).join(' ')})`, params: { full: true } });
    }
  });
}

const trainShape = {
  epochs: int(1).optional(),
  batchSize: int(1).optional(),
  lr: num('a number > 0', (x) => x > 0).optional(),
  weightDecay: num('a number >= 0', (x) => x >= 0).optional(),
  optimizer: oneOf(['adamw', 'adam'] as const).optional(),
  clipNorm: num('a number > 0', (x) => x > 0).optional(),
  loss: oneOf(['ce', 'sampled-softmax', 'bce'] as const).optional(),
  numNegatives: int(1).optional(),
  maskProb: num('a number in (0, 1]', (x) => x > 0 && x <= 1).optional(),
  lastTargets: oneOf(['all', 'random', 'last'] as const).optional(),
  slidingWindow: num('a number in [0, 1]', (x) => x >= 0 && x <= 1).optional(),
  maxLen: int(1).optional(),
  validation: z.strictObject({
    metric: metric.optional(),
    patience: int(0).optional(),
    every: int(1).optional(),
  }, { error: 'an object with metric, patience, every' }).optional(),
  model: map(scalar, 'option → value').optional(),
  models: map(map(scalar, 'option → value'), 'model name → options', { ok: (k) => (MODEL_NAMES as readonly string[]).includes(k), expected: `model ${MODEL_NAMES.join(', ')}` }).optional(),
  methods: map(z.record(z.string(), z.unknown(), { error: 'an object of parameter → value' }), 'method name → parameters').optional(),
};

/** Config of train and compare. */
export const TrainConfigSchema = z.strictObject(trainShape, { error: 'a JSON object' });

/** Config of demo: the train config and the synthetic generator's options. */
export const DemoConfigSchema = z.strictObject({
  ...trainShape,
  synthetic: z.strictObject(Object.fromEntries(SYNTHETIC_KEYS.map((k) => [k, num('a finite number', () => true).optional()])), { error: `an object with ${SYNTHETIC_KEYS.join(', ')}` }).optional(),
}, { error: 'a JSON object' });

export type TrainConfigFile = z.infer<typeof TrainConfigSchema>;
export type DemoConfigFile = z.infer<typeof DemoConfigSchema>;

function formatPath(p: readonly PropertyKey[]): string {
  return p.map(String).join('.');
}

function valueAt(data: unknown, p: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of p) v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function shapeKeys(schema: z.ZodType, p: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  for (const k of p) {
    const shape = (s as { shape?: Record<string, unknown> }).shape;
    s = shape?.[String(k)];
    while (s && (s as { unwrap?: () => unknown }).unwrap && !(s as { shape?: unknown }).shape) s = (s as { unwrap: () => unknown }).unwrap();
  }
  return Object.keys((s as { shape?: Record<string, unknown> })?.shape ?? {});
}

/** One line per problem: `<path>: expected …, got …` or `unknown field '<path>' (expected …)`. */
function describeIssues(schema: z.ZodType, data: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  const out: string[] = [];
  for (const iss of issues) {
    const where = formatPath(iss.path);
    if (iss.code === 'unrecognized_keys') {
      const expected = shapeKeys(schema, iss.path).join(', ');
      for (const k of iss.keys) out.push(`unknown field '${where ? `${where}.` : ''}${k}' (expected ${expected})`);
    } else if (iss.code === 'custom' && (iss.params as { full?: boolean } | undefined)?.full) {
      out.push(`${where}: ${iss.message}`);
    } else {
      const got = valueAt(data, iss.path);
      const expected = iss.message.replace(/^Invalid input.*$/, 'another value');
      out.push(`${where || '(top level)'}: ${got === undefined && iss.path.length ? 'missing, ' : ''}expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`);
    }
  }
  return out;
}

/** Parses JSON text of a config against a schema; throws UsageError naming every bad field. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = describeIssues(schema, raw, r.error.issues);
  throw new UsageError(problems.map((p) => `config ${source}: ${p}`).join('\n'));
}

/** Reads and validates a config file (UsageError when missing, not JSON or invalid). */
export function readConfig<S extends z.ZodType>(schema: S, file: string): z.infer<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`config ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`config ${file}: not JSON (${(e as Error).message})`);
  }
  return parseConfig(schema, raw, file);
}

/** A validated config as the settings compare()/runOne() take. */
export function toFileConfig(c: TrainConfigFile): FileConfig {
  const { model, models, methods, ...train } = c;
  return { train: train as FileConfig['train'], model: { ...(model ?? {}) }, models: { ...(models ?? {}) }, methods: { ...(methods ?? {}) } };
}

/** Two settings layered: `over` wins field by field (validation, model, per-model and per-method options merged). */
export function layer(under: FileConfig, over: FileConfig): FileConfig {
  const train = { ...under.train, ...over.train };
  if (under.train.validation || over.train.validation) train.validation = { ...(under.train.validation || {}), ...(over.train.validation || {}) };
  const models = { ...under.models };
  for (const [m, o] of Object.entries(over.models)) models[m] = { ...(models[m] ?? {}), ...o };
  const methods = { ...under.methods };
  for (const [m, o] of Object.entries(over.methods)) methods[m] = { ...(methods[m] ?? {}), ...o };
  return { train, model: { ...under.model, ...over.model }, models, methods };
}

/**
 * `base` (defaults, then a config file) under the hyper-parameter flags (parsed by
 * src/compare/options.ts mergeSettings); the model's maxLen follows the training input length
 * unless set.
 */
export function mergeFlags(base: FileConfig, flags: HyperFlags): FileConfig {
  const out = layer(base, mergeSettings({ ...flags, config: undefined }));
  if (out.train.maxLen !== undefined && out.model.maxLen === undefined) out.model.maxLen = out.train.maxLen;
  return out;
}
