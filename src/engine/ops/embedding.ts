/** Embedding lookup (gather) with a deterministic scatter-add backward (FORMAT.md 4.8). */
import { getBackend } from '../../backend/index.js';
import { Tensor, result } from '../tensor.js';
import { fmt } from '../shape.js';

/** table (V,D), ids (...) i32 in [0,V) → (..., D). */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.rank !== 2) throw new Error(`embedding: table must be (V,D), got ${fmt(table.shape)}`);
  if (ids.dtype !== 'i32') throw new Error(`embedding: ids must be i32, got ${ids.dtype} ${fmt(ids.shape)}`);
  const [V, D] = table.shape as [number, number];
  const idv = ids.i32();
  for (let i = 0; i < idv.length; i++) {
    const id = idv[i]!;
    if (id < 0 || id >= V) throw new Error(`embedding: ids[${i}] = ${id} is out of range [0, ${V})`);
  }
  const out = getBackend().gather(table.f32('embedding'), idv, V, D);
  return result(out, [...ids.shape, D], 'embedding', [table], (g) => [getBackend().scatterAdd(g, idv, V, D)]);
}
