/**
 * What a benchmark case is: one computation, written once against seqfair's Backend contract (run
 * on the `cpu` backend, and on `cuda` where a GPU answers) and once with TensorFlow.js ops, side by
 * side in bench/cases/<name>.ts.
 */
import type { Backend } from '../src/backend/backend.js';
import type { Tf } from './tfjs.js';

export const IMPLS = ['seqfair-cpu', 'seqfair-cuda', 'tfjs-cpu', 'tfjs-wasm'] as const;
export type Impl = (typeof IMPLS)[number];
/** seqfair's own implementations: the same case code on another backend */
export type Ours = Extract<Impl, `seqfair-${string}`>;
export type Peer = Exclude<Impl, Ours>;

export const isOurs = (impl: Impl): impl is Ours => impl.startsWith('seqfair-');

/** Named results of one call, compared by `--check` (indices are compared as numbers). */
export type Outputs = Record<string, Float32Array | Int32Array>;

/** A case made ready for one implementation: inputs allocated, nothing timed yet. */
export interface Prepared {
  /** one timed call: the forward pass, and the backward pass where the case has one */
  run(): void;
  /** the same call, returning what it computed (for --check; not timed) */
  outputs(): Outputs;
  /** frees what prepare allocated (tfjs tensors); seqfair's arrays are garbage-collected */
  dispose(): void;
}

export interface BenchCase {
  name: string;
  /** one line: what is computed and on which shapes */
  summary: string;
  /** flops of one call's matrix products (GFLOP/s column), where those dominate the work */
  flops?: number;
  /**
   * Peers too slow to run by default, with the reason shown in the table (`--full` runs them).
   * The rule: tfjs-cpu rows measured (or, from a measured smaller case, estimated) at more than
   * a minute per call on the 2-core development machines. tfjs-cpu is single-threaded JavaScript
   * at 0.2-0.4 GFLOP/s on matrix products. tfjs-wasm always runs (capped at 1-3 calls when slow).
   */
  slow?: Partial<Record<Peer, string>>;
  /** Peers never run on this case, even with `--full` (e.g. they would need many GB), and why. */
  infeasible?: Partial<Record<Peer, string>>;
  /** largest |a-b| / max|reference| that `--check` accepts (default 1e-3) */
  tolerance?: number;
  /** why the case cannot run at all here (e.g. its data set is absent), or null: every row is skipped */
  unavailable?(): string | null;
  /** also report the peak memory of one call, measured after timing (bench/memory.ts) */
  memory?: boolean;
  /** may be async (loading a data set) */
  seqfair(be: Backend): Prepared | Promise<Prepared>;
  /** `tf` already has the right backend selected (cpu or wasm) */
  tfjs(tf: Tf): Prepared;
}

/** Thrown (or recognised) when a peer lacks a kernel the case needs: reported, not fatal. */
export class Unsupported extends Error {}

/** seqfair's kernels return plain arrays: one call computes and returns them, nothing to free. */
export function seqfairPrepared(call: () => Outputs): Prepared {
  return { run: () => { call(); }, outputs: call, dispose: () => {} };
}

