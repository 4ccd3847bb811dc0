/**
 * SASRec (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018), with the block
 * ordering of their code (model.py / modules.py), exactly as the golden model of FORMAT.md 4.16:
 *
 *   m      = mask (B,L,1)                                   1 at real items, 0 at padding
 *   x      = dropout(z·s + P[maxLen−L .. maxLen)) · m         s = embeddingScale (default √D)
 *   for each block:
 *     q    = LN_attn(x)                                     only the query stream is normalised
 *     x    = q + Attn(q, keys = x, values = x; causal, key mask)   residual on the normalised q
 *     f    = LN_ffn(x)
 *     x    = (f + FFN(f)) · m                               FFN(f) = drop(fc2(drop(gelu(fc1 f))))
 *   hidden = LN_final(x)  (B,L,D);   scores = hidden · item_embᵀ over all numItems+1 rows
 *
 * z = embed(items) = item_emb[items]: the raw table rows. The √D scale, the positions, dropout
 * and the padding mask all belong to encode, so A-FSR reads ∂L/∂z on, and substitutes smoothed
 * vectors for, the raw item embeddings — the same vectors its neighbour search runs on and the
 * output layer scores against.
 *
 * Departures from the TF original, all shared with the golden model (FORMAT.md 5.10): an
 * attention output projection (`attn.out`, as torch.nn.MultiheadAttention and the PyTorch port),
 * biases on Q/K/V/out, a GELU FFN of width ffnHidden (default 4·D; the original: ReLU, D → D),
 * LayerNorm eps 1e-5 (TF: 1e-8), padding keys masked by the key mask, full-softmax cross-entropy
 * (the original trains BCE with one sampled negative) with the padding row 0 as a class.
 *
 * Dropout (one rate, as the original's dropout_rate): on the embedding sum, on the attention
 * weights (attnDropout, default the same rate), after the FFN activation and after fc2.
 *
 * Parameter names are FORMAT.md 4.16's, so the golden state dict loads directly:
 * item_emb (numItems+1, D), pos_emb (maxLen, D), blocks.i.attn_ln, blocks.i.attn.{q,k,v,out},
 * blocks.i.ffn_ln, blocks.i.ffn.{fc1,fc2}, final_ln.
 *
 * Init: item_emb and pos_emb Glorot-uniform as the original's xavier_initializer, item row 0
 * zero (the original's zero_pad; here it is not forced to stay zero: it never reaches the blocks
 * and is a class of the output softmax), Linear/LayerNorm as PyTorch's defaults.
 */
import { type Generator, type Tensor, embedding } from '../engine/index.js';
import { Dropout, LayerNorm, Linear, Module, ModuleList, MultiHeadAttention, type Parameter } from '../nn/index.js';
import {
  type CommonModelOptions, RecommenderBase, checkKnownOptions, maskColumn, positionRows, positiveInt, probability,
  xavierUniformParam,
} from './base.js';

export interface SasrecOptions extends CommonModelOptions {
  /** FFN inner width (default 4·hiddenSize) */
  ffnHidden?: number;
  /** factor on the item embeddings before positions are added (default √hiddenSize, as the original) */
  embeddingScale?: number;
  /** dropout on the attention weights (default: `dropout`) */
  attnDropout?: number;
  /** LayerNorm epsilon (default 1e-5) */
  lnEps?: number;
}

/**
 * Defaults and their sources:
 *  - hiddenSize 64, layers 2, heads 2: the A-FSR setting (SIGIR 2024 Sec. 5.1 follows Yue et al.,
 *    RecSys 2021 [38], whose template trains SASRec/BERT4Rec/NARM with 64 units, 2 blocks, 2 heads);
 *  - maxLen 50: A-FSR Sec. 5.1 (50 for ML-100K and LastFM; pass 200 for ML-1M);
 *  - dropout 0.2: Kang & McAuley's ML-1M setting (0.5 on their sparse Amazon/Steam data);
 *  - ffnHidden 4·D with GELU: the golden model (FORMAT.md 4.16) and Yue et al.'s SASRec (4·D);
 *  - embeddingScale √D: the original (`seq *= hidden_units ** 0.5`).
 */
export const SASREC_DEFAULTS = { maxLen: 50, hiddenSize: 64, layers: 2, heads: 2, dropout: 0.2, ffnMultiple: 4, lnEps: 1e-5 } as const;

const KNOWN = ['numItems', 'maxLen', 'hiddenSize', 'layers', 'heads', 'dropout', 'dropoutGen', 'ffnHidden', 'embeddingScale', 'attnDropout', 'lnEps'] as const;

class SasrecFfn extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  private readonly drop: Dropout;

  constructor(d: number, hidden: number, p: number, gen: Generator | undefined, dropoutGen: Generator | undefined) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(d, hidden, { gen }));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, d, { gen }));
    this.drop = this.registerModule('drop', new Dropout(p, dropoutGen));
  }

  forward(x: Tensor): Tensor {
    return this.drop.forward(this.fc2.forward(this.drop.forward(this.fc1.forward(x).gelu())));
  }
}

class SasrecBlock extends Module {
  readonly attn_ln: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly ffn_ln: LayerNorm;
  readonly ffn: SasrecFfn;

  constructor(d: number, heads: number, ffnHidden: number, p: number, attnP: number, eps: number,
    gen: Generator | undefined, dropoutGen: Generator | undefined) {
    super();
    this.attn_ln = this.registerModule('attn_ln', new LayerNorm(d, { eps }));
    this.attn = this.registerModule('attn', new MultiHeadAttention(d, heads, { causal: true, dropout: attnP, gen, dropoutGen }));
    this.ffn_ln = this.registerModule('ffn_ln', new LayerNorm(d, { eps }));
    this.ffn = this.registerModule('ffn', new SasrecFfn(d, ffnHidden, p, gen, dropoutGen));
  }

  /** Kang & McAuley's block; m (B,L,1) zeroes padded positions at the end (timeline mask). */
  forward(x: Tensor, mask: Tensor, m: Tensor): Tensor {
    const q = this.attn_ln.forward(x);
    const a = q.add(this.attn.forward(q, x, x, mask));
    const f = this.ffn_ln.forward(a);
    return f.add(this.ffn.forward(f)).mul(m);
  }
}

export class Sasrec extends RecommenderBase {
  readonly modelName = 'sasrec' as const;
  readonly targetKind = 'next' as const;
  readonly item_emb: Parameter;
  readonly pos_emb: Parameter;
  readonly blocks: ModuleList<SasrecBlock>;
  readonly final_ln: LayerNorm;
  readonly embeddingScale: number;
  readonly ffnHidden: number;
  readonly heads: number;
  readonly dropout: number;
  readonly attnDropout: number;
  readonly lnEps: number;
  private readonly embDrop: Dropout;

  constructor(o: SasrecOptions, gen?: Generator) {
    checkKnownOptions('SASRec', o, KNOWN);
    const numItems = positiveInt('SASRec', 'numItems', o.numItems);
    const D = positiveInt('SASRec', 'hiddenSize', o.hiddenSize ?? SASREC_DEFAULTS.hiddenSize);
    const maxLen = positiveInt('SASRec', 'maxLen', o.maxLen ?? SASREC_DEFAULTS.maxLen);
    super(numItems, numItems + 1, maxLen, D, null);
    const layers = positiveInt('SASRec', 'layers', o.layers ?? SASREC_DEFAULTS.layers);
    this.heads = positiveInt('SASRec', 'heads', o.heads ?? SASREC_DEFAULTS.heads);
    if (D % this.heads !== 0) throw new Error(`SASRec: hiddenSize ${D} must be a multiple of heads ${this.heads}`);
    this.ffnHidden = positiveInt('SASRec', 'ffnHidden', o.ffnHidden ?? SASREC_DEFAULTS.ffnMultiple * D);
    this.dropout = probability('SASRec', 'dropout', o.dropout ?? SASREC_DEFAULTS.dropout);
    this.attnDropout = probability('SASRec', 'attnDropout', o.attnDropout ?? this.dropout);
    this.embeddingScale = o.embeddingScale ?? Math.sqrt(D);
    if (!Number.isFinite(this.embeddingScale)) throw new Error(`SASRec: embeddingScale must be finite, got ${this.embeddingScale}`);
    this.lnEps = o.lnEps ?? SASREC_DEFAULTS.lnEps;
    if (!(this.lnEps > 0)) throw new Error(`SASRec: lnEps must be positive, got ${this.lnEps}`);

    this.item_emb = this.registerParameter('item_emb', xavierUniformParam(this.vocabSize, D, gen));
    this.item_emb.values.fill(0, 0, D);
    this.pos_emb = this.registerParameter('pos_emb', xavierUniformParam(maxLen, D, gen));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: layers },
      () => new SasrecBlock(D, this.heads, this.ffnHidden, this.dropout, this.attnDropout, this.lnEps, gen, o.dropoutGen))));
    this.final_ln = this.registerModule('final_ln', new LayerNorm(D, { eps: this.lnEps }));
    this.embDrop = this.registerModule('emb_drop', new Dropout(this.dropout, o.dropoutGen));
  }

  /** f_e: items (B,L) i32 → z = item_emb[items] (B,L,D), the raw rows */
  embed(items: Tensor): Tensor {
    this.checkItems(items);
    return embedding(this.item_emb, items);
  }

  /** f_m: z (B,L,D), mask (B,L) → hidden (B,L,D), one state per position (causal) */
  encode(z: Tensor, mask: Tensor): Tensor {
    const [, L] = this.checkEncode(z, mask);
    const m = maskColumn(mask);
    let x = z.mul(this.embeddingScale).add(positionRows(this.pos_emb, L));
    x = this.embDrop.forward(x).mul(m);
    for (const block of this.blocks) x = block.forward(x, mask, m);
    return this.final_ln.forward(x);
  }

  /** the tied item table (numItems+1, D), padding row 0 included as a class */
  outputTable(): Tensor {
    return this.item_emb;
  }
}
