/**
 * Training methods by name, for compare() and the command line. A method builds its objective
 * for one run, and optionally the per-user group ids that group-aware objectives read (ERM
 * needs none). The fairness objectives register themselves here as they land
 * (`registerMethod('cvar-dro', …)`), so the grid runner never changes.
 */
import type { Dataset } from '../data/preprocess.js';
import { ErmObjective } from '../fairness/erm.js';
import type { Objective } from '../fairness/objective.js';
import type { TrainGroups } from '../train/trainer.js';

export interface MethodContext {
  dataset: Dataset;
  seed: number;
  /** method hyper-parameters from the config (e.g. { alpha: 0.3 }) */
  params: Record<string, unknown>;
}

export interface MethodSetup {
  objective: Objective;
  groups?: TrainGroups | null;
  /** hyper-parameters to record in results (defaults filled in) */
  params?: Record<string, unknown>;
}

export type MethodFactory = (ctx: MethodContext) => MethodSetup;

const registry = new Map<string, MethodFactory>([
  ['erm', () => ({ objective: new ErmObjective(), params: {} })],
]);

export function registerMethod(name: string, factory: MethodFactory): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`registerMethod: '${name}' must be lower-case letters, digits and dashes`);
  registry.set(name, factory);
}

export function methodNames(): string[] {
  return [...registry.keys()];
}

export function createMethod(name: string, ctx: MethodContext): MethodSetup {
  const f = registry.get(name);
  if (f === undefined) throw new RangeError(`unknown method '${name}' (known: ${methodNames().join(', ')})`);
  return f(ctx);
}
