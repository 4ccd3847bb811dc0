/**
 * Dropout: inverted dropout (kept values scaled by 1/(1−p)) in training mode, identity in eval
 * mode. The mask comes from the engine's counter-based generator (default: the `dropout`
 * stream), so a seeded run drops the same elements on every backend.
 */
import { type Generator, type Tensor, dropout } from '../engine/index.js';
import { Module } from './module.js';

export class Dropout extends Module {
  constructor(readonly p: number, private readonly gen?: Generator) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return this.gen ? dropout(x, this.p, this.training, this.gen) : dropout(x, this.p, this.training);
  }
}
