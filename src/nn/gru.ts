/**
 * GRU: one layer, exactly torch.nn.GRU(batch_first=True) (FORMAT.md 4.5: gate rows r, z, n; r
 * multiplies W_hn h + b_hn), on the engine's fused `gru` op over the whole sequence.
 * Parameter names and init as PyTorch: weight_ih (3H,in), weight_hh (3H,H), bias_ih (3H),
 * bias_hh (3H), all U(±1/sqrt(H)).
 */
import { type Generator, type Tensor, gru, zeros } from '../engine/index.js';
import { uniformParam } from './init.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';

export class GRU extends Module {
  readonly weight_ih: Parameter;
  readonly weight_hh: Parameter;
  readonly bias_ih: Parameter;
  readonly bias_hh: Parameter;

  constructor(readonly inputSize: number, readonly hiddenSize: number, opts: { gen?: Generator } = {}) {
    super();
    for (const [what, n] of [['inputSize', inputSize], ['hiddenSize', hiddenSize]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`GRU: ${what} must be a positive integer, got ${n}`);
    }
    const H = hiddenSize;
    const bound = 1 / Math.sqrt(H);
    this.weight_ih = this.registerParameter('weight_ih', uniformParam([3 * H, inputSize], bound, opts.gen));
    this.weight_hh = this.registerParameter('weight_hh', uniformParam([3 * H, H], bound, opts.gen));
    this.bias_ih = this.registerParameter('bias_ih', uniformParam([3 * H], bound, opts.gen));
    this.bias_hh = this.registerParameter('bias_hh', uniformParam([3 * H], bound, opts.gen));
  }

  /**
   * x (B,L,in), h0 (B,H) (default zeros) → out (B,L,H) = h_1…h_L and hn (B,H) = h_L.
   * hn is a slice of out, so gradients from both reach the same graph.
   */
  forward(x: Tensor, h0?: Tensor): { out: Tensor; hn: Tensor } {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) {
      throw new Error(`GRU: x is (${x.shape.join(',')}), expected (B,L,${this.inputSize})`);
    }
    const [B, L] = x.shape as [number, number, number];
    if (L < 1) throw new Error(`GRU: x is (${x.shape.join(',')}); the sequence must have at least one step`);
    if (h0 && (h0.rank !== 2 || h0.shape[0] !== B || h0.shape[1] !== this.hiddenSize)) {
      throw new Error(`GRU: h0 is (${h0.shape.join(',')}), expected (${B},${this.hiddenSize})`);
    }
    const h = h0 ?? zeros([B, this.hiddenSize]);
    const out = gru(x, h, this.weight_ih, this.weight_hh, this.bias_ih, this.bias_hh);
    const hn = out.slice(1, L - 1, L).reshape([B, this.hiddenSize]);
    return { out, hn };
  }
}
