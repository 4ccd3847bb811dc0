/**
 * NARM (Li et al., "Neural Attentive Session-based Recommendation", CIKM 2017), computed for every
 * prefix of the input in one pass (targetKind 'last': the task is the item after the input, and
 * training covers every prefix, as Yue et al.'s template that A-FSR builds on).
 *
 *   x        = dropout_emb(z)                                 z = embed(items) = item_emb[items]
 *   h_1..L   = GRU(x) (B,L,H), padded steps skipped (masked-gru.ts: states equal those of the
 *              unpadded sequence from h0 = 0)
 *   for every position t (the prefix ending at t):
 *   c_g(t)   = h_t                                            global encoder: the prefix's last state
 *   α_tj     = m_j · [j ≤ t] · vᵀ σ(A1 h_t + A2 h_j)           local encoder, Eq. 7–8 of the paper
 *   c_l(t)   = Σ_j α_tj h_j                                   (the engine's narmAttention op)
 *   c(t)     = dropout_out([c_g(t) ; c_l(t)])  (B,L,2H)
 *   hidden_t = B c(t)  (B,L,D)                                B: the bilinear decoder's (D × 2H) matrix
 *   scores   = hidden_t · item_embᵀ = item_embᵀ B c(t)         = the paper's emb_iᵀ B c_t
 *
 * Position t depends only on items up to t (the GRU is causal, α is masked to j ≤ t), and padded
 * steps are skipped, so hidden_t is exactly the NARM representation of the prefix ending at t as
 * if that prefix were the whole (left-padded) input: the last position is the sequence's own
 * representation (evaluation reads it), and a 'next'-style batch trains every prefix at once
 * (src/train/batches.ts). test/models/05-narm-prefixes.test.ts checks this against NARM run on
 * each prefix separately. With `lastOnly` (a 'last' batch, evaluation) only t = L is computed:
 * the attention then has one query per row instead of L, and the output is (B,1,D).
 *
 * The bilinear decoder is split at B c so the model fits the interface (hidden scored against the
 * item table, and the fused projection cross-entropy applies unchanged).
 *
 * Decisions:
 *  - the attention weights are the paper's unnormalised α_tj = vᵀσ(A1 h_t + A2 h_j), masked at
 *    padding, as RecBole's NARM and the PyTorch port it follows (Yue et al.'s port instead
 *    normalises them with a masked softmax after a hard sigmoid);
 *  - left padding: padded steps are skipped exactly (not merely zero inputs), so the hidden
 *    states, and therefore the outputs, do not depend on how much padding precedes a sequence;
 *  - GRU width H = 2·D by default (paper: 50-d embeddings, 100 hidden units; RecBole and
 *    Yue et al.: 64/128);
 *  - no biases in A1, A2, v, B (the paper's equations have none; Yue et al. neither);
 *  - init: item table Glorot-uniform, GRU and linear layers PyTorch's defaults.
 */
import { type Generator, type Tensor, concat, embedding, matmul, narmAttention } from '../engine/index.js';
import { Dropout, Linear, type Parameter } from '../nn/index.js';
import {
  type CommonModelOptions, RecommenderBase, checkKnownOptions, positiveInt, probability, xavierUniformParam,
} from './base.js';
import { MaskedGru } from './masked-gru.js';
import type { EncodeOptions } from './types.js';

export interface NarmOptions extends CommonModelOptions {
  /** GRU hidden width H (default 2·hiddenSize) */
  gruHidden?: number;
  /** dropout between the encoder and the decoder (default 0.5); `dropout` is the embedding dropout */
  outputDropout?: number;
}

/**
 * Defaults and their sources:
 *  - hiddenSize 64: the A-FSR setting (via Yue et al., RecSys 2021); gruHidden 2·D: the paper's
 *    50/100 ratio, RecBole's and Yue et al.'s 64/128; layers 1: the paper;
 *  - dropout 0.25 on the item embeddings (before the GRU) and outputDropout 0.5 on [c_g; c_l]
 *    (before the bilinear decoder): the paper's implementation details, and RecBole's
 *    dropout_probs [0.25, 0.5];
 *  - maxLen 50: A-FSR Sec. 5.1 (the GRU itself has no length limit; maxLen only bounds inputs).
 */
export const NARM_DEFAULTS = { maxLen: 50, hiddenSize: 64, layers: 1, dropout: 0.25, outputDropout: 0.5, gruMultiple: 2 } as const;

const KNOWN = ['numItems', 'maxLen', 'hiddenSize', 'layers', 'heads', 'dropout', 'dropoutGen', 'gruHidden', 'outputDropout'] as const;

export class Narm extends RecommenderBase {
  readonly modelName = 'narm' as const;
  readonly targetKind = 'last' as const;
  readonly item_emb: Parameter;
  readonly gru: MaskedGru;
  /** A1: applied to the query state h_t (the last state of the prefix) */
  readonly a_global: Linear;
  /** A2: applied to every state h_j */
  readonly a_local: Linear;
  readonly v: Linear;
  /** the bilinear decoder's matrix B as a (2H → D) map */
  readonly b: Linear;
  readonly gruHidden: number;
  readonly dropout: number;
  readonly outputDropout: number;
  private readonly embDrop: Dropout;
  private readonly outDrop: Dropout;

  constructor(o: NarmOptions, gen?: Generator) {
    checkKnownOptions('NARM', o, KNOWN);
    const numItems = positiveInt('NARM', 'numItems', o.numItems);
    const D = positiveInt('NARM', 'hiddenSize', o.hiddenSize ?? NARM_DEFAULTS.hiddenSize);
    const maxLen = positiveInt('NARM', 'maxLen', o.maxLen ?? NARM_DEFAULTS.maxLen);
    super(numItems, numItems + 1, maxLen, D, null);
    const layers = positiveInt('NARM', 'layers', o.layers ?? NARM_DEFAULTS.layers);
    const H = positiveInt('NARM', 'gruHidden', o.gruHidden ?? NARM_DEFAULTS.gruMultiple * D);
    this.gruHidden = H;
    this.dropout = probability('NARM', 'dropout', o.dropout ?? NARM_DEFAULTS.dropout);
    this.outputDropout = probability('NARM', 'outputDropout', o.outputDropout ?? NARM_DEFAULTS.outputDropout);

    this.item_emb = this.registerParameter('item_emb', xavierUniformParam(this.vocabSize, D, gen));
    this.item_emb.values.fill(0, 0, D); // padding row starts at zero (it never reaches the GRU: pads are skipped)
    this.gru = this.registerModule('gru', new MaskedGru(D, H, layers, { gen }));
    this.a_global = this.registerModule('a_global', new Linear(H, H, { bias: false, gen }));
    this.a_local = this.registerModule('a_local', new Linear(H, H, { bias: false, gen }));
    this.v = this.registerModule('v', new Linear(H, 1, { bias: false, gen }));
    this.b = this.registerModule('b', new Linear(2 * H, D, { bias: false, gen }));
    this.embDrop = this.registerModule('emb_drop', new Dropout(this.dropout, o.dropoutGen));
    this.outDrop = this.registerModule('out_drop', new Dropout(this.outputDropout, o.dropoutGen));
  }

  /** f_e: items (B,L) i32 → z = item_emb[items] (B,L,D) */
  embed(items: Tensor): Tensor {
    this.checkItems(items);
    return embedding(this.item_emb, items);
  }

  /**
   * f_m: z (B,L,D), mask (B,L) → hidden (B,L,D): position t is the representation of the prefix
   * ending at t; with `lastOnly`, (B,1,D): the whole sequence's only.
   */
  encode(z: Tensor, mask: Tensor, o: EncodeOptions = {}): Tensor {
    this.checkEncode(z, mask);
    const L = z.shape[1]!;
    const states = this.gru.forward(this.embDrop.forward(z), mask);            // (B,L,H)
    const global = o.lastOnly ? states.slice(1, L - 1, L) : states;            // (B,T,H) = c_g of the prefixes computed
    const alpha = narmAttention(this.a_global.forward(global), this.a_local.forward(states), this.v.weight, mask); // (B,T,L)
    const local = matmul(alpha, states);                                        // (B,T,H) = c_l
    const c = this.outDrop.forward(concat([global, local], 2));                 // (B,T,2H)
    return this.b.forward(c);
  }

  /** the item table (numItems+1, D), padding row 0 included as a class */
  outputTable(): Tensor {
    return this.item_emb;
  }
}
