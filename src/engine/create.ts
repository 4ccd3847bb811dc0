/** Creating tensors from values. */
import { Tensor } from './tensor.js';
import { checkShape, fmt, sizeOf } from './shape.js';

type Nested = number | Nested[];

function flatten(v: Nested, shape: number[], depth: number, out: number[]): void {
  if (typeof v === 'number') {
    if (depth !== shape.length) throw new Error('tensor: ragged nested array');
    out.push(v);
    return;
  }
  if (depth === shape.length) shape.push(v.length);
  else if (shape[depth] !== v.length) throw new Error('tensor: ragged nested array');
  for (const x of v) flatten(x, shape, depth + 1, out);
}

/**
 * A tensor from a nested array, a flat array with a shape, or a typed array with a shape.
 * dtype defaults to f32 (Int32Array input gives i32).
 */
export function tensor(values: Nested | Float32Array | Int32Array, shape?: number[],
  opts: { dtype?: 'f32' | 'i32'; requiresGrad?: boolean } = {}): Tensor {
  let flat: ArrayLike<number>;
  let s: number[];
  if (shape) checkShape(shape, 'tensor');
  if (typeof values === 'number' && shape) {
    flat = [values];
    s = shape;
  } else if (values instanceof Float32Array || values instanceof Int32Array) {
    flat = values;
    s = shape ?? [values.length];
  } else if (shape && Array.isArray(values)) {
    flat = values.flat(Infinity as 1) as number[];
    s = shape;
  } else {
    const out: number[] = [];
    s = [];
    flatten(values, s, 0, out);
    flat = out;
  }
  if (flat.length !== sizeOf(s)) throw new Error(`tensor: ${flat.length} values do not fill shape ${fmt(s)}`);
  const dtype = opts.dtype ?? (values instanceof Int32Array ? 'i32' : 'f32');
  const data = dtype === 'i32' ? Int32Array.from(flat) : values instanceof Float32Array ? values : Float32Array.from(flat);
  return new Tensor(data, s, { requiresGrad: opts.requiresGrad ?? false });
}

export function zeros(shape: number[], dtype: 'f32' | 'i32' = 'f32'): Tensor {
  checkShape(shape, 'zeros');
  const n = sizeOf(shape);
  return new Tensor(dtype === 'i32' ? new Int32Array(n) : new Float32Array(n), shape);
}

export function full(shape: number[], value: number): Tensor {
  checkShape(shape, 'full');
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
}

export function ones(shape: number[]): Tensor {
  return full(shape, 1);
}

/** 0, 1, …, n−1 as i32 */
export function arange(n: number): Tensor {
  return new Tensor(Int32Array.from({ length: n }, (_, i) => i), [n]);
}
