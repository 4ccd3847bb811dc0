/**
 * Module: a tree of named parameters and named submodules, PyTorch-style.
 *
 * Registration is explicit (`registerParameter` / `registerModule`, usually in the constructor:
 * `this.q = this.registerModule('q', new Linear(d, d))`) rather than a scan of the object's
 * fields. Why: the registration order fixes the order of `parameters()` (and so of optimiser
 * state and checkpoints) independently of how TypeScript emits fields; tied weights and helper
 * fields that merely *reference* a tensor or module are never picked up by accident; and the
 * dotted names (`blocks.0.attn.q.weight`) are exactly the registered ones, so they can be made to
 * match a PyTorch checkpoint or a golden file on purpose.
 *
 * Order: a module's own parameters (in registration order), then each submodule's, depth-first,
 * as PyTorch's named_parameters(). A parameter registered twice (tied weights) appears once,
 * under the first name met in that order.
 */
import { Tensor } from '../engine/index.js';
import { Parameter } from './parameter.js';

/** What loadStateDict accepts per name: a tensor-like {shape, data}, or bare values (length only). */
export type StateValue = { readonly shape: readonly number[]; readonly data: ArrayLike<number> } | Float32Array;
export type StateDictLike = Map<string, StateValue> | Record<string, StateValue>;

const fmt = (s: readonly number[]): string => `(${s.join(',')})`;

function checkName(kind: string, name: string): void {
  if (name === '' || name.includes('.')) throw new Error(`${kind}: name '${name}' must be non-empty and contain no '.'`);
}

export class Module {
  /** true in training mode (dropout active); set through train()/eval() so children follow */
  training = true;
  private readonly ownParams = new Map<string, Parameter>();
  private readonly ownModules = new Map<string, Module>();

  /** Adds a parameter under `name` and returns it. */
  registerParameter<P extends Parameter>(name: string, p: P): P {
    checkName(`${this.constructor.name}.registerParameter`, name);
    if (this.ownParams.has(name) || this.ownModules.has(name)) {
      throw new Error(`${this.constructor.name}.registerParameter: '${name}' is already registered`);
    }
    if (!(p instanceof Parameter)) throw new Error(`${this.constructor.name}.registerParameter: '${name}' is not a Parameter`);
    p.name ??= name;
    this.ownParams.set(name, p);
    return p;
  }

  /** Adds a submodule under `name` and returns it (it takes this module's training mode). */
  registerModule<M extends Module>(name: string, m: M): M {
    checkName(`${this.constructor.name}.registerModule`, name);
    if (this.ownParams.has(name) || this.ownModules.has(name)) {
      throw new Error(`${this.constructor.name}.registerModule: '${name}' is already registered`);
    }
    if (!(m instanceof Module)) throw new Error(`${this.constructor.name}.registerModule: '${name}' is not a Module`);
    m.train(this.training);
    this.ownModules.set(name, m);
    return m;
  }

  /** Direct submodules, in registration order. */
  children(): Module[] {
    return [...this.ownModules.values()];
  }

  /** This module and every descendant with its dotted path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.ownModules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter with its dotted name, depth-first in registration order, tied ones once. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [path, m] of this.namedModules()) {
      for (const [n, p] of m.ownParams) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([path ? `${path}.${n}` : n, p]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Total number of trainable values. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const m of this.ownModules.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Drops every parameter's gradient (the next backward starts from zero). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /**
   * name → detached copy of each parameter (shape + a fresh Float32Array). A Map keeps the
   * registration order, which checkpoints and reports rely on.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, p] of this.namedParameters()) out.set(n, new Tensor(p.values.slice(), p.shape));
    return out;
  }

  /**
   * Copies values into the parameters in place. Everything is checked before anything is
   * written, so a failed load leaves the model untouched. strict (default): a missing or an
   * unexpected key is an error; a shape (or, for bare arrays, length) mismatch always is.
   */
  loadStateDict(state: StateDictLike, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const params = this.namedParameters();
    const known = new Set(params.map(([n]) => n));
    const problems: string[] = [];
    if (strict) {
      const missing = params.filter(([n]) => !entries.has(n)).map(([n]) => n);
      const unexpected = [...entries.keys()].filter((n) => !known.has(n));
      if (missing.length) problems.push(`missing key(s): ${missing.join(', ')}`);
      if (unexpected.length) problems.push(`unexpected key(s): ${unexpected.join(', ')}`);
    }
    const writes: [Parameter, ArrayLike<number>][] = [];
    for (const [n, p] of params) {
      const v = entries.get(n);
      if (v === undefined) continue;
      if (v instanceof Float32Array) {
        if (v.length !== p.size) problems.push(`${n}: the model has shape ${fmt(p.shape)} (${p.size} values) but the state dict has ${v.length} values`);
        else writes.push([p, v]);
        continue;
      }
      const same = v.shape.length === p.shape.length && v.shape.every((d, i) => d === p.shape[i]);
      if (!same) problems.push(`${n}: the model has shape ${fmt(p.shape)} but the state dict has ${fmt(v.shape)}`);
      else if (v.data.length !== p.size) problems.push(`${n}: shape ${fmt(v.shape)} but ${v.data.length} values in the state dict`);
      else writes.push([p, v.data]);
    }
    if (problems.length) throw new Error(`loadStateDict (${this.constructor.name}): ${problems.join('; ')}`);
    // Float32Array.set rounds plain numbers to f32, as FORMAT.md 2 asks of golden inputs
    for (const [p, data] of writes) p.values.set(data);
  }
}

/** An indexed list of submodules, named 0, 1, 2, … (PyTorch's nn.ModuleList). */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): M {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items[i];
    if (m === undefined) throw new Error(`ModuleList: index ${i} is out of range [0, ${this.items.length})`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
