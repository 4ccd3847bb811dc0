/**
 * LayerNorm over the last axis (biased variance, FORMAT.md 4.2) on the engine's fused kernel.
 * γ (`weight`) starts at 1 and β (`bias`) at 0, as torch.nn.LayerNorm.
 */
import { type Tensor, layerNorm } from '../engine/index.js';
import { constantParam } from './init.js';
import { Module } from './module.js';
import type { Parameter } from './parameter.js';

export class LayerNorm extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  readonly eps: number;

  constructor(readonly dim: number, opts: { eps?: number } = {}) {
    super();
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`LayerNorm: dim must be a positive integer, got ${dim}`);
    this.eps = opts.eps ?? 1e-5;
    if (!(this.eps > 0)) throw new Error(`LayerNorm: eps must be positive, got ${this.eps}`);
    this.weight = this.registerParameter('weight', constantParam([dim], 1));
    this.bias = this.registerParameter('bias', constantParam([dim], 0));
  }

  /** x (..., dim) → same shape */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
