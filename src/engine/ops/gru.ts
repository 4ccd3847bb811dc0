/**
 * Fused single-layer GRU over a whole sequence, exactly torch.nn.GRU(batch_first=True)
 * (FORMAT.md 4.5). Returns every hidden state (B,L,H); h_n is its last step (slice it).
 */
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { fmt, sameShape } from '../shape.js';

export function gru(x: Tensor, h0: Tensor, wIh: Tensor, wHh: Tensor, bIh: Tensor, bHh: Tensor): Tensor {
  if (x.rank !== 3) throw new Error(`gru: x must be (B,L,in), got ${fmt(x.shape)}`);
  const [B, L, I] = x.shape as [number, number, number];
  if (h0.rank !== 2 || h0.shape[0] !== B) throw new Error(`gru: x is ${fmt(x.shape)} so h0 must be (${B},H), got ${fmt(h0.shape)}`);
  const H = h0.shape[1]!;
  const want: [Tensor, number[], string][] = [
    [h0, [B, H], 'h0'], [wIh, [3 * H, I], 'weight_ih'], [wHh, [3 * H, H], 'weight_hh'],
    [bIh, [3 * H], 'bias_ih'], [bHh, [3 * H], 'bias_hh'],
  ];
  for (const [t, s, name] of want) {
    if (!sameShape(t.shape, s)) throw new Error(`gru: x is ${fmt(x.shape)} so ${name} must be ${fmt(s)}, got ${fmt(t.shape)}`);
  }
  const d = { B, L, I, H };
  const xv = x.f32('gru'), hv = h0.f32('gru'), wi = wIh.f32('gru'), wh = wHh.f32('gru');
  const { out, cache } = getBackend().gruForward(xv, hv, wi, wh, bIh.f32('gru'), bHh.f32('gru'), d);
  return result(out, [B, L, H], 'gru', [x, h0, wIh, wHh, bIh, bHh], (g) => {
    const r = getBackend().gruBackward(xv, hv, wi, wh, out, cache, g, d);
    return [r.dx, r.dh0, r.dWIh, r.dWHh, r.dBIh, r.dBHh];
  });
}
