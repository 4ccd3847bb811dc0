/**
 * GRU4Rec (Hidasi et al., "Session-based Recommendations with Recurrent Neural Networks",
 * ICLR 2016), in the full-softmax form of the common PyTorch ports (RecBole's GRU4Rec with the
 * cross-entropy loss): one hidden state per position, trained on the next item everywhere
 * (targetKind 'next').
 *
 *   x      = dropout(z)                                   z = embed(items) = item_emb[items]
 *   h_1..L = GRU^layers(x) (B,L,H), padded steps skipped (masked-gru.ts)
 *   hidden = dense(h) (B,L,D)                              dense: Linear(H → D), as RecBole
 *   scores = hidden · item_embᵀ                            tied item table (numItems+1 rows)
 *
 * Departures from the original paper, as in the ports: an item embedding layer instead of
 * one-hot inputs, a softmax over all items with cross-entropy instead of the paper's
 * mini-batch-negative ranking losses (BPR/TOP1), the output tied to the input embedding.
 * `dense: false` drops the dense layer (then gruHidden must equal hiddenSize).
 *
 * Left padding: padded steps are skipped exactly, so the states at real positions equal those
 * of the unpadded sequence (padded positions output dense(0) = its bias; their targets are 0).
 * Init: item table Glorot-uniform (RecBole: xavier), GRU and dense PyTorch's defaults.
 */
import { type Generator, type Tensor, embedding } from '../engine/index.js';
import { Dropout, Linear, type Parameter } from '../nn/index.js';
import {
  type CommonModelOptions, RecommenderBase, checkKnownOptions, positiveInt, probability, xavierUniformParam,
} from './base.js';
import { MaskedGru } from './masked-gru.js';

export interface Gru4recOptions extends CommonModelOptions {
  /** GRU hidden width H (default 2·hiddenSize) */
  gruHidden?: number;
  /** a Linear(H → D) after the GRU (default true) */
  dense?: boolean;
}

/**
 * Defaults and their sources:
 *  - hiddenSize 64, gruHidden 128 (= 2·D), layers 1, dropout 0.3 on the embeddings: RecBole's
 *    GRU4Rec defaults (embedding_size 64, hidden_size 128, num_layers 1, dropout 0.3, loss_type CE);
 *    Hidasi et al. used one layer of 100 (and up to 1000) units;
 *  - maxLen 50: A-FSR Sec. 5.1 (the GRU itself has no length limit; maxLen only bounds inputs).
 */
export const GRU4REC_DEFAULTS = { maxLen: 50, hiddenSize: 64, layers: 1, dropout: 0.3, gruMultiple: 2 } as const;

const KNOWN = ['numItems', 'maxLen', 'hiddenSize', 'layers', 'heads', 'dropout', 'dropoutGen', 'gruHidden', 'dense'] as const;

export class Gru4rec extends RecommenderBase {
  readonly modelName = 'gru4rec' as const;
  readonly targetKind = 'next' as const;
  readonly item_emb: Parameter;
  readonly gru: MaskedGru;
  readonly dense: Linear | null;
  readonly gruHidden: number;
  readonly dropout: number;
  private readonly embDrop: Dropout;

  constructor(o: Gru4recOptions, gen?: Generator) {
    checkKnownOptions('GRU4Rec', o, KNOWN);
    const numItems = positiveInt('GRU4Rec', 'numItems', o.numItems);
    const D = positiveInt('GRU4Rec', 'hiddenSize', o.hiddenSize ?? GRU4REC_DEFAULTS.hiddenSize);
    const maxLen = positiveInt('GRU4Rec', 'maxLen', o.maxLen ?? GRU4REC_DEFAULTS.maxLen);
    super(numItems, numItems + 1, maxLen, D, null);
    const layers = positiveInt('GRU4Rec', 'layers', o.layers ?? GRU4REC_DEFAULTS.layers);
    const useDense = o.dense ?? true;
    const H = positiveInt('GRU4Rec', 'gruHidden', o.gruHidden ?? (useDense ? GRU4REC_DEFAULTS.gruMultiple * D : D));
    if (!useDense && H !== D) throw new Error(`GRU4Rec: without the dense layer gruHidden (${H}) must equal hiddenSize (${D})`);
    this.gruHidden = H;
    this.dropout = probability('GRU4Rec', 'dropout', o.dropout ?? GRU4REC_DEFAULTS.dropout);

    this.item_emb = this.registerParameter('item_emb', xavierUniformParam(this.vocabSize, D, gen));
    this.item_emb.values.fill(0, 0, D);
    this.gru = this.registerModule('gru', new MaskedGru(D, H, layers, { gen }));
    this.dense = useDense ? this.registerModule('dense', new Linear(H, D, { gen })) : null;
    this.embDrop = this.registerModule('emb_drop', new Dropout(this.dropout, o.dropoutGen));
  }

  /** f_e: items (B,L) i32 → z = item_emb[items] (B,L,D) */
  embed(items: Tensor): Tensor {
    this.checkItems(items);
    return embedding(this.item_emb, items);
  }

  /** f_m: z (B,L,D), mask (B,L) → hidden (B,L,D), one state per position (causal by construction) */
  encode(z: Tensor, mask: Tensor): Tensor {
    this.checkEncode(z, mask);
    const h = this.gru.forward(this.embDrop.forward(z), mask);
    return this.dense ? this.dense.forward(h) : h;
  }

  /** the tied item table (numItems+1, D), padding row 0 included as a class */
  outputTable(): Tensor {
    return this.item_emb;
  }
}
