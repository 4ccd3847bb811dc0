/**
 * The tape. Every op that reads a tensor with requiresGrad (while gradients are enabled) creates
 * its output with a `GradNode`: the inputs and a function that maps the output's gradient to the
 * inputs' gradients. `backward` walks the nodes once in reverse topological order.
 *
 * Gradients for chosen inputs only: `grad(loss, [z])` propagates only along paths that reach z
 * and asks each node only for the input gradients on such paths (`needs`), so A-FSR's first pass
 * (∂L/∂z) computes no weight gradients at all.
 */
import { ADD, type F32 } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import type { Tensor } from './tensor.js';

export interface GradNode {
  op: string;
  inputs: Tensor[];
  /**
   * gradient of the output -> gradient of each input (null where needs[i] is false). gradOut is
   * read-only: it may be shared with other tensors' gradients (the tape copies on write).
   */
  backward(gradOut: F32, needs: boolean[]): (F32 | null)[];
  /**
   * true when backward returns only arrays it allocated and keeps no reference to, or gradOut
   * itself: the tape may then keep and accumulate into them instead of copying.
   */
  fresh?: boolean;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording the tape (evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Tensors reachable from root through recorded nodes, inputs before outputs. */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // iterative DFS: deep sequences (GRU over long inputs, many layers) must not overflow the stack
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const child = inputs[i]!;
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;
}

/** gradient sums of at least this many values run on the backend (a new array) instead of in place in JS */
const NATIVE_SUM_MIN = 1 << 15;

function addInto(acc: F32, g: F32): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += g[i]!;
}

/** a + b as a new array, on the backend (the same rounding as copying a and adding b into it) */
function sumOf(a: F32, b: F32): F32 {
  if (a.length === 0) return new Float32Array(0);
  return getBackend().binary(ADD, a, b, [a.length], [1], [1]);
}

/**
 * Propagates gradients from `root` (seed: `seed`, default ones — a scalar root needs none).
 * With `wrt`, returns their gradients and leaves every `.grad` untouched; without it,
 * accumulates into `.grad` of every leaf that requires grad (parameters) and returns [].
 */
export function runBackward(root: Tensor, seed: F32 | null, wrt: Tensor[] | null): (F32 | null)[] {
  if (!root.requiresGrad) {
    throw new Error('backward: the tensor does not require grad (no parameter or input with requiresGrad reaches it)');
  }
  if (seed === null) {
    if (root.size !== 1) {
      throw new Error(`backward: a seed gradient is needed for a non-scalar output of shape (${root.shape.join(',')})`);
    }
    seed = new Float32Array([1]);
  } else if (seed.length !== root.size) {
    throw new Error(`backward: seed gradient has ${seed.length} values but the output has ${root.size}`);
  }
  const order = topoOrder(root);

  // which tensors lie on a path to a requested input
  let relevant: Set<Tensor> | null = null;
  if (wrt) {
    relevant = new Set(wrt);
    for (const t of order) {
      if (t.node && t.node.inputs.some((x) => relevant!.has(x))) relevant.add(t);
    }
  }

  // Gradients are copy-on-write: a node's returned array is stored as is and only read (by
  // later nodes, which must not modify their gradOut). `owned` marks the tensors whose stored
  // array belongs to this pass alone: only those are accumulated into in place, kept by .grad or
  // returned without a copy.
  const grads = new Map<Tensor, F32>();
  const owned = new Set<Tensor>();
  grads.set(root, seed);
  for (let idx = order.length - 1; idx >= 0; idx--) {
    const t = order[idx]!;
    const g = grads.get(t);
    if (!g || !t.node) continue;
    if (relevant && !relevant.has(t)) continue;
    const inputs = t.node.inputs;
    const needs = inputs.map((x) => x.requiresGrad && (relevant ? relevant.has(x) : true));
    if (!needs.some(Boolean)) continue;
    const inGrads = t.node.backward(g, needs);
    // intermediate gradients are not kept (only leaves' and requested ones are)
    const kept = wrt !== null && wrt.includes(t);
    const ownedG = owned.has(t) && !kept;
    if (!kept) {
      grads.delete(t);
      owned.delete(t);
    }
    const fresh = t.node.fresh === true;
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!, gi = inGrads[i];
      if (!needs[i] || !gi) continue;
      if (gi.length !== x.size) {
        throw new Error(`backward of ${t.node.op}: gradient for input ${i} has ${gi.length} values, expected ${x.size}`);
      }
      // x may own gi when nothing else can hold it: a fresh node's new array, or a gradOut this
      // pass owned and has dropped, handed to no other input
      const ownable = fresh && (gi === g ? ownedG : true) && inGrads.indexOf(gi) === i && inGrads.lastIndexOf(gi) === i;
      const acc = grads.get(x);
      if (acc === undefined) {
        grads.set(x, gi);
        if (ownable) owned.add(x);
      } else if (acc.length >= NATIVE_SUM_MIN) {
        // large (e.g. NARM's GRU states feed three consumers): the backend's threaded add into a
        // new array beats a JS loop in place; one rounding either way, so the result is the same
        grads.set(x, sumOf(acc, gi));
        owned.add(x);
      } else if (owned.has(x)) {
        addInto(acc, gi);
      } else {
        // acc is shared: sum into gi if it is ours, else into a new array (addition commutes)
        grads.set(x, ownable ? (addInto(gi, acc), gi) : sumOf(acc, gi));
        owned.add(x);
      }
    }
  }

  if (wrt) return wrt.map((x) => { const g = grads.get(x); return g === undefined ? null : owned.has(x) ? g : g.slice(); });
  for (const t of order) {
    if (t.node || !t.requiresGrad) continue;
    const g = grads.get(t);
    if (!g) continue;
    t.accumulateGrad(g, owned.has(t));
  }
  return [];
}
