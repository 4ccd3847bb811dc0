/**
 * Reading the golden fixtures (../shared/golden, FORMAT.md) for the nn and optim tests:
 * locating the directory, loading a case, and the elementwise comparison of FORMAT.md 3.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Tensor } from '../../src/engine/index.js';

export interface GoldenTensor {
  shape: number[];
  dtype: 'f32' | 'i32';
  data: number[];
}

export interface Golden {
  op: string;
  description?: string;
  config: Record<string, unknown>;
  inputs: Record<string, GoldenTensor>;
  upstream: Record<string, GoldenTensor>;
  outputs: Record<string, GoldenTensor>;
  grads: Record<string, GoldenTensor>;
  tolerance: { rtol: number; atol: number };
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const goldenDir = process.env.SEQFAIR_GOLDEN ?? path.resolve(repoRoot, '../shared/golden');

/** The case files `<op>-<n>.json`, sorted by n (empty when the directory is absent). */
export function goldenCases(op: string): string[] {
  if (!fs.existsSync(goldenDir)) return [];
  const re = new RegExp(`^${op}-(\\d+)\\.json$`);
  return fs.readdirSync(goldenDir).filter((f) => re.test(f))
    .sort((a, b) => Number(re.exec(a)![1]) - Number(re.exec(b)![1]));
}

export function loadGolden(file: string): Golden {
  return JSON.parse(fs.readFileSync(path.join(goldenDir, file), 'utf8')) as Golden;
}

/** A golden tensor as an engine tensor (f32 values rounded to float32, FORMAT.md 2). */
export function toTensor(t: GoldenTensor, requiresGrad = false): Tensor {
  const data = t.dtype === 'i32' ? Int32Array.from(t.data) : new Float32Array(t.data);
  return new Tensor(data, t.shape, { requiresGrad });
}

/** |actual − expected| ≤ atol + rtol·|expected| elementwise; the message names the worst element. */
export function expectClose(what: string, actual: ArrayLike<number>, expected: GoldenTensor,
  tol: { rtol: number; atol: number }): void {
  expect(actual.length, `${what}: length`).toBe(expected.data.length);
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected.data[i]!;
    const excess = Number.isNaN(a) ? Infinity : Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (actual.length === 0) return;
  expect(worstExcess, `${what}: worst element [${worst}]: got ${actual[worst]}, expected ${expected.data[worst]}`)
    .toBeLessThanOrEqual(0);
}
