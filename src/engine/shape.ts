/** Shape helpers shared by the ops: sizes, strides, broadcasting, axis normalisation. */

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function fmt(shape: Shape): string {
  return `(${shape.join(',')})`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(shape: Shape, op: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: invalid shape ${fmt(shape)}`);
  }
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` read as if broadcast to `out` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const own = stridesOf(shape);
  const res = new Array<number>(out.length).fill(0);
  const off = out.length - shape.length;
  for (let i = 0; i < shape.length; i++) res[off + i] = shape[i] === 1 ? 0 : own[i]!;
  return res;
}

/** Axis in [-rank, rank) -> [0, rank). */
export function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return a;
}

/**
 * The loop nest of a broadcast over `out`, as small as it can be: size-1 axes are dropped and
 * neighbouring axes merged where every operand steps through both as one (both broadcast, or both
 * contiguous). `strides[k][d]` is operand k's stride on loop axis d (0 = broadcast). The last
 * axis has stride 0 or 1 for every operand, so the inner loop is contiguous or a repeated value.
 * No axes: a single element. E.g. (B,L,D)·(B,L,1) → dims [B·L, D], strides [[D,1],[1,0]].
 */
export function collapse(out: Shape, shapes: readonly Shape[]): { dims: number[]; strides: number[][] } {
  const full = shapes.map((s) => broadcastStrides(s, out));
  const dims: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  for (let d = 0; d < out.length; d++) {
    const n = out[d]!;
    if (n === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && full.every((st, k) => strides[k]![last] === st[d]! * n)) {
      dims[last]! *= n;
      full.forEach((st, k) => { strides[k]![last] = st[d]!; });
    } else {
      dims.push(n);
      full.forEach((st, k) => strides[k]!.push(st[d]!));
    }
  }
  return { dims, strides };
}
