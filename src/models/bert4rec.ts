/**
 * BERT4Rec (Sun et al., "BERT4Rec: Sequential Recommendation with Bidirectional Encoder
 * Representations from Transformer", CIKM 2019): a bidirectional Transformer encoder trained
 * on the cloze task (targetKind 'cloze', batches from src/data/batching.ts clozeBatch).
 *
 *   x      = dropout(LN_emb(z + P[maxLen−L .. maxLen)))                 BERT's embedding post-processing
 *   for each block (post-LN, as BERT / the original BERT4Rec code and its PyTorch ports):
 *     x    = LN_attn(x + dropout(Attn(x, x, x; bidirectional, key mask)))
 *     x    = LN_ffn(x + dropout(fc2(gelu(fc1 x))))                       FFN width 4·D
 *   hidden = LN_out(gelu(out_dense(x)))   (B,L,D)                        the original's output transform
 *   scores = hidden · item_embᵀ over all numItems+2 rows                  tied output table
 *
 * Vocabulary: 0 = padding, 1..numItems = items, numItems+1 = the mask token, with its own
 * learned row; vocabSize = numItems+2, all of them classes of the softmax (evaluation ranks only
 * 1..numItems). Padding keys are masked in attention; the mask token is a real position.
 * Positions are absolute slots counted from the newest item (left padding: the last slot, where
 * evaluation puts the mask token, always reads row maxLen−1).
 *
 * z = embed(items) = item_emb[items], the raw rows (mask-token row included); positions, the
 * embedding LayerNorm and dropout belong to encode (A-FSR edits the raw item embeddings).
 *
 * Decisions:
 *  - post-LN blocks: the original (Google BERT code) and the PyTorch ports (BERT4Rec-VAE-Pytorch,
 *    Yue et al.'s template that A-FSR builds on: `layer_norm(x + dropout(sublayer(x)))`);
 *  - output transform dense + GELU + LayerNorm: the original's get_masked_lm_output (Yue et al.
 *    keep dense + GELU and drop the LN); `outputTransform: false` scores the last block directly;
 *  - output bias: logits = hidden · tableᵀ + b with a learned per-class bias b (zeros at init), as
 *    the original's get_masked_lm_output and the PyTorch ports' output Linear have
 *    (`outputBias: false` drops it). Measured on ML-100K (seed 1, defaults): test Recall@5 with
 *    uniform negatives 0.514 with the bias vs 0.502 without, full-unseen Recall@20 0.240 vs 0.239,
 *    popularity negatives 0.314 vs 0.319: no real difference (measured before the sliding-window
 *    default, BERT4REC_SLIDING_WINDOW, which closed the ~0.02–0.03 gap to the reference);
 *  - exact-erf GELU (the original uses the tanh approximation; the engine has the exact one);
 *  - init as BERT / HuggingFace: weights and embeddings N(0, 0.02²) (padding row 0), biases 0,
 *    LN γ=1 β=0.
 */
import { type Generator, type Tensor, embedding } from '../engine/index.js';
import { Dropout, LayerNorm, Linear, Module, ModuleList, MultiHeadAttention, type Parameter, constantParam, normalParam } from '../nn/index.js';
import {
  type CommonModelOptions, RecommenderBase, checkKnownOptions, positionRows, positiveInt, probability,
} from './base.js';

export interface Bert4recOptions extends CommonModelOptions {
  /** FFN inner width (default 4·hiddenSize, as BERT) */
  ffnHidden?: number;
  /** dropout on the attention weights (default: `dropout`) */
  attnDropout?: number;
  /** LayerNorm epsilon (default 1e-5; BERT's 1e-12 is below float32 resolution of the variance) */
  lnEps?: number;
  /** dense + GELU + LayerNorm before scoring (default true, as the original) */
  outputTransform?: boolean;
  /** std of the normal init of weights and embeddings (default 0.02, BERT's initializer_range) */
  initStd?: number;
  /** a learned per-class bias on the logits (default true, as the original) */
  outputBias?: boolean;
  /** 'post' (default, BERT and the original): LN(x + dropout(sublayer(x))); 'pre' (the BERT-pytorch lineage of the PyTorch ports): x + dropout(sublayer(LN(x))) */
  blockNorm?: 'post' | 'pre';
  /** score with the item embedding table (default true, as the original); false: a separate output table, as the PyTorch ports' output Linear */
  tiedOutput?: boolean;
}

/**
 * Defaults and their sources:
 *  - hiddenSize 64, layers 2, heads 2: BERT4Rec's own setting (Sun et al.'s implementation details:
 *    d = 64, L = 2, h = 2) and A-FSR's (via Yue et al., RecSys 2021);
 *  - maxLen 50: A-FSR Sec. 5.1 (BERT4Rec used 200 on ML-1M and 50 on the sparse data);
 *  - dropout 0.1 (hidden and attention): BERT4Rec's and Yue et al.'s ML-1M setting;
 *  - FFN 4·D with GELU: BERT / BERT4Rec.
 */
export const BERT4REC_DEFAULTS = { maxLen: 50, hiddenSize: 64, layers: 2, heads: 2, dropout: 0.1, ffnMultiple: 4, lnEps: 1e-5, initStd: 0.02 } as const;

/**
 * Training rows: sliding windows every ⌊0.5·maxLen⌋ items over each user's whole training
 * sequence, not just its newest maxLen items (the original's gen_data_fin.py with
 * prop_sliding_window = 0.5, its ML-1M script's value). On ML-100K (5 seeds, 2026-12-07, README
 * "Recommendation quality") it lifts uniform-negative Recall@5 from 0.513 to 0.568 and
 * full-unseen Recall@20 from 0.242 to 0.297; the trainer's `slidingWindow: 0` turns it off.
 */
export const BERT4REC_SLIDING_WINDOW = 0.5;

const KNOWN = ['numItems', 'maxLen', 'hiddenSize', 'layers', 'heads', 'dropout', 'dropoutGen', 'ffnHidden', 'attnDropout', 'lnEps', 'outputTransform', 'initStd', 'outputBias', 'tiedOutput', 'blockNorm'] as const;

/** A Linear with BERT's init: W ~ N(0, std²), b = 0. */
function bertLinear(inF: number, outF: number, std: number, gen: Generator | undefined): Linear {
  const lin = new Linear(inF, outF, { gen });
  lin.weight.values.set(normalParam([outF, inF], std, gen).values);
  lin.bias!.values.fill(0);
  return lin;
}

class Bert4recFfn extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(d: number, hidden: number, std: number, gen: Generator | undefined) {
    super();
    this.fc1 = this.registerModule('fc1', bertLinear(d, hidden, std, gen));
    this.fc2 = this.registerModule('fc2', bertLinear(hidden, d, std, gen));
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).gelu());
  }
}

class Bert4recBlock extends Module {
  readonly attn: MultiHeadAttention;
  readonly attn_ln: LayerNorm;
  readonly ffn: Bert4recFfn;
  readonly ffn_ln: LayerNorm;
  private readonly drop: Dropout;

  constructor(d: number, heads: number, ffnHidden: number, p: number, attnP: number, eps: number, std: number,
    gen: Generator | undefined, dropoutGen: Generator | undefined, readonly preNorm = false) {
    super();
    this.attn = this.registerModule('attn', new MultiHeadAttention(d, heads, { causal: false, dropout: attnP, gen, dropoutGen }));
    for (const lin of [this.attn.q, this.attn.k, this.attn.v, this.attn.out]) {
      lin.weight.values.set(normalParam([d, d], std, gen).values);
      lin.bias!.values.fill(0);
    }
    this.attn_ln = this.registerModule('attn_ln', new LayerNorm(d, { eps }));
    this.ffn = this.registerModule('ffn', new Bert4recFfn(d, ffnHidden, std, gen));
    this.ffn_ln = this.registerModule('ffn_ln', new LayerNorm(d, { eps }));
    this.drop = this.registerModule('drop', new Dropout(p, dropoutGen));
  }

  /** post-LN: LN(x + dropout(sublayer(x))) for attention, then for the FFN; pre-LN: x + dropout(sublayer(LN(x))) */
  forward(x: Tensor, mask: Tensor): Tensor {
    if (this.preNorm) {
      const h = this.attn_ln.forward(x);
      const a = x.add(this.drop.forward(this.attn.forward(h, h, h, mask)));
      return a.add(this.drop.forward(this.ffn.forward(this.ffn_ln.forward(a))));
    }
    const a = this.attn_ln.forward(x.add(this.drop.forward(this.attn.forward(x, x, x, mask))));
    return this.ffn_ln.forward(a.add(this.drop.forward(this.ffn.forward(a))));
  }
}

export class Bert4rec extends RecommenderBase {
  readonly modelName = 'bert4rec' as const;
  readonly targetKind = 'cloze' as const;
  readonly defaultSlidingWindow = BERT4REC_SLIDING_WINDOW;
  readonly item_emb: Parameter;
  readonly pos_emb: Parameter;
  readonly emb_ln: LayerNorm;
  readonly blocks: ModuleList<Bert4recBlock>;
  readonly out_dense: Linear | null;
  readonly out_ln: LayerNorm | null;
  readonly out_bias: Parameter | null;
  /** the untied output table (`tiedOutput: false`), else null */
  readonly out_table: Parameter | null;
  readonly heads: number;
  readonly ffnHidden: number;
  readonly dropout: number;
  readonly attnDropout: number;
  readonly lnEps: number;
  private readonly embDrop: Dropout;

  constructor(o: Bert4recOptions, gen?: Generator) {
    checkKnownOptions('BERT4Rec', o, KNOWN);
    const numItems = positiveInt('BERT4Rec', 'numItems', o.numItems);
    const D = positiveInt('BERT4Rec', 'hiddenSize', o.hiddenSize ?? BERT4REC_DEFAULTS.hiddenSize);
    const maxLen = positiveInt('BERT4Rec', 'maxLen', o.maxLen ?? BERT4REC_DEFAULTS.maxLen);
    super(numItems, numItems + 2, maxLen, D, numItems + 1);
    const layers = positiveInt('BERT4Rec', 'layers', o.layers ?? BERT4REC_DEFAULTS.layers);
    this.heads = positiveInt('BERT4Rec', 'heads', o.heads ?? BERT4REC_DEFAULTS.heads);
    if (D % this.heads !== 0) throw new Error(`BERT4Rec: hiddenSize ${D} must be a multiple of heads ${this.heads}`);
    this.ffnHidden = positiveInt('BERT4Rec', 'ffnHidden', o.ffnHidden ?? BERT4REC_DEFAULTS.ffnMultiple * D);
    this.dropout = probability('BERT4Rec', 'dropout', o.dropout ?? BERT4REC_DEFAULTS.dropout);
    this.attnDropout = probability('BERT4Rec', 'attnDropout', o.attnDropout ?? this.dropout);
    this.lnEps = o.lnEps ?? BERT4REC_DEFAULTS.lnEps;
    if (!(this.lnEps > 0)) throw new Error(`BERT4Rec: lnEps must be positive, got ${this.lnEps}`);
    const std = o.initStd ?? BERT4REC_DEFAULTS.initStd;
    if (!(std > 0) || !Number.isFinite(std)) throw new Error(`BERT4Rec: initStd must be positive, got ${std}`);

    const blockNorm = o.blockNorm ?? 'post';
    if (blockNorm !== 'post' && blockNorm !== 'pre') throw new Error(`BERT4Rec: blockNorm must be 'post' or 'pre', got ${String(blockNorm)}`);
    const preNorm = blockNorm === 'pre';
    this.item_emb = this.registerParameter('item_emb', normalParam([this.vocabSize, D], std, gen));
    this.item_emb.values.fill(0, 0, D); // padding row starts at zero (padding_idx in the ports)
    this.pos_emb = this.registerParameter('pos_emb', normalParam([maxLen, D], std, gen));
    this.emb_ln = this.registerModule('emb_ln', new LayerNorm(D, { eps: this.lnEps }));
    this.blocks = this.registerModule('blocks', new ModuleList(Array.from({ length: layers },
      () => new Bert4recBlock(D, this.heads, this.ffnHidden, this.dropout, this.attnDropout, this.lnEps, std, gen, o.dropoutGen, preNorm))));
    const transform = o.outputTransform ?? true;
    this.out_dense = transform ? this.registerModule('out_dense', bertLinear(D, D, std, gen)) : null;
    this.out_ln = transform ? this.registerModule('out_ln', new LayerNorm(D, { eps: this.lnEps })) : null;
    this.out_bias = (o.outputBias ?? true) ? this.registerParameter('out_bias', constantParam([this.vocabSize], 0)) : null;
    this.out_table = (o.tiedOutput ?? true) ? null : this.registerParameter('out_table', normalParam([this.vocabSize, D], std, gen));
    this.embDrop = this.registerModule('emb_drop', new Dropout(this.dropout, o.dropoutGen));
  }

  /** f_e: items (B,L) i32 (mask token allowed) → z = item_emb[items] (B,L,D), the raw rows */
  embed(items: Tensor): Tensor {
    this.checkItems(items);
    return embedding(this.item_emb, items);
  }

  /** f_m: z (B,L,D), mask (B,L) → hidden (B,L,D), every position sees every real position */
  encode(z: Tensor, mask: Tensor): Tensor {
    const [, L] = this.checkEncode(z, mask);
    let x = this.embDrop.forward(this.emb_ln.forward(z.add(positionRows(this.pos_emb, L))));
    for (const block of this.blocks) x = block.forward(x, mask);
    if (this.out_dense && this.out_ln) x = this.out_ln.forward(this.out_dense.forward(x).gelu());
    return x;
  }

  /** the tied table (numItems+2, D): padding row 0, items, mask token — all classes (or the untied one) */
  outputTable(): Tensor {
    return this.out_table ?? this.item_emb;
  }

  /** the per-class logit bias (numItems+2), or null with `outputBias: false` */
  override outputBias(): Tensor | null {
    return this.out_bias;
  }
}
