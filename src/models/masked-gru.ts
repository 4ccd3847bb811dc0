/**
 * Stacked GRU layers that *skip* padded steps: at a position with mask 0 the hidden state is
 * carried over unchanged (h_t = h_{t−1}), so with left padding every sequence starts from
 * h0 = 0 at its first real item and its states equal those of the unpadded sequence — what
 * PyTorch ports get from pack_padded_sequence. Padding positions output h0 = 0 (or the last
 * real state, for holes or right padding) and pass no gradient to the weights or to z.
 *
 * How, on the unmodified fused `gru` op (torch.nn.GRU semantics, FORMAT.md 4.5): the input gets
 * one extra feature, the pad indicator p_t = 1 − mask_t, and the input weight one extra column
 * that is a constant (not a parameter): SKIP on the update-gate rows [H, 2H), 0 elsewhere. At a
 * real step p_t = 0 adds an exact zero; at a pad step the update gate's pre-activation gets +SKIP,
 * so z = σ(·) rounds to exactly 1 in float32 and
 *     h_t = (1 − z)·n + z·h_{t−1} = 0·n + h_{t−1} = h_{t−1}        (exactly)
 * and in the backward dn = dh·(1−z) = 0 and dgate_z = dz·z(1−z) = 0: the step is transparent.
 * SKIP = 100 leaves a margin of ~80 on the biases b_iz + b_hz (σ(x) is 1 in f32 for x > 17.4;
 * W_hz h adds nothing while h is still h0 = 0 in leading padding).
 *
 * Parameters keep torch.nn.GRU's names and shapes (layer i: `i.weight_ih (3H,in)`, ...).
 */
import { type Generator, Tensor, concat, gru, zeros } from '../engine/index.js';
import { GRU, Module, ModuleList } from '../nn/index.js';

const SKIP = 100;

const fmt = (s: readonly number[]): string => `(${s.join(',')})`;

export class MaskedGru extends Module {
  readonly layers: ModuleList<GRU>;
  /** (3H, 1) constant column per layer: SKIP on the update-gate rows */
  private readonly skipColumn: Tensor;

  constructor(readonly inputSize: number, readonly hiddenSize: number, numLayers: number, opts: { gen?: Generator } = {}) {
    super();
    if (!Number.isInteger(numLayers) || numLayers < 1) throw new Error(`MaskedGru: numLayers must be a positive integer, got ${numLayers}`);
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers },
      (_, i) => new GRU(i === 0 ? inputSize : hiddenSize, hiddenSize, opts.gen ? { gen: opts.gen } : {}))));
    const H = hiddenSize;
    const col = new Float32Array(3 * H);
    col.fill(SKIP, H, 2 * H);
    this.skipColumn = new Tensor(col, [3 * H, 1]);
  }

  /** x (B,L,in), mask (B,L) i32 (1 = real step) → every layer-top state (B,L,H). */
  forward(x: Tensor, mask: Tensor): Tensor {
    if (x.rank !== 3 || x.shape[2] !== this.inputSize) throw new Error(`MaskedGru: x is ${fmt(x.shape)}, expected (B,L,${this.inputSize})`);
    const [B, L] = x.shape as [number, number, number];
    if (mask.dtype !== 'i32' || mask.rank !== 2 || mask.shape[0] !== B || mask.shape[1] !== L) {
      throw new Error(`MaskedGru: mask must be i32 (${B},${L}), got ${mask.dtype} ${fmt(mask.shape)}`);
    }
    const pad = new Tensor(Float32Array.from(mask.i32(), (m) => (m === 0 ? 1 : 0)), [B, L, 1]);
    const h0 = zeros([B, this.hiddenSize]);
    let h = x;
    for (const layer of this.layers) {
      const wIh = concat([layer.weight_ih, this.skipColumn], 1);
      h = gru(concat([h, pad], 2), h0, wIh, layer.weight_hh, layer.bias_ih, layer.bias_hh);
    }
    return h;
  }
}
