/** Selection by a mask: where(cond, a, b) and maskedFill. cond is i32 or f32 (non-zero = true). */
import { allocF32 } from '../../backend/buffer-pool.js';
import { Tensor, result } from '../tensor.js';
import { broadcastShapes, collapse, fmt, sizeOf } from '../shape.js';

/**
 * out = cond ? a : b, elementwise with broadcasting; gradients flow to the chosen side.
 * Runs over the collapsed loop nest (shape.ts `collapse`): each operand's inner stride is 0 or 1.
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const at = typeof a === 'number' ? new Tensor(Float32Array.of(a), []) : a;
  const bt = typeof b === 'number' ? new Tensor(Float32Array.of(b), []) : b;
  const out = broadcastShapes(broadcastShapes(cond.shape, at.shape, 'where'), bt.shape, 'where');
  const av = at.f32('where'), bv = bt.f32('where');
  const c = cond.data;
  const n = sizeOf(out);
  const { dims, strides } = collapse(out, [cond.shape, at.shape, bt.shape]);
  const [sc, sa, sb] = strides as [number[], number[], number[]];
  const r = dims.length;
  const inner = r === 0 ? 1 : dims[r - 1]!;
  const ic = r === 0 ? 0 : sc[r - 1]!, ia = r === 0 ? 0 : sa[r - 1]!, ib = r === 0 ? 0 : sb[r - 1]!;
  /** visits rows of `inner` outputs: fn(output offset, cond offset, a offset, b offset) */
  const rows = (fn: (yo: number, co: number, ao: number, bo: number) => void) => {
    const idx = new Int32Array(Math.max(r - 1, 0));
    let co = 0, ao = 0, bo = 0;
    for (let yo = 0; yo < n; yo += inner) {
      fn(yo, co, ao, bo);
      for (let d = r - 2; d >= 0; d--) {
        co += sc[d]!; ao += sa[d]!; bo += sb[d]!;
        if (++idx[d]! < dims[d]!) break;
        co -= sc[d]! * dims[d]!; ao -= sa[d]! * dims[d]!; bo -= sb[d]! * dims[d]!;
        idx[d] = 0;
      }
    }
  };
  const y = allocF32(n);
  rows((yo, co, ao, bo) => {
    for (let k = 0; k < inner; k++) {
      const v = c[co + k * ic]!;
      y[yo + k] = v !== 0 && v === v ? av[ao + k * ia]! : bv[bo + k * ib]!; // non-zero and not NaN
    }
  });
  return result(y, out, 'where', [at, bt], (g, needs) => {
    const ga = needs[0] ? allocF32(at.size) : null;
    const gb = needs[1] ? allocF32(bt.size) : null;
    // each input element receives its terms in output order (as a broadcast gradient does)
    rows((yo, co, ao, bo) => {
      for (let k = 0; k < inner; k++) {
        const v = c[co + k * ic]!;
        if (v !== 0 && v === v) { if (ga) ga[ao + k * ia]! += g[yo + k]!; } else if (gb) gb[bo + k * ib]! += g[yo + k]!;
      }
    });
    return [ga, gb];
  }, true);
}

/** x with `value` wherever mask is non-zero (mask broadcasts to x's shape). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const out = broadcastShapes(x.shape, mask.shape, 'maskedFill');
  if (out.length !== x.rank || out.some((d, i) => d !== x.shape[i])) {
    throw new Error(`maskedFill: mask ${fmt(mask.shape)} does not broadcast to x ${fmt(x.shape)}`);
  }
  return where(mask, value, x);
}
