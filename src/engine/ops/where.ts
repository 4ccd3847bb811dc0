/** Selection by a mask: where(cond, a, b) and maskedFill. cond is i32 or f32 (non-zero = true). */
import type { Data } from '../tensor.js';
import { Tensor, result } from '../tensor.js';
import { broadcastShapes, broadcastStrides, fmt, sizeOf } from '../shape.js';

/** Index of each output element in an input of shape `s` broadcast to `out`. */
function mapIndex(s: readonly number[], out: readonly number[]): Int32Array {
  const n = sizeOf(out);
  const st = broadcastStrides(s, out);
  const m = new Int32Array(n);
  const idx = new Array<number>(out.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    m[i] = off;
    for (let d = out.length - 1; d >= 0; d--) {
      idx[d]!++;
      off += st[d]!;
      if (idx[d]! < out[d]!) break;
      off -= st[d]! * out[d]!;
      idx[d] = 0;
    }
  }
  return m;
}

function truthy(c: Data, i: number): boolean {
  const v = c[i]!;
  return v !== 0 && !Number.isNaN(v);
}

/** out = cond ? a : b, elementwise with broadcasting; gradients flow to the chosen side. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const at = typeof a === 'number' ? new Tensor(Float32Array.of(a), []) : a;
  const bt = typeof b === 'number' ? new Tensor(Float32Array.of(b), []) : b;
  const out = broadcastShapes(broadcastShapes(cond.shape, at.shape, 'where'), bt.shape, 'where');
  const ci = mapIndex(cond.shape, out), ai = mapIndex(at.shape, out), bi = mapIndex(bt.shape, out);
  const av = at.f32('where'), bv = bt.f32('where');
  const n = sizeOf(out);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = truthy(cond.data, ci[i]!) ? av[ai[i]!]! : bv[bi[i]!]!;
  return result(y, out, 'where', [at, bt], (g, needs) => {
    const ga = needs[0] ? new Float32Array(at.size) : null;
    const gb = needs[1] ? new Float32Array(bt.size) : null;
    for (let i = 0; i < n; i++) {
      if (truthy(cond.data, ci[i]!)) { if (ga) ga[ai[i]!]! += g[i]!; } else if (gb) gb[bi[i]!]! += g[i]!;
    }
    return [ga, gb];
  });
}

/** x with `value` wherever mask is non-zero (mask broadcasts to x's shape). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const out = broadcastShapes(x.shape, mask.shape, 'maskedFill');
  if (out.length !== x.rank || out.some((d, i) => d !== x.shape[i])) {
    throw new Error(`maskedFill: mask ${fmt(mask.shape)} does not broadcast to x ${fmt(x.shape)}`);
  }
  return where(mask, value, x);
}
