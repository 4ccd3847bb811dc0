/**
 * What the objectives share: the rows that count in a batch mean, per-group means of the
 * per-sequence losses, a loss as a constant-weighted sum of per-sequence losses, the checks on
 * groups, losses and options, and the (de)serialisation of numeric state.
 *
 * Every objective here reduces to `Σ_b c_b · ℓ_b` over the batch's per-sequence losses ℓ with
 * coefficients c that are constants for the backward pass (DRO weights, IPW weights, the sign of a
 * gap): `weightedSum` builds that one node on the tape. Rows without any target position
 * (ℓ_b = 0 by src/train/losses.ts) are left out of every mean, as in ERM (src/fairness/erm.ts).
 */
import { Tensor } from '../engine/index.js';
import { targetRows } from '../train/losses.js';
import type { ObjectiveContext } from './objective.js';

/** 1 for the rows of the batch that have at least one target position, and their number. */
export function activeRows(ctx: ObjectiveContext, name: string): { rows: Uint8Array; n: number } {
  const rows = targetRows(ctx.batch);
  let n = 0;
  for (const r of rows) n += r;
  if (n === 0) throw new Error(`${name}: the batch at step ${ctx.step} has no target position in any of its ${ctx.batch.B} rows`);
  return { rows, n };
}

/** Σ_b coef[b] · losses[b] on the tape (coef constant). */
export function weightedSum(losses: Tensor, coef: Float32Array | Float64Array): Tensor {
  if (losses.rank !== 1 || losses.shape[0] !== coef.length) {
    throw new Error(`weightedSum: ${coef.length} coefficients for per-sequence losses of shape (${losses.shape.join(',')})`);
  }
  return losses.mul(new Tensor(Float32Array.from(coef), [coef.length])).sum();
}

/**
 * The per-sequence loss values, after checking every one is finite: a NaN or ±Inf is reported
 * with the objective, the step, the row and its user — before any weight is computed from it.
 */
export function finiteLosses(name: string, ctx: ObjectiveContext, losses: Tensor): Float32Array {
  const v = losses.f32(name);
  if (v.length !== ctx.batch.B) throw new Error(`${name}: ${v.length} per-sequence losses for a batch of ${ctx.batch.B} rows`);
  let bad = 0, first = -1;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw new Error(`${name}: ${bad} of ${v.length} per-sequence losses are not finite at step ${ctx.step} (the first at row ${first}, user ${ctx.batch.users[first]}, is ${v[first]}); lower the learning rate or set clipNorm`);
  }
  return v;
}

/** The batch's group ids, checked: one per row, each in [0, numGroups). */
export function requireGroups(ctx: ObjectiveContext, name: string, numGroups?: number): Int32Array {
  const g = ctx.groups;
  if (g === null) throw new Error(`${name}: needs user groups, but the training context has none (give the trainer groups: a grouping such as gender or popularity:33)`);
  const G = numGroups ?? ctx.numGroups;
  if (g.length !== ctx.batch.B) throw new Error(`${name}: ${g.length} group ids for a batch of ${ctx.batch.B} rows`);
  if (ctx.numGroups !== G) throw new Error(`${name}: built for ${G} groups but the training context has ${ctx.numGroups}`);
  for (let i = 0; i < g.length; i++) {
    if (!(g[i]! >= 0 && g[i]! < G)) throw new Error(`${name}: row ${i} (user ${ctx.batch.users[i]}) has group ${g[i]}, outside [0, ${G})`);
  }
  return g;
}

/**
 * Mean loss per group over the active rows (0 for a group absent from the batch) and the number of
 * active rows of each group.
 */
export function groupMeans(values: ArrayLike<number>, groups: Int32Array, G: number, rows: Uint8Array): { means: Float64Array; counts: Int32Array } {
  const means = new Float64Array(G);
  const counts = new Int32Array(G);
  for (let b = 0; b < groups.length; b++) {
    if (!rows[b]) continue;
    means[groups[b]!]! += values[b]!;
    counts[groups[b]!]!++;
  }
  for (let g = 0; g < G; g++) if (counts[g]! > 0) means[g]! /= counts[g]!;
  return { means, counts };
}

/** What the group-loss objectives (reg, group-dro, streaming-dro) read from one batch. */
export interface GroupBatch {
  groups: Int32Array;
  rows: Uint8Array;
  /** active rows */
  n: number;
  /** per-sequence losses on the tape, and their (finite) values */
  losses: Tensor;
  means: Float64Array;
  counts: Int32Array;
}

/** The batch's groups, active rows, per-sequence losses and per-group mean losses. */
export function groupBatch(ctx: ObjectiveContext, name: string, numGroups: number): GroupBatch {
  const groups = requireGroups(ctx, name, numGroups);
  const { rows, n } = activeRows(ctx, name);
  const losses = ctx.sequenceLosses();
  const v = finiteLosses(name, ctx, losses);
  return { groups, rows, n, losses, ...groupMeans(v, groups, numGroups, rows) };
}

/**
 * Coefficients that turn per-sequence losses into Σ_g w[g] · (mean loss of group g in the batch):
 * c_b = w[g_b] / n_{g_b} on active rows, 0 elsewhere (an absent group contributes nothing).
 */
export function groupMeanCoefficients(w: ArrayLike<number>, groups: Int32Array, counts: Int32Array, rows: Uint8Array): Float64Array {
  const c = new Float64Array(groups.length);
  for (let b = 0; b < groups.length; b++) if (rows[b]) c[b] = w[groups[b]!]! / counts[groups[b]!]!;
  return c;
}

// ---- options -------------------------------------------------------------------------------

/** Throws on option keys an objective does not know (a typo must not fall back to a default). */
export function checkOptionKeys(name: string, opts: object, known: readonly string[]): void {
  const extra = Object.keys(opts).filter((k) => !known.includes(k) && (opts as Record<string, unknown>)[k] !== undefined);
  if (extra.length) throw new Error(`${name}: unknown option(s) ${extra.join(', ')} (known: ${known.join(', ') || 'none'})`);
}

/** A number option checked by `ok`, or the default when undefined. */
export function numberOption(name: string, key: string, v: unknown, dflt: number, ok: (x: number) => boolean, expected: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${name}: option ${key} must be ${expected}, got ${JSON.stringify(v)}`);
  return v;
}

/** A string option that must be one of `choices`, or the default when undefined. */
export function choiceOption<T extends string>(name: string, key: string, v: unknown, dflt: T, choices: readonly T[]): T {
  if (v === undefined) return dflt;
  if (!choices.includes(v as T)) throw new Error(`${name}: option ${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function booleanOption(name: string, key: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new Error(`${name}: option ${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

// ---- state ---------------------------------------------------------------------------------

/** A checked numeric array from a state dict (JSON arrays of finite numbers). */
export function stateNumbers(name: string, state: Record<string, unknown>, key: string, length: number): number[] {
  const v = state[key];
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new Error(`${name}.loadStateDict: '${key}' must be an array of ${length} finite numbers, got ${describe(v)}`);
  }
  return v as number[];
}

/** Checks the `kind` tag a stateful objective writes into its state. */
export function checkStateKind(name: string, state: Record<string, unknown>, kind: string): void {
  if (state.kind !== kind) {
    throw new Error(`${name}.loadStateDict: the state is of '${String(state.kind)}', not '${kind}' (a checkpoint of another objective?)`);
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return v === undefined ? 'nothing' : typeof v;
}
