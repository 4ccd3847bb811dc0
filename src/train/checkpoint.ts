/**
 * Checkpoints: a directory per snapshot holding
 *
 *   model.safetensors      every parameter under its dotted name (Module.namedParameters order)
 *   optimizer.safetensors  Adam/AdamW moments `m.<name>`, `v.<name>`; step counts in its metadata
 *   state.json             everything else, as JSON: format version, epoch, global step, the
 *                          training config, the objective's state, the epoch history, early-stopping
 *                          state, model description (name, sizes, parameter shapes)
 *
 * A training run keeps `<checkpointDir>/last/` (written after every epoch) and
 * `<checkpointDir>/best/model.safetensors` (the weights of the best validation epoch). A snapshot
 * is written into a temporary directory and swapped in by renames (last → last.old, tmp → last,
 * remove last.old), so a crash at any moment leaves either the old or the new snapshot whole;
 * the reader falls back to last.old when last is missing.
 *
 * Loading weights into a model of another shape, or with other parameter names, is an error that
 * names the file and every mismatching parameter; nothing is written into the model then.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Module } from '../nn/index.js';
import type { AdamState } from '../optim/index.js';
import { type SafeTensor, encodeSafetensors, readSafetensors } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'seqfair-checkpoint/1';

/** Writes a module's parameters to a safetensors file (metadata: optional strings). */
export function saveModel(model: Module, file: string, metadata?: Record<string, string>): void {
  const tensors = new Map<string, SafeTensor>();
  for (const [name, p] of model.namedParameters()) tensors.set(name, { shape: p.shape, data: p.values });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, encodeSafetensors(tensors, metadata));
}

/** Loads a safetensors file into a module (strict: same names and shapes). */
export function loadModel(model: Module, file: string): Record<string, string> {
  if (!existsSync(file)) throw new Error(`checkpoint: no model file at ${file}`);
  const { tensors, metadata } = readSafetensors(file);
  const state = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`checkpoint ${file}: parameter '${name}' is stored as I32, expected F32`);
    state.set(name, { shape: t.shape, data: t.data });
  }
  try {
    model.loadStateDict(state);
  } catch (e) {
    throw new Error(`checkpoint ${file} does not fit this model (another model, size or data set?): ${(e as Error).message}`);
  }
  return metadata;
}

/** Optimiser state (AdamState) ↔ safetensors, keyed by the parameter names. */
export function encodeOptimizer(state: AdamState, names: readonly string[], kind: string): Buffer {
  if (state.m.length !== names.length) throw new Error(`checkpoint: optimiser has ${state.m.length} moments for ${names.length} parameters`);
  const tensors = new Map<string, SafeTensor>();
  names.forEach((n, i) => tensors.set(`m.${n}`, { shape: [state.m[i]!.length], data: state.m[i]! }));
  names.forEach((n, i) => tensors.set(`v.${n}`, { shape: [state.v[i]!.length], data: state.v[i]! }));
  return encodeSafetensors(tensors, { kind, step: String(state.step), paramSteps: JSON.stringify(state.paramSteps) });
}

export function decodeOptimizer(file: string, names: readonly string[], kind: string): AdamState {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.kind !== kind) throw new Error(`checkpoint ${file}: the optimiser state is ${metadata.kind ?? 'of unknown kind'}, this run uses ${kind}`);
  const get = (k: string): Float32Array => {
    const t = tensors.get(k);
    if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`checkpoint ${file}: optimiser tensor '${k}' is missing (the checkpoint is of another model)`);
    return t.data;
  };
  return {
    step: Number(metadata.step),
    paramSteps: JSON.parse(metadata.paramSteps ?? '[]') as number[],
    m: names.map((n) => get(`m.${n}`)),
    v: names.map((n) => get(`v.${n}`)),
  };
}

export interface SnapshotFiles {
  model: Module;
  optimizer: { state: AdamState; kind: string };
  state: Record<string, unknown>;
}

/** Writes `<dir>` atomically (see the file comment). */
export function writeSnapshot(dir: string, s: SnapshotFiles): void {
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  saveModel(s.model, path.join(tmp, 'model.safetensors'));
  const names = s.model.namedParameters().map(([n]) => n);
  writeFileSync(path.join(tmp, 'optimizer.safetensors'), encodeOptimizer(s.optimizer.state, names, s.optimizer.kind));
  writeFileSync(path.join(tmp, 'state.json'), `${JSON.stringify({ format: CHECKPOINT_FORMAT, ...s.state }, null, 1)}\n`);
  const old = `${dir}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The directory of the newest complete snapshot `<dir>` (or its `.old` twin), or null. */
export function findSnapshot(dir: string): string | null {
  for (const d of [dir, `${dir}.old`]) if (existsSync(path.join(d, 'state.json'))) return d;
  return null;
}

export function readSnapshotState(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'state.json');
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`checkpoint ${file}: cannot be read (${(e as Error).message})`);
  }
  if (state.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint ${file}: format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}`);
  return state;
}
