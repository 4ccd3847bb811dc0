/**
 * Output arrays of the native backends, recycled between `scope()`s.
 *
 * Why: a SASRec step allocates about a gigabyte of kernel outputs, and fresh typed arrays are
 * slow here — each is zeroed, V8 runs a scavenge or a mark-compact for every few tens of MB of
 * external memory, and the freed memory goes cold. Reusing one step's arrays in the next made the
 * B=256 step ~25 % faster (bench sasrec-step-b256).
 *
 * The rule (like tf.tidy): every f32 array a backend allocates while a scope is open belongs to
 * that scope. When the scope's function returns, its arrays are released: each one's memory moves
 * into a new array in the pool (`structuredClone(…, { transfer })`, no copy) and the old array is
 * *detached* — it reads as length 0 everywhere, so a tensor used after its scope throws (see
 * Tensor.data) and a native kernel given it throws, instead of reading memory that a later step
 * has reused. Not released:
 *  - what the function returns (a tensor, typed array, or arrays / plain objects of them, one
 *    level deep): those move to the enclosing scope, or out of pooling when there is none;
 *  - arrays marked with `keepArray` (a leaf's accumulated `.grad`, so parameter gradients survive
 *    the step that computed them).
 * Arrays taken from the pool are zero-filled, like fresh ones (allocOutput skips that for outputs
 * a kernel overwrites completely). The pool keeps only what the last
 * outermost scope released (what it did not reuse by then is dropped), so it holds about one
 * step's working set. Outside any scope allocation is plain `new Float32Array`.
 * SEQFAIR_POOL=0 turns pooling off (scopes then only run their function).
 */
import type { F32 } from './backend.js';

interface Frame {
  made: F32[];
}

let enabled = process.env.SEQFAIR_POOL !== '0';
const frames: Frame[] = [];
/** free arrays by length, each with the outermost-scope generation that released it */
const free = new Map<number, { a: F32; gen: number }[]>();
const kept = new WeakSet<F32>();
let generation = 0;
let pooledBytes = 0;

/** A zeroed f32 array of n values: from the pool inside a scope, else new. */
export function allocF32(n: number): F32 {
  return take(n, true);
}

/**
 * An f32 array of n values for an output that the kernel writes completely: a recycled array
 * is not zeroed first (zeroing cost ~10 % of a SASRec step). Its contents before the kernel runs
 * are unspecified; with poisoning on (setPoolPoison, SEQFAIR_POOL_POISON=1) they are NaN, so a
 * kernel that leaves an element unwritten shows up in the tests.
 */
export function allocOutput(n: number): F32 {
  return take(n, false);
}

let poison = process.env.SEQFAIR_POOL_POISON === '1';

/** NaN-fills every array handed out by allocOutput (tests: finds outputs a kernel leaves unwritten). */
export function setPoolPoison(on: boolean): void {
  poison = on;
}

function take(n: number, zero: boolean): F32 {
  const frame = frames[frames.length - 1];
  if (frame === undefined || n === 0) return !zero && poison ? new Float32Array(n).fill(NaN) : new Float32Array(n);
  const hit = free.get(n)?.pop();
  let a: F32;
  if (hit) {
    a = hit.a;
    pooledBytes -= 4 * n;
    if (zero) a.fill(0);
    else if (poison) a.fill(NaN);
  } else {
    a = new Float32Array(n);
    if (!zero && poison) a.fill(NaN);
  }
  frame.made.push(a);
  return a;
}

/** Marks an array as never released by any scope (it may outlive the step that made it). */
export function keepArray(a: F32): void {
  kept.add(a);
}

/** true when `a` was released by a scope (its memory now belongs to the pool) */
export function isReleased(a: { byteLength: number; length: number }, expectedLength: number): boolean {
  return a.byteLength === 0 && expectedLength > 0;
}

function collectReturned(value: unknown, out: Set<unknown>): void {
  const visit = (v: unknown): void => {
    if (v instanceof Float32Array) out.add(v);
    else if (v !== null && typeof v === 'object' && 'data' in v && (v as { data: unknown }).data instanceof Float32Array) {
      out.add((v as { data: unknown }).data);
      const g = (v as { grad?: { data?: unknown } | null }).grad;
      if (g && g.data instanceof Float32Array) out.add(g.data);
    }
  };
  visit(value);
  if (Array.isArray(value)) value.forEach(visit);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    Object.values(value as Record<string, unknown>).forEach(visit);
  }
}

function release(frame: Frame, returned: Set<unknown>, parent: Frame | undefined): void {
  for (const a of frame.made) {
    if (a.byteLength === 0) continue; // released already (returned twice, or by an inner scope)
    if (kept.has(a)) continue;
    if (returned.has(a)) {
      parent?.made.push(a);
      continue;
    }
    const moved = new Float32Array(structuredClone(a.buffer, { transfer: [a.buffer] }));
    let list = free.get(moved.length);
    if (!list) free.set(moved.length, (list = []));
    list.push({ a: moved, gen: generation });
    pooledBytes += moved.byteLength;
  }
}

/** drops the free arrays that the outermost scope just ended did not release itself */
function trim(): void {
  for (const [n, list] of free) {
    const fresh = list.filter((e) => e.gen === generation);
    pooledBytes -= 4 * n * (list.length - fresh.length);
    if (fresh.length === 0) free.delete(n);
    else free.set(n, fresh);
  }
  generation++;
}

/**
 * Runs fn; the backend arrays it allocated are recycled when it returns, except its return
 * value's and the kept ones (see the file comment). Scopes nest. fn must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  if (!enabled) return fn();
  const frame: Frame = { made: [] };
  frames.push(frame);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    frames.pop();
    // an exception may leave anything referenced (the caller's state, the error): keep it all
    const parent = frames[frames.length - 1];
    if (parent) parent.made.push(...frame.made);
    throw e;
  }
  if (result instanceof Promise) {
    frames.pop();
    throw new Error('scope: the function must be synchronous (it returned a Promise)');
  }
  frames.pop();
  const parent = frames[frames.length - 1];
  const returned = new Set<unknown>();
  collectReturned(result, returned);
  release(frame, returned, parent);
  if (parent === undefined) trim();
  return result;
}

/** Turns pooling on or off (tests and benchmarks compare both; SEQFAIR_POOL=0 sets the default). */
export function setPooling(on: boolean): void {
  if (frames.length > 0) throw new Error('setPooling: not inside a scope');
  enabled = on;
  if (!on) {
    free.clear();
    pooledBytes = 0;
  }
}

/** What the pool holds now (for tests and `seqfair info`). */
export function poolStats(): { enabled: boolean; arrays: number; bytes: number; openScopes: number } {
  let arrays = 0;
  for (const list of free.values()) arrays += list.length;
  return { enabled, arrays, bytes: pooledBytes, openScopes: frames.length };
}
