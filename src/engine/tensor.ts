/**
 * Tensor: a row-major, contiguous f32 or i32 array with a shape, and its place on the tape.
 * Storage is a Float32Array / Int32Array: garbage-collected, or, for a kernel output made inside
 * `scope()`, recycled when the scope returns (../backend/buffer-pool.ts; reading such a tensor
 * afterwards throws).
 * The methods are sugar over the op functions in ./ops/ (one op, one place).
 */
import type { F32, I32 } from '../backend/backend.js';
import { keepArray } from '../backend/buffer-pool.js';
import { type GradNode, isGradEnabled, runBackward } from './autograd.js';
import { type Shape, checkShape, fmt, sizeOf } from './shape.js';
import * as ops from './ops/index.js';

export type DType = 'f32' | 'i32';
export type Data = F32 | I32;

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly #data: Data;
  readonly #size: number;
  requiresGrad: boolean;
  /** accumulated gradient of a leaf after backward() */
  grad: Tensor | null = null;
  /** the op that produced this tensor (null for leaves and for untracked results) */
  node: GradNode | null;
  name: string | undefined;

  constructor(data: Data, shape: Shape, opts: { requiresGrad?: boolean; node?: GradNode | null; name?: string } = {}) {
    checkShape(shape, 'tensor');
    if (data.length !== sizeOf(shape)) {
      throw new Error(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} needed)`);
    }
    this.#data = data;
    this.#size = data.length;
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Int32Array ? 'i32' : 'f32';
    if (this.dtype === 'i32' && opts.requiresGrad) throw new Error('tensor: an i32 tensor cannot require grad');
    this.requiresGrad = opts.requiresGrad ?? false;
    this.node = opts.node ?? null;
    this.name = opts.name;
  }

  /** row-major values; mutate only through the optimiser or under noGrad */
  get data(): Data {
    const d = this.#data;
    if (d.byteLength === 0 && this.#size > 0) {
      throw new Error(`tensor ${fmt(this.shape)}${this.name ? ` '${this.name}'` : ''} was used after the scope() that made it returned (its memory was recycled; return it from the scope or copy it with clone())`);
    }
    return d;
  }

  get size(): number {
    return this.#size;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** f32 values (throws for i32 tensors, naming the op that wanted f32) */
  f32(op = 'op'): F32 {
    if (!(this.data instanceof Float32Array)) throw new Error(`${op}: expected an f32 tensor, got i32 ${fmt(this.shape)}`);
    return this.data;
  }

  i32(op = 'op'): I32 {
    if (!(this.data instanceof Int32Array)) throw new Error(`${op}: expected an i32 tensor, got f32 ${fmt(this.shape)}`);
    return this.data;
  }

  /** the single value of a one-element tensor */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor has shape ${fmt(this.shape)}, not one element`);
    return this.data[0]!;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** a new leaf sharing this tensor's values, cut from the tape */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** a deep copy (leaf, no grad) */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /**
   * Backpropagates from this tensor: gradients accumulate into `.grad` of every leaf that requires
   * grad. (For the gradients of chosen tensors only, without touching `.grad`, use `grad()`.)
   */
  backward(gradient?: Tensor | F32): void {
    const seed = gradient === undefined ? null : gradient instanceof Tensor ? gradient.f32('backward') : gradient;
    runBackward(this, seed, null);
  }

  /** @internal add a gradient into .grad (used by backward); `owned`: g may be kept as is */
  accumulateGrad(g: F32, owned = false): void {
    if (this.grad === null) {
      // a leaf's gradient outlives the scope of the step that computed it
      if (owned && g instanceof Float32Array) keepArray(g);
      this.grad = new Tensor(owned ? g : g.slice(), this.shape);
    }
    else {
      const acc = this.grad.f32();
      for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
    }
  }

  zeroGrad(): void {
    this.grad = null;
  }

  toString(): string {
    const vals = Array.from(this.data.subarray(0, 8)).map((v) => +v.toFixed(4));
    return `Tensor${fmt(this.shape)} ${this.dtype} [${vals.join(', ')}${this.size > 8 ? ', …' : ''}]`;
  }

  // ---- sugar over ./ops ------------------------------------------------------------------
  add(o: Tensor | number): Tensor { return ops.add(this, o); }
  sub(o: Tensor | number): Tensor { return ops.sub(this, o); }
  mul(o: Tensor | number): Tensor { return ops.mul(this, o); }
  div(o: Tensor | number): Tensor { return ops.div(this, o); }
  neg(): Tensor { return ops.neg(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  tanh(): Tensor { return ops.tanh(this); }
  sigmoid(): Tensor { return ops.sigmoid(this); }
  relu(): Tensor { return ops.relu(this); }
  gelu(): Tensor { return ops.gelu(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  square(): Tensor { return ops.square(this); }
  sum(axis?: number | number[], keepDims = false): Tensor { return ops.sum(this, axis, keepDims); }
  mean(axis?: number | number[], keepDims = false): Tensor { return ops.mean(this, axis, keepDims); }
  max(axis: number, keepDims = false): Tensor { return ops.max(this, axis, keepDims); }
  argmax(axis: number, keepDims = false): Tensor { return ops.argmax(this, axis, keepDims); }
  reshape(shape: number[]): Tensor { return ops.reshape(this, shape); }
  transpose(a = -2, b = -1): Tensor { return ops.transpose(this, a, b); }
  permute(dims: number[]): Tensor { return ops.permute(this, dims); }
  slice(axis: number, start: number, end: number): Tensor { return ops.slice(this, axis, start, end); }
  matmul(o: Tensor): Tensor { return ops.matmul(this, o); }
}

/**
 * Wraps an op result: records `node` on the tape when any input requires grad. `fresh`: the
 * backward returns only new arrays it keeps no reference to, or its gradOut (see GradNode).
 */
export function result(data: Data, shape: Shape, op: string, inputs: Tensor[],
  backward: GradNode['backward'], fresh = false): Tensor {
  const track = isGradEnabled() && inputs.some((x) => x.requiresGrad);
  return new Tensor(data, shape, track ? { requiresGrad: true, node: { op, inputs, backward, fresh } } : {});
}

/**
 * Gradients of `output` with respect to `inputs` only (no parameter .grad is touched, and no
 * gradient is computed along paths that do not reach `inputs`).
 */
export function grad(output: Tensor, inputs: Tensor[], gradient?: Tensor | F32): Tensor[] {
  const seed = gradient === undefined ? null : gradient instanceof Tensor ? gradient.f32('grad') : gradient;
  const gs = runBackward(output, seed, inputs);
  return gs.map((g, i) => new Tensor(g ?? new Float32Array(inputs[i]!.size), inputs[i]!.shape));
}
