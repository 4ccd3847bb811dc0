/**
 * Elementwise ops with NumPy broadcasting: add, sub, mul, div, neg, exp, log, sqrt, square, tanh,
 * sigmoid, relu, gelu (exact erf, on the backend). Forward and backward of each side by side.
 */
import { allocF32 } from '../../backend/buffer-pool.js';
import type { F32 } from '../../backend/backend.js';
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { broadcastShapes } from '../shape.js';
import { ADD, type BinOp, DIV, MUL, SUB, broadcastBinary, expand, reduceToShape } from './broadcast.js';

export function scalar(v: number): Tensor {
  return new Tensor(Float32Array.of(v), []);
}

function asTensor(x: Tensor | number): Tensor {
  return typeof x === 'number' ? scalar(x) : x;
}

/**
 * A broadcasting binary op. Backward computes only what `needs` asks for, and only from the
 * operand it needs: add passes g through (summed down to each input's shape), sub negates it,
 * mul multiplies g by the other side at its own broadcast strides (no expanded copies).
 */
function binary(opName: string, op: BinOp, aIn: Tensor | number, bIn: Tensor | number): Tensor {
  const a = asTensor(aIn), b = asTensor(bIn);
  const av = a.f32(opName), bv = b.f32(opName);
  const out = broadcastShapes(a.shape, b.shape, opName);
  const y = broadcastBinary(op, av, a.shape, bv, b.shape, out);
  return result(y, out, opName, [a, b], (g, needs) => {
    let ga: F32 | null = null, gb: F32 | null = null;
    switch (op) {
      case ADD:
        if (needs[0]) ga = reduceToShape(g, out, a.shape);
        if (needs[1]) gb = reduceToShape(g, out, b.shape);
        break;
      case SUB:
        if (needs[0]) ga = reduceToShape(g, out, a.shape);
        if (needs[1]) gb = reduceToShape(negate(g), out, b.shape);
        break;
      case MUL:
        if (needs[0]) ga = reduceToShape(broadcastBinary(MUL, g, out, bv, b.shape, out), out, a.shape);
        if (needs[1]) gb = reduceToShape(broadcastBinary(MUL, g, out, av, a.shape, out), out, b.shape);
        break;
      case DIV:
        if (needs[0]) ga = reduceToShape(broadcastBinary(DIV, g, out, bv, b.shape, out), out, a.shape);
        if (needs[1]) gb = reduceToShape(divRightGrad(g, expand(av, a.shape, out), expand(bv, b.shape, out)), out, b.shape);
        break;
    }
    return [ga, gb];
  }, true);
}

function negate(g: F32): F32 {
  const r = allocF32(g.length);
  for (let i = 0; i < g.length; i++) r[i] = -g[i]!;
  return r;
}

/** ∂(x/y)/∂y · g = −g·x / y² elementwise (x, y already expanded to g's shape) */
function divRightGrad(g: F32, x: F32, y: F32): F32 {
  const r = allocF32(g.length);
  for (let i = 0; i < g.length; i++) r[i] = (-g[i]! * x[i]!) / (y[i]! * y[i]!);
  return r;
}

export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('add', ADD, a, b);
}

export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('sub', SUB, a, b);
}

export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('mul', MUL, a, b);
}

export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('div', DIV, a, b);
}

/*
 * Unary ops: one plain loop each way per op (no shared closure per element). The backward
 * multiplies g by the derivative written in terms of input x and output y, evaluated exactly as
 * written (e.g. g·(1/x) for log, not g/x) so results do not depend on how the loop is shaped.
 */
function unaryResult(op: string, a: Tensor, y: F32, backward: (g: F32, gx: F32) => void): Tensor {
  return result(y, a.shape, op, [a], (g) => {
    const gx = allocF32(g.length);
    backward(g, gx);
    return [gx];
  }, true);
}

export function neg(a: Tensor): Tensor {
  const x = a.f32('neg'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = -x[i]!;
  return unaryResult('neg', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * -1; });
}

export function exp(a: Tensor): Tensor {
  const x = a.f32('exp'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = Math.exp(x[i]!);
  return unaryResult('exp', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * y[i]!; });
}

export function log(a: Tensor): Tensor {
  const x = a.f32('log'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = Math.log(x[i]!);
  return unaryResult('log', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * (1 / x[i]!); });
}

export function sqrt(a: Tensor): Tensor {
  const x = a.f32('sqrt'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = Math.sqrt(x[i]!);
  return unaryResult('sqrt', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * (0.5 / y[i]!); });
}

export function square(a: Tensor): Tensor {
  const x = a.f32('square'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = x[i]! * x[i]!;
  return unaryResult('square', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * (2 * x[i]!); });
}

export function tanh(a: Tensor): Tensor {
  const x = a.f32('tanh'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]!);
  return unaryResult('tanh', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * (1 - y[i]! * y[i]!); });
}

/** numerically stable logistic function */
export function sigmoidValue(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function sigmoid(a: Tensor): Tensor {
  const x = a.f32('sigmoid'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = sigmoidValue(x[i]!);
  return unaryResult('sigmoid', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * (y[i]! * (1 - y[i]!)); });
}

export function relu(a: Tensor): Tensor {
  const x = a.f32('relu'), n = x.length, y = allocF32(n);
  for (let i = 0; i < n; i++) y[i] = x[i]! > 0 ? x[i]! : 0;
  return unaryResult('relu', a, y, (g, gx) => { for (let i = 0; i < n; i++) gx[i] = g[i]! * (x[i]! > 0 ? 1 : 0); });
}

/** exact GELU 0.5·x·(1 + erf(x/√2)), a backend kernel (hot in every transformer block) */
export function gelu(a: Tensor): Tensor {
  const x = a.f32('gelu');
  const be = getBackend();
  return result(be.geluForward(x), a.shape, 'gelu', [a], (g) => [getBackend().geluBackward(x, g)]);
}
