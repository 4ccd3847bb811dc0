/**
 * The sequential recommenders behind one interface (types.ts), and a registry that builds them
 * by name. Every model: embed(items) → z (B,L,D) raw item-table rows (A-FSR's f_e), encode(z,
 * mask) → hidden (f_m), scores against outputTable() (tied to the item table).
 *
 * Defaults per model (each model file gives the sources in full):
 *
 * | model    | D  | layers     | heads | dropout                   | maxLen | target | vocab       |
 * | -------- | -- | ---------- | ----- | ------------------------- | ------ | ------ | ----------- |
 * | sasrec   | 64 | 2 blocks   | 2     | 0.2 (Kang & McAuley)      | 50     | next   | numItems+1  |
 * | bert4rec | 64 | 2 blocks   | 2     | 0.1 (Sun et al.)          | 50     | cloze  | numItems+2  |
 * | narm     | 64 | 1 GRU, H=2D| –     | 0.25 emb / 0.5 out (Li)   | 50     | last   | numItems+1  |
 * | gru4rec  | 64 | 1 GRU, H=2D| –     | 0.3 emb (RecBole)         | 50     | next   | numItems+1  |
 *
 * D = 64, 2 blocks, 2 heads: the A-FSR setting (it follows Yue et al., RecSys 2021, whose
 * template trains all three of its backbones with 64 units, 2 blocks and 2 heads); maxLen 50:
 * A-FSR Sec. 5.1 (ML-100K, LastFM; 200 for ML-1M).
 */
import type { Generator } from '../engine/index.js';
import { Bert4rec, type Bert4recOptions, BERT4REC_DEFAULTS } from './bert4rec.js';
import { Gru4rec, type Gru4recOptions, GRU4REC_DEFAULTS } from './gru4rec.js';
import { Narm, type NarmOptions, NARM_DEFAULTS } from './narm.js';
import { Sasrec, type SasrecOptions, SASREC_DEFAULTS } from './sasrec.js';
import type { RecommenderBase } from './base.js';
import type { ModelName } from './types.js';

export type { EncodeOptions, ModelName, SequentialRecommender, TargetKind } from './types.js';
export type { CommonModelOptions } from './base.js';
export { RecommenderBase, paddingMask } from './base.js';
export { sequenceLosses } from './loss.js';
export { MaskedGru } from './masked-gru.js';
export { Sasrec, SASREC_DEFAULTS } from './sasrec.js';
export type { SasrecOptions } from './sasrec.js';
export { Bert4rec, BERT4REC_DEFAULTS } from './bert4rec.js';
export type { Bert4recOptions } from './bert4rec.js';
export { Narm, NARM_DEFAULTS } from './narm.js';
export type { NarmOptions } from './narm.js';
export { Gru4rec, GRU4REC_DEFAULTS } from './gru4rec.js';
export type { Gru4recOptions } from './gru4rec.js';

export const MODEL_NAMES: readonly ModelName[] = Object.freeze(['sasrec', 'bert4rec', 'narm', 'gru4rec'] as const);

/** Each model's defaults (the constants of the model files), for reports and the CLI's help. */
export const MODEL_DEFAULTS: Readonly<Record<ModelName, Readonly<Record<string, number>>>> = {
  sasrec: SASREC_DEFAULTS,
  bert4rec: BERT4REC_DEFAULTS,
  narm: NARM_DEFAULTS,
  gru4rec: GRU4REC_DEFAULTS,
};

/** The options of every model; a model rejects keys it does not know (common keys are always accepted). */
export type ModelOptions = SasrecOptions | Bert4recOptions | NarmOptions | Gru4recOptions;

export function isModelName(name: string): name is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * Builds a model by name. `options` holds the common fields (numItems required; maxLen,
 * hiddenSize, layers, heads, dropout, dropoutGen optional, each model's defaults otherwise) and
 * the model's own options; a field a model does not use (heads for the RNNs) is ignored, an
 * unknown one throws. The result is a SequentialRecommender (RecommenderBase adds forward(items)
 * = encode(embed(items), paddingMask(items))). `gen` draws the initial weights (default: the engine's `init` stream, so
 * `manualSeed(s)` before the call reproduces them on any backend).
 */
export function createModel(name: 'sasrec', options: SasrecOptions, gen?: Generator): Sasrec;
export function createModel(name: 'bert4rec', options: Bert4recOptions, gen?: Generator): Bert4rec;
export function createModel(name: 'narm', options: NarmOptions, gen?: Generator): Narm;
export function createModel(name: 'gru4rec', options: Gru4recOptions, gen?: Generator): Gru4rec;
export function createModel(name: string, options: ModelOptions, gen?: Generator): RecommenderBase;
export function createModel(name: string, options: ModelOptions, gen?: Generator): RecommenderBase {
  switch (name) {
    case 'sasrec': return new Sasrec(options as SasrecOptions, gen);
    case 'bert4rec': return new Bert4rec(options as Bert4recOptions, gen);
    case 'narm': return new Narm(options as NarmOptions, gen);
    case 'gru4rec': return new Gru4rec(options as Gru4recOptions, gen);
    default: throw new Error(`createModel: unknown model '${name}' (known: ${MODEL_NAMES.join(', ')})`);
  }
}
