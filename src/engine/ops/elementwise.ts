/**
 * Elementwise ops with NumPy broadcasting: add, sub, mul, div, neg, exp, log, sqrt, square, tanh,
 * sigmoid, relu, gelu (exact erf, on the backend). Forward and backward of each side by side.
 */
import type { F32 } from '../../backend/backend.js';
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { broadcastShapes } from '../shape.js';
import { broadcastBinary, reduceToShape } from './broadcast.js';

export function scalar(v: number): Tensor {
  return new Tensor(Float32Array.of(v), []);
}

function asTensor(x: Tensor | number): Tensor {
  return typeof x === 'number' ? scalar(x) : x;
}

function mapF(a: F32, f: (x: number) => number): F32 {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = f(a[i]!);
  return y;
}

/**
 * A broadcasting binary op. `da`/`db` give the gradient of each side elementwise
 * (g = upstream, x = a value, y = b value, at the broadcast position).
 */
function binary(op: string, aIn: Tensor | number, bIn: Tensor | number,
  f: (x: number, y: number) => number,
  da: ((g: number, x: number, y: number) => number) | null,
  db: ((g: number, x: number, y: number) => number) | null,
  usesValues = true): Tensor {
  const a = asTensor(aIn), b = asTensor(bIn);
  const av = a.f32(op), bv = b.f32(op);
  const out = broadcastShapes(a.shape, b.shape, op);
  const y = broadcastBinary(av, a.shape, bv, b.shape, out, f);
  return result(y, out, op, [a, b], (g, needs) => {
    // expand both operands to the output shape once, then apply the local derivative
    const expand = usesValues && (needs[0] || needs[1]);
    const zeros = new Float32Array(g.length);
    const ax = expand ? broadcastBinary(av, a.shape, bv, b.shape, out, (x) => x) : zeros;
    const bx = expand ? broadcastBinary(av, a.shape, bv, b.shape, out, (_x, z) => z) : zeros;
    const ga = needs[0] && da ? reduceToShape(zip3(g, ax!, bx!, da), out, a.shape) : null;
    const gb = needs[1] && db ? reduceToShape(zip3(g, ax!, bx!, db), out, b.shape) : null;
    return [ga, gb];
  });
}

function zip3(g: F32, x: F32, y: F32, f: (g: number, x: number, y: number) => number): F32 {
  const r = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) r[i] = f(g[i]!, x[i]!, y[i]!);
  return r;
}

export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('add', a, b, (x, y) => x + y, (g) => g, (g) => g, false);
}

export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('sub', a, b, (x, y) => x - y, (g) => g, (g) => -g, false);
}

export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('mul', a, b, (x, y) => x * y, (g, _x, y) => g * y, (g, x) => g * x);
}

export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binary('div', a, b, (x, y) => x / y, (g, _x, y) => g / y, (g, x, y) => (-g * x) / (y * y));
}

/** A unary op whose derivative is written in terms of input x and output y. */
function unary(op: string, a: Tensor, f: (x: number) => number, d: (x: number, y: number) => number): Tensor {
  const x = a.f32(op);
  const y = mapF(x, f);
  return result(y, a.shape, op, [a], (g) => {
    const gx = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) gx[i] = g[i]! * d(x[i]!, y[i]!);
    return [gx];
  });
}

export function neg(a: Tensor): Tensor {
  return unary('neg', a, (x) => -x, () => -1);
}

export function exp(a: Tensor): Tensor {
  return unary('exp', a, Math.exp, (_x, y) => y);
}

export function log(a: Tensor): Tensor {
  return unary('log', a, Math.log, (x) => 1 / x);
}

export function sqrt(a: Tensor): Tensor {
  return unary('sqrt', a, Math.sqrt, (_x, y) => 0.5 / y);
}

export function square(a: Tensor): Tensor {
  return unary('square', a, (x) => x * x, (x) => 2 * x);
}

export function tanh(a: Tensor): Tensor {
  return unary('tanh', a, Math.tanh, (_x, y) => 1 - y * y);
}

/** numerically stable logistic function */
export function sigmoidValue(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function sigmoid(a: Tensor): Tensor {
  return unary('sigmoid', a, sigmoidValue, (_x, y) => y * (1 - y));
}

export function relu(a: Tensor): Tensor {
  return unary('relu', a, (x) => (x > 0 ? x : 0), (x) => (x > 0 ? 1 : 0));
}

/** exact GELU 0.5·x·(1 + erf(x/√2)), a backend kernel (hot in every transformer block) */
export function gelu(a: Tensor): Tensor {
  const x = a.f32('gelu');
  const be = getBackend();
  return result(be.geluForward(x), a.shape, 'gelu', [a], (g) => [getBackend().geluBackward(x, g)]);
}
