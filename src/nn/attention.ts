/**
 * MultiHeadAttention with separate q, k, v and out projections (each a Linear, named q/k/v/out)
 * around the engine's fused `attention` op (FORMAT.md 4.4: key-padding mask, causal or not,
 * scale 1/sqrt(dh), rows with no allowed key output 0, dropout on the attention weights).
 *
 * forward(query, key, value, keyMask) takes the query stream apart from the key/value streams
 * because SASRec's original block (FORMAT.md 4.16) projects LN(x) to queries but the raw x to
 * keys and values; for plain self-attention pass the same tensor three times. The fused op
 * needs equal query and key lengths, so cross-attention of different lengths is not supported.
 *
 * Heads: (B,L,D) → reshape (B,L,H,dh), which the fused op reads as it stands (`interleaved`: no
 * permute, no copy); head h owns features [h·dh, (h+1)·dh) of each projection, as
 * torch.nn.MultiheadAttention.
 */
import { type Generator, type Tensor, attention } from '../engine/index.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface MultiHeadAttentionOptions {
  /** query i may attend to keys j <= i only (default false) */
  causal?: boolean;
  /** dropout probability on the attention weights, in training mode only (default 0) */
  dropout?: number;
  /** biases on the four projections (default true) */
  bias?: boolean;
  /** init generator for the projections */
  gen?: Generator;
  /** generator of the attention-dropout masks (default: the engine's `dropout` stream) */
  dropoutGen?: Generator;
}

export class MultiHeadAttention extends Module {
  readonly q: Linear;
  readonly k: Linear;
  readonly v: Linear;
  readonly out: Linear;
  readonly headDim: number;
  readonly causal: boolean;
  readonly dropout: number;
  private readonly dropoutGen: Generator | undefined;

  constructor(readonly dim: number, readonly heads: number, opts: MultiHeadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(heads) || heads < 1 || !Number.isInteger(dim) || dim % heads !== 0) {
      throw new Error(`MultiHeadAttention: dim ${dim} must be a positive multiple of heads ${heads}`);
    }
    this.headDim = dim / heads;
    this.causal = opts.causal ?? false;
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`MultiHeadAttention: dropout must be in [0, 1), got ${this.dropout}`);
    this.dropoutGen = opts.dropoutGen;
    const lin = { bias: opts.bias ?? true, gen: opts.gen };
    this.q = this.registerModule('q', new Linear(dim, dim, lin));
    this.k = this.registerModule('k', new Linear(dim, dim, lin));
    this.v = this.registerModule('v', new Linear(dim, dim, lin));
    this.out = this.registerModule('out', new Linear(dim, dim, lin));
  }

  /** (B,L,D) → (B,L,H,dh), a free reshape */
  private split(x: Tensor): Tensor {
    const [B, L] = x.shape as [number, number, number];
    return x.reshape([B, L, this.heads, this.headDim]);
  }

  /**
   * query (B,L,D), key (B,L,D), value (B,L,D), keyMask (B,L) i32 (1 = real token) → (B,L,D).
   */
  forward(query: Tensor, key: Tensor, value: Tensor, keyMask: Tensor): Tensor {
    const D = this.dim;
    for (const [name, t] of [['query', query], ['key', key], ['value', value]] as const) {
      if (t.rank !== 3 || t.shape[2] !== D || t.shape[0] !== query.shape[0] || t.shape[1] !== query.shape[1]) {
        throw new Error(`MultiHeadAttention: ${name} is (${t.shape.join(',')}), expected (B,L,${D}) equal to query (${query.shape.join(',')})`);
      }
    }
    const [B, L] = query.shape as [number, number, number];
    const o = attention(this.split(this.q.forward(query)), this.split(this.k.forward(key)), this.split(this.v.forward(value)), keyMask, {
      causal: this.causal,
      dropout: this.dropout,
      training: this.training,
      interleaved: true,
      ...(this.dropoutGen ? { gen: this.dropoutGen } : {}),
    });
    return this.out.forward(o.reshape([B, L, D]));
  }
}
