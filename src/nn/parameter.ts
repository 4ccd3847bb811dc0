/**
 * Parameter: a trainable leaf tensor. It is a plain engine Tensor (so every op accepts it) that
 * always starts with requiresGrad = true and carries a name for error messages. Its values are
 * updated in place by the optimisers and by Module.loadStateDict, so the identity of a parameter
 * (and of its Float32Array) never changes during training: optimiser state stays attached to it.
 */
import { Tensor } from '../engine/index.js';

export class Parameter extends Tensor {
  /**
   * Copies `value` (an f32 tensor, usually a fresh init) into a new leaf. The copy means a
   * parameter never aliases the tensor it was built from.
   */
  constructor(value: Tensor, name?: string) {
    if (value.dtype !== 'f32') throw new Error(`Parameter${name ? ` ${name}` : ''}: expected an f32 tensor, got i32 (${value.shape.join(',')})`);
    super(value.f32('Parameter').slice(), value.shape, { requiresGrad: true, name });
  }

  /** the values as a Float32Array (what the optimiser updates in place) */
  get values(): Float32Array {
    return this.f32('Parameter');
  }
}
