/**
 * Helpers of the training and compare tests: small SequentialRecommender implementations (so these
 * tests do not depend on the real backbones) and tiny data sets.
 *
 *  - TinyMarkov: item embedding → z + dropout(tanh(W z + b)) per position → scored against its own
 *    output table. A first-order (Markov) model: enough to learn the synthetic data's chains, fast,
 *    and it has dropout, so seeded dropout and resume are exercised.
 *  - FixedScores: scores are a table the test writes: with the last input item i, the score of
 *    item j is S[i][j] (embed = one-hot rows, encode = identity, output table = Sᵀ).
 */
import { Generator, Streams, Tensor, matmul } from '../../src/engine/index.js';
import { Dropout, Embedding, Linear, Module, Parameter, normalParam } from '../../src/nn/index.js';
import type { ModelName, SequentialRecommender, TargetKind } from '../../src/models/types.js';
import { LogBuilder } from '../../src/data/types.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { type Dataset, preprocess } from '../../src/data/preprocess.js';

export interface TinyOptions {
  numItems: number;
  hidden?: number;
  maxLen?: number;
  dropout?: number;
  targetKind?: TargetKind;
  seed?: number;
}

export class TinyMarkov extends Module implements SequentialRecommender {
  readonly modelName: ModelName = 'gru4rec';
  readonly numItems: number;
  readonly vocabSize: number;
  readonly maxLen: number;
  readonly hiddenSize: number;
  readonly targetKind: TargetKind;
  readonly maskToken: number | null;
  readonly items: Embedding;
  readonly mix: Linear;
  readonly drop: Dropout;
  readonly out: Parameter;

  constructor(o: TinyOptions) {
    super();
    const gen = new Generator(o.seed ?? 1, Streams.init);
    this.numItems = o.numItems;
    this.targetKind = o.targetKind ?? 'next';
    this.maskToken = this.targetKind === 'cloze' ? o.numItems + 1 : null;
    this.vocabSize = o.numItems + (this.targetKind === 'cloze' ? 2 : 1);
    this.maxLen = o.maxLen ?? 20;
    this.hiddenSize = o.hidden ?? 16;
    this.items = this.registerModule('items', new Embedding(this.vocabSize, this.hiddenSize, { paddingIdx: 0, std: 0.1, gen }));
    this.mix = this.registerModule('mix', new Linear(this.hiddenSize, this.hiddenSize, { gen }));
    this.drop = this.registerModule('drop', new Dropout(o.dropout ?? 0.1));
    this.out = this.registerParameter('out', normalParam([this.vocabSize, this.hiddenSize], 0.1, gen));
  }

  embed(items: Tensor): Tensor {
    return this.items.forward(items);
  }

  /** one state per position for every kind ('last' models give every prefix's state, as NARM) */
  encode(z: Tensor, _mask: Tensor): Tensor {
    return z.add(this.drop.forward(this.mix.forward(z).tanh()));
  }

  outputTable(): Tensor {
    return this.out;
  }

  scores(hidden: Tensor): Tensor {
    return matmul(hidden, this.out.transpose());
  }
}

/** Scores S[last input item][j] for every item j (S is (V, V), row 0 for an empty history). */
export class FixedScores extends Module implements SequentialRecommender {
  readonly modelName: ModelName = 'sasrec';
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly targetKind: TargetKind = 'next';
  readonly maskToken = null;
  readonly eye: Parameter;
  readonly table: Parameter;

  constructor(readonly numItems: number, S: number[][], readonly maxLen = 10) {
    super();
    const V = numItems + 1;
    this.vocabSize = V;
    this.hiddenSize = V;
    if (S.length !== V || S.some((r) => r.length !== V)) throw new Error(`FixedScores: S must be ${V}x${V}`);
    const eye = new Float32Array(V * V);
    for (let i = 0; i < V; i++) eye[i * V + i] = 1;
    this.eye = this.registerParameter('eye', new Parameter(new Tensor(eye, [V, V])));
    const t = new Float32Array(V * V); // table[j][i] = S[i][j]
    for (let i = 0; i < V; i++) for (let j = 0; j < V; j++) t[j * V + i] = S[i]![j]!;
    this.table = this.registerParameter('table', new Parameter(new Tensor(t, [V, V])));
  }

  embed(items: Tensor): Tensor {
    const [B, L] = items.shape as [number, number];
    const V = this.vocabSize;
    // one-hot of each position's item (embedding of the identity)
    const out = new Float32Array(B * L * V);
    const ids = items.i32();
    for (let r = 0; r < B * L; r++) out[r * V + ids[r]!] = 1;
    return new Tensor(out, [B, L, V]);
  }

  encode(z: Tensor, _mask: Tensor): Tensor {
    return z;
  }

  outputTable(): Tensor {
    return this.table;
  }

  scores(hidden: Tensor): Tensor {
    return matmul(hidden, this.table.transpose());
  }
}

/** A Dataset from explicit per-user sequences (chronological), with an optional attribute. */
export function datasetFrom(seqs: Record<string, number[]>, attrs?: Record<string, Record<string, string>>): Dataset {
  const b = new LogBuilder('keep');
  let line = 0;
  for (const [u, items] of Object.entries(seqs)) items.forEach((it, t) => b.add(u, String(it), t, undefined, 'mem', ++line));
  const names = attrs ? Object.keys(Object.values(attrs)[0] ?? {}) : [];
  const log = b.finish('mem', names, new Map(Object.entries(attrs ?? {})));
  return preprocess(log, { name: 'mem' });
}

/** Small synthetic data: the planted-bias generator at a size tests can train on in seconds. */
export function smallSynthetic(seed = 3, numUsers = 300, numItems = 200): Dataset {
  const { log } = generateSynthetic({ seed, numUsers, numItems, minLen: 8, maxLen: 40, chainLength: 12 });
  return preprocess(log, { name: `synthetic-${seed}` });
}
