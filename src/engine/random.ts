/**
 * Seeded generators over Philox (philox.ts): a Generator hands out disjoint ranges of one stream's
 * counter space, so every random op gets its own numbers and a run is reproduced from its seed on
 * any backend and thread count. Well-known streams keep independent uses apart.
 */
import type { RngKey } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { checkKey } from './philox.js';
import { checkShape } from './shape.js';
import { Tensor } from './tensor.js';

export const Streams = {
  init: 1,
  dropout: 2,
  shuffle: 3,
  negatives: 4,
  masking: 5,
  dirichlet: 6,
  data: 7,
  user: 100,
} as const;

export class Generator {
  private offset = 0;

  constructor(readonly seed: number, readonly stream: number = Streams.user) {
    checkKey({ seed, stream, offset: 0 }, 'Generator');
  }

  /** reserves `count` counters and returns the key of the first */
  take(count: number): RngKey {
    if (!Number.isInteger(count) || count < 0) throw new Error(`Generator.take: bad count ${count}`);
    const key = { seed: this.seed, stream: this.stream, offset: this.offset };
    // uniform element e lives in block floor(e/4): round up so ranges never share a block
    this.offset += Math.ceil(count / 4) * 4;
    return key;
  }

  /** where the generator stands (for checkpoints) */
  get position(): number {
    return this.offset;
  }

  set position(p: number) {
    this.offset = p;
  }
}

let defaultSeed = 0;
const defaults = new Map<number, Generator>();

/** Resets the default generators (one per stream) to `seed`. */
export function manualSeed(seed: number): void {
  defaultSeed = seed;
  defaults.clear();
}

/** The default generator of a stream (created from the current manualSeed). */
export function generator(stream: number): Generator {
  let g = defaults.get(stream);
  if (!g) {
    g = new Generator(defaultSeed, stream);
    defaults.set(stream, g);
  }
  return g;
}

/** Uniform [0,1) tensor. */
export function rand(shape: number[], gen: Generator = generator(Streams.init)): Tensor {
  checkShape(shape, 'rand');
  const n = shape.reduce((p, q) => p * q, 1);
  return new Tensor(getBackend().uniform(n, gen.take(n)), shape);
}

/** Standard normal tensor (scaled by std, shifted by mean). */
export function randn(shape: number[], std = 1, mean = 0, gen: Generator = generator(Streams.init)): Tensor {
  checkShape(shape, 'randn');
  const n = shape.reduce((p, q) => p * q, 1);
  const v = getBackend().normal(n, gen.take(n));
  if (std !== 1 || mean !== 0) for (let i = 0; i < n; i++) v[i] = v[i]! * std + mean;
  return new Tensor(v, shape);
}

/** Uniform in [lo, hi] (half-open before rounding to f32, which may land on hi). */
export function uniform(shape: number[], lo: number, hi: number, gen: Generator = generator(Streams.init)): Tensor {
  const t = rand(shape, gen);
  const v = t.f32();
  for (let i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * v[i]!;
  return t;
}
