/**
 * Linear: y = x Wᵀ + b over the last axis (PyTorch convention: weight (out,in), bias (out)), on
 * the engine's fused `linear` op (no transposed copy of W is ever made).
 * Init as torch.nn.Linear: W and b ~ U(±1/sqrt(in)).
 */
import { type Generator, type Tensor, linear } from '../engine/index.js';
import { uniformParam } from './init.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';

export interface LinearOptions {
  /** default true */
  bias?: boolean;
  /** init generator (default: the engine's `init` stream) */
  gen?: Generator;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [what, n] of [['in', inFeatures], ['out', outFeatures]] as const) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`Linear: ${what} features must be a positive integer, got ${n}`);
    }
    const bound = 1 / Math.sqrt(inFeatures);
    // weight first, then bias, from the same generator: the draw order is part of the seed contract
    this.weight = this.registerParameter('weight', uniformParam([outFeatures, inFeatures], bound, opts.gen));
    this.bias = opts.bias ?? true ? this.registerParameter('bias', uniformParam([outFeatures], bound, opts.gen)) : null;
  }

  /** x (..., in) → (..., out) */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
