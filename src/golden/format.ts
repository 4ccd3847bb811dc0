/**
 * Golden cases (../shared/golden/FORMAT.md): one JSON file per case with inputs, upstream
 * cotangents, expected outputs and gradients and a tolerance. This file reads and compares them;
 * cases.ts knows how to run each op on the engine.
 */
import { readFileSync } from 'node:fs';
import { Tensor } from '../engine/index.js';

export interface JsonTensor {
  shape: number[];
  dtype: 'f32' | 'i32';
  data: number[];
}

export interface GoldenCase {
  op: string;
  config: Record<string, unknown>;
  inputs: Record<string, JsonTensor>;
  upstream: Record<string, JsonTensor>;
  outputs: Record<string, JsonTensor>;
  grads: Record<string, JsonTensor>;
  tolerance: { rtol: number; atol: number };
}

function isTensor(x: unknown): x is JsonTensor {
  const t = x as JsonTensor;
  return !!t && Array.isArray(t.shape) && (t.dtype === 'f32' || t.dtype === 'i32') && Array.isArray(t.data);
}

/** Reads and validates one case file; throws with the file name and what is wrong. */
export function readCase(file: string): GoldenCase {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (typeof raw.op !== 'string') throw new Error(`${file}: missing "op"`);
  const tol = raw.tolerance as GoldenCase['tolerance'] | undefined;
  if (!tol || typeof tol.rtol !== 'number' || typeof tol.atol !== 'number') throw new Error(`${file}: missing tolerance`);
  for (const key of ['inputs', 'upstream', 'outputs', 'grads'] as const) {
    const group = (raw[key] ?? {}) as Record<string, unknown>;
    for (const [name, t] of Object.entries(group)) {
      if (!isTensor(t)) throw new Error(`${file}: ${key}.${name} is not a tensor {shape, dtype, data}`);
      const n = t.shape.reduce((p, q) => p * q, 1);
      if (t.data.length !== n) throw new Error(`${file}: ${key}.${name} has ${t.data.length} values for shape (${t.shape.join(',')})`);
    }
  }
  return {
    op: raw.op,
    config: (raw.config ?? {}) as Record<string, unknown>,
    inputs: (raw.inputs ?? {}) as Record<string, JsonTensor>,
    upstream: (raw.upstream ?? {}) as Record<string, JsonTensor>,
    outputs: (raw.outputs ?? {}) as Record<string, JsonTensor>,
    grads: (raw.grads ?? {}) as Record<string, JsonTensor>,
    tolerance: tol,
  };
}

/** JSON tensor → engine tensor; f32 values rounded to float32 as the format requires. */
export function toTensor(t: JsonTensor, requiresGrad = false): Tensor {
  const data = t.dtype === 'i32' ? Int32Array.from(t.data) : Float32Array.from(t.data);
  return new Tensor(data, t.shape, { requiresGrad: requiresGrad && t.dtype === 'f32' });
}

export interface Mismatch {
  /** e.g. "outputs.y" */
  name: string;
  message: string;
}

export interface Comparison {
  maxAbs: number;
  maxRel: number;
  mismatches: Mismatch[];
}

/** Accumulates comparisons of actual values with expected tensors under one tolerance. */
export class Comparer {
  readonly result: Comparison = { maxAbs: 0, maxRel: 0, mismatches: [] };

  constructor(private readonly tol: { rtol: number; atol: number }) {}

  check(name: string, expected: JsonTensor, actual: ArrayLike<number>, actualShape?: readonly number[]): void {
    if (actualShape && (actualShape.length !== expected.shape.length || actualShape.some((d, i) => d !== expected.shape[i]))) {
      this.result.mismatches.push({ name, message: `shape (${actualShape.join(',')}) != expected (${expected.shape.join(',')})` });
      return;
    }
    if (actual.length !== expected.data.length) {
      this.result.mismatches.push({ name, message: `${actual.length} values != expected ${expected.data.length}` });
      return;
    }
    let worst = -1, worstExcess = 0;
    for (let i = 0; i < actual.length; i++) {
      const e = expected.data[i]!, a = actual[i]!;
      const abs = Math.abs(a - e);
      if (expected.dtype === 'i32') {
        if (a !== e && worst < 0) worst = i;
        continue;
      }
      this.result.maxAbs = Math.max(this.result.maxAbs, Number.isNaN(abs) ? Infinity : abs);
      // relative error is only meaningful where the expected value is above the absolute floor
      if (Math.abs(e) > this.tol.atol) this.result.maxRel = Math.max(this.result.maxRel, abs / Math.abs(e));
      const excess = abs - (this.tol.atol + this.tol.rtol * Math.abs(e));
      if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) { worst = i; worstExcess = excess; }
    }
    if (worst >= 0) {
      this.result.mismatches.push({
        name,
        message: `element ${worst}: got ${actual[worst]}, expected ${expected.data[worst]}` +
          (expected.dtype === 'i32' ? ' (i32 must match exactly)' : ` (atol ${this.tol.atol}, rtol ${this.tol.rtol})`),
      });
    }
  }
}
