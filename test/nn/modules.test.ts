/**
 * Tests of src/nn: the modules, their gradients and their bookkeeping.
 *
 *   1. finite-difference gradient checks of every module (and a negative control of the checker)
 *   2. modules against golden fixtures (GRU, Linear, LayerNorm through the module API)
 *   3. Module: names, tied weights, registration errors, train/eval, zeroGrad
 *   4. state dicts: round trip, copies, mismatch errors, atomic loads
 *   5. init: seeded, PyTorch bounds; Embedding padding row; Dropout and attention dropout modes
 */
import { describe, expect, it } from 'vitest';
import {
  Generator, Streams, Tensor, concat, gelu, grad, noGrad, randn, result, tensor, zeros,
} from '../../src/engine/index.js';
import {
  Dropout, Embedding, GRU, LayerNorm, Linear, Module, ModuleList, MultiHeadAttention, Parameter,
} from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import { expectGradCheck, gradCheck } from './gradcheck.js';
import { expectClose, goldenCases, loadGolden, toTensor } from './golden.js';

const leaf = (shape: number[], seed: number, std = 1): Tensor => {
  const t = randn(shape, std, 0, new Generator(seed));
  t.requiresGrad = true;
  return t;
};
const ids = (values: number[][]): Tensor => tensor(values, undefined, { dtype: 'i32' });
const params = (m: Module): Record<string, Tensor> => Object.fromEntries(m.namedParameters());
/** fill a parameter with random values (so γ/β etc. are not at their trivial init) */
const randomise = (p: Parameter, seed: number, std = 0.5, mean = 0): void => {
  p.values.set(randn([...p.shape], std, mean, new Generator(seed)).f32());
};

// ---- 1. gradient checks -----------------------------------------------------------------------

describe('1. finite-difference gradient checks', () => {
  it('1.1 the checker catches a wrong backward (negative control)', () => {
    const x = leaf([3, 4], 1);
    // y = 2x with a backward that claims dy/dx = 1.9
    const wrong = (t: Tensor) => result(t.f32().map((v) => 2 * v), t.shape, 'wrong', [t], (g) => [g.map((v) => 1.9 * v)]);
    const r = gradCheck(() => wrong(x), { x });
    expect(r.ok, r.summary()).toBe(false);
    const right = (t: Tensor) => result(t.f32().map((v) => 2 * v), t.shape, 'right', [t], (g) => [g.map((v) => 2 * v)]);
    expectGradCheck(gradCheck(() => right(x), { x }));
  });

  it('1.2 Linear (with and without bias, 3-D input)', () => {
    const lin = new Linear(5, 4, { gen: new Generator(2, Streams.init) });
    const x = leaf([3, 2, 5], 3);
    expectGradCheck(gradCheck(() => lin.forward(x), { x, ...params(lin) }));
    const nob = new Linear(5, 3, { bias: false, gen: new Generator(4, Streams.init) });
    expect(nob.bias).toBeNull();
    expect(nob.namedParameters().map(([n]) => n)).toEqual(['weight']);
    expectGradCheck(gradCheck(() => nob.forward(x), { x, ...params(nob) }));
  });

  it('1.3 Embedding (repeated ids)', () => {
    const emb = new Embedding(7, 4, { gen: new Generator(5, Streams.init) });
    const i = ids([[1, 3, 3, 0], [6, 1, 2, 3]]);
    const r = gradCheck(() => emb.forward(i), params(emb));
    expectGradCheck(r);
    // rows never looked up (4, 5) get exactly zero
    const g = r.entries[0]!.analytic;
    for (const row of [4, 5]) expect(Array.from(g.subarray(row * 4, row * 4 + 4))).toEqual([0, 0, 0, 0]);
  });

  it('1.4 LayerNorm (random γ, β)', () => {
    const ln = new LayerNorm(6);
    randomise(ln.weight, 6, 0.3, 1);
    randomise(ln.bias, 7, 0.3);
    const x = leaf([2, 3, 6], 8, 2);
    expectGradCheck(gradCheck(() => ln.forward(x), { x, ...params(ln) }, { h: 1e-3 }));
  });

  // left padding: sequence 0 has two padded slots; in the causal case its first two query rows
  // have no allowed key (output = out-projection bias only)
  const mask = ids([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]);
  for (const causal of [true, false]) {
    it(`1.5 MultiHeadAttention ${causal ? 'causal' : 'bidirectional'}, left padding, separate q/k/v inputs`, () => {
      const mha = new MultiHeadAttention(8, 2, { causal, gen: new Generator(9, Streams.init) }).eval();
      const q = leaf([2, 5, 8], 10), k = leaf([2, 5, 8], 11), v = leaf([2, 5, 8], 12);
      const r = gradCheck(() => mha.forward(q, k, v, mask), { q, k, v, ...params(mha) });
      // the key bias adds q·b_k to a whole score row: softmax ignores it, its gradient is 0
      expectGradCheck(r, ['k.bias']);
      expect(r.entries.find((e) => e.name === 'k.bias')!.errNorm).toBeLessThan(1e-4);
      if (causal) {
        // padded query rows of sequence 0 (no allowed key) receive exactly no gradient through q;
        // row 2 sees one key (softmax ≡ 1, gradient 0 up to rounding); row 3 sees two
        const gq = r.entries[0]!.analytic;
        expect(gq.subarray(0, 2 * 8).every((val) => val === 0)).toBe(true);
        expect(Math.hypot(...gq.subarray(3 * 8, 4 * 8))).toBeGreaterThan(1e-3);
      }
    });
  }

  it('1.6 MultiHeadAttention self-attention (same tensor as q, k, v)', () => {
    const mha = new MultiHeadAttention(6, 3, { causal: true, gen: new Generator(13, Streams.init) });
    const x = leaf([2, 5, 6], 14);
    expectGradCheck(gradCheck(() => mha.forward(x, x, x, mask), { x, ...params(mha) }), ['k.bias']);
  });

  it('1.7 GRU (out and hn together, given h0)', () => {
    const g = new GRU(3, 4, { gen: new Generator(15, Streams.init) });
    const x = leaf([2, 4, 3], 16), h0 = leaf([2, 4], 17, 0.5);
    const f = () => {
      const { out, hn } = g.forward(x, h0);
      return concat([out.reshape([2, 16]), hn], 1);
    };
    expectGradCheck(gradCheck(f, { x, h0, ...params(g) }));
  });
});

// ---- 2. modules on golden fixtures --------------------------------------------------------------

const gru = goldenCases('gru');
describe.skipIf(gru.length === 0)('2. modules on golden fixtures (skipped when ../shared/golden is absent)', () => {
  for (const file of gru) {
    it(`2.1 GRU module on ${file}`, () => {
      const c = loadGolden(file);
      const [, I] = c.inputs.weight_ih!.shape as [number, number];
      const H = c.inputs.h0!.shape[1]!;
      const m = new GRU(I, H);
      m.loadStateDict({
        weight_ih: c.inputs.weight_ih!, weight_hh: c.inputs.weight_hh!, bias_ih: c.inputs.bias_ih!, bias_hh: c.inputs.bias_hh!,
      });
      const x = toTensor(c.inputs.x!, true), h0 = toTensor(c.inputs.h0!, true);
      const { out, hn } = m.forward(x, h0);
      expectClose('out', out.f32(), c.outputs.out!, c.tolerance);
      expectClose('h_n', hn.f32(), c.outputs.h_n!, c.tolerance);
      // S = <out, u_out> + <h_n, u_hn>
      const s = out.mul(toTensor(c.upstream.out!)).sum().add(hn.mul(toTensor(c.upstream.h_n!)).sum());
      const named = { x, h0, ...params(m) };
      const gs = grad(s, Object.values(named));
      Object.keys(named).forEach((n, i) => expectClose(`grad ${n}`, gs[i]!.f32(), c.grads[n]!, c.tolerance));
    });
  }

  for (const file of goldenCases('linear')) {
    it(`2.2 Linear module on ${file}`, () => {
      const c = loadGolden(file);
      const [out, inF] = c.inputs.weight!.shape as [number, number];
      const m = new Linear(inF, out);
      m.loadStateDict({ weight: c.inputs.weight!, bias: c.inputs.bias! });
      const x = toTensor(c.inputs.x!, true);
      const y = m.forward(x);
      expectClose('y', y.f32(), c.outputs.y!, c.tolerance);
      const [gx, gw, gb] = grad(y, [x, m.weight, m.bias!], toTensor(c.upstream.y!));
      expectClose('grad x', gx!.f32(), c.grads.x!, c.tolerance);
      expectClose('grad weight', gw!.f32(), c.grads.weight!, c.tolerance);
      expectClose('grad bias', gb!.f32(), c.grads.bias!, c.tolerance);
    });
  }

  for (const file of goldenCases('layer_norm')) {
    it(`2.3 LayerNorm module on ${file}`, () => {
      const c = loadGolden(file);
      const D = c.inputs.gamma!.shape[0]!;
      const m = new LayerNorm(D, { eps: c.config.eps as number });
      m.loadStateDict({ weight: c.inputs.gamma!, bias: c.inputs.beta! });
      const x = toTensor(c.inputs.x!, true);
      const y = m.forward(x);
      expectClose('y', y.f32(), c.outputs.y!, c.tolerance);
      const [gx, gg, gb] = grad(y, [x, m.weight, m.bias], toTensor(c.upstream.y!));
      expectClose('grad x', gx!.f32(), c.grads.x!, c.tolerance);
      expectClose('grad gamma', gg!.f32(), c.grads.gamma!, c.tolerance);
      expectClose('grad beta', gb!.f32(), c.grads.beta!, c.tolerance);
    });
  }
});

// ---- 3. Module bookkeeping -------------------------------------------------------------------------

class Block extends Module {
  readonly ln: LayerNorm;
  readonly attn: MultiHeadAttention;
  readonly drop: Dropout;
  constructor(d: number, gen: Generator) {
    super();
    this.ln = this.registerModule('ln', new LayerNorm(d));
    this.attn = this.registerModule('attn', new MultiHeadAttention(d, 2, { causal: true, dropout: 0.5, gen }));
    this.drop = this.registerModule('drop', new Dropout(0.5));
  }
}

class Tiny extends Module {
  readonly emb: Embedding;
  readonly blocks: ModuleList<Block>;
  readonly head: Linear;
  readonly scale: Parameter;
  constructor(seed: number) {
    super();
    const gen = new Generator(seed, Streams.init);
    this.emb = this.registerModule('emb', new Embedding(10, 4, { paddingIdx: 0, gen }));
    this.blocks = this.registerModule('blocks', new ModuleList([new Block(4, gen), new Block(4, gen)]));
    this.head = this.registerModule('head', new Linear(4, 3, { gen }));
    this.scale = this.registerParameter('scale', new Parameter(tensor([1.5])));
    // a tied alias of the embedding table: must not be listed twice
    this.registerParameter('tied', this.emb.weight);
  }
  forward(i: Tensor, keyMask: Tensor): Tensor {
    let x = this.emb.forward(i).mul(this.scale);
    for (const b of this.blocks) {
      const a = b.ln.forward(x);
      x = a.add(b.drop.forward(b.attn.forward(a, x, x, keyMask)));
    }
    return this.head.forward(x);
  }
}

describe('3. Module bookkeeping', () => {
  it('3.1 dotted PyTorch-style names in registration order; tied weights once', () => {
    const m = new Tiny(1);
    const names = m.namedParameters().map(([n]) => n);
    // a module's own parameters come before its submodules' (as PyTorch), so the tied alias
    // registered on the root is the name kept for the shared table
    expect(names.slice(0, 4)).toEqual(['scale', 'tied', 'blocks.0.ln.weight', 'blocks.0.ln.bias']);
    expect(names).not.toContain('emb.weight');
    expect(names).toContain('blocks.0.attn.q.weight');
    expect(names).toContain('blocks.1.attn.out.bias');
    expect(names.length).toBe(1 + 1 + 2 * (2 + 8) + 2);
    expect(new Set(m.parameters()).size).toBe(names.length);
    expect(m.numParameters()).toBe(1 + 40 + 2 * (8 + 4 * 20) + 15);
    expect(m.namedModules().map(([n]) => n)).toContain('blocks.1.attn.k');
  });

  it('3.2 registration errors', () => {
    const m = new Module();
    m.registerParameter('w', new Parameter(zeros([2])));
    expect(() => m.registerParameter('w', new Parameter(zeros([2])))).toThrow(/'w' is already registered/);
    expect(() => m.registerModule('w', new Linear(2, 2))).toThrow(/already registered/);
    expect(() => m.registerModule('a.b', new Linear(2, 2))).toThrow(/no '\.'/);
    expect(() => m.registerParameter('x', zeros([2]) as Parameter)).toThrow(/not a Parameter/);
    expect(() => new Parameter(zeros([2], 'i32'))).toThrow(/f32/);
    expect(() => new MultiHeadAttention(6, 4)).toThrow(/multiple of heads/);
  });

  it('3.3 Parameter copies its initial values and requires grad', () => {
    const t = tensor([1, 2, 3]);
    const p = new Parameter(t, 'p');
    expect(p.requiresGrad).toBe(true);
    expect(p.name).toBe('p');
    t.f32()[0] = 9;
    expect(p.values[0]).toBe(1);
  });

  it('3.4 train()/eval() propagate to every submodule (also to modules registered later)', () => {
    const m = new Tiny(1);
    expect(m.namedModules().every(([, s]) => s.training)).toBe(true);
    m.eval();
    expect(m.namedModules().every(([, s]) => !s.training)).toBe(true);
    const late = m.blocks.push(new Block(4, new Generator(3, Streams.init)));
    expect(late.attn.training).toBe(false);
    m.train();
    expect(m.namedModules().every(([, s]) => s.training)).toBe(true);
    expect(() => m.blocks.at(7)).toThrow(/out of range/);
  });

  it('3.5 zeroGrad clears every gradient', () => {
    const m = new Tiny(2).eval();
    const y = m.forward(ids([[0, 3, 4]]), ids([[0, 1, 1]]));
    y.sum().backward();
    expect(m.parameters().filter((p) => p.grad !== null).length).toBe(m.parameters().length);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

// ---- 4. state dicts ----------------------------------------------------------------------------------

describe('4. state dicts', () => {
  const i = ids([[0, 0, 3, 4, 5], [1, 2, 3, 4, 9]]);
  const km = ids([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]);

  it('4.1 round trip: a differently seeded model becomes identical', () => {
    const a = new Tiny(1).eval(), b = new Tiny(2).eval();
    const ya = a.forward(i, km).toArray();
    expect(b.forward(i, km).toArray()).not.toEqual(ya);
    b.loadStateDict(a.stateDict());
    expect(b.forward(i, km).toArray()).toEqual(ya);
    // a plain record works too
    const c = new Tiny(3).eval();
    c.loadStateDict(Object.fromEntries(a.stateDict()));
    expect(c.forward(i, km).toArray()).toEqual(ya);
  });

  it('4.2 stateDict holds copies, and loading copies in place (parameter identity kept)', () => {
    const a = new Tiny(1);
    const sd = a.stateDict();
    const w = a.head.weight;
    const before = w.values[0]!;
    sd.get('head.weight')!.f32()[0] = 42;
    expect(w.values[0]).toBe(before);
    w.values[0] = -7;
    expect(sd.get('head.weight')!.f32()[0]).toBe(42);
    a.loadStateDict(sd);
    expect(a.head.weight).toBe(w);
    expect(w.values[0]).toBe(42);
    expect(sd.get('head.weight')!.shape).toEqual([3, 4]);
  });

  it('4.3 mismatches throw naming the parameter and both shapes, and change nothing', () => {
    const a = new Tiny(1);
    const snapshot = a.stateDict();
    const sd = new Tiny(2).stateDict();
    sd.set('blocks.1.attn.q.weight', zeros([4, 3]));
    expect(() => a.loadStateDict(sd)).toThrow(/blocks\.1\.attn\.q\.weight: the model has shape \(4,4\) but the state dict has \(4,3\)/);
    // nothing was written (the other entries were valid)
    for (const [n, t] of a.stateDict()) expect(t.toArray(), n).toEqual(snapshot.get(n)!.toArray());

    const missing = new Tiny(2).stateDict();
    missing.delete('head.bias');
    expect(() => a.loadStateDict(missing)).toThrow(/missing key\(s\): head\.bias/);
    a.loadStateDict(missing, { strict: false });

    const extra = new Tiny(2).stateDict();
    extra.set('head.gamma', zeros([3]));
    expect(() => a.loadStateDict(extra)).toThrow(/unexpected key\(s\): head\.gamma/);

    const bare = new Map<string, Float32Array>(Array.from(new Tiny(2).stateDict(), ([n, t]) => [n, t.f32()]));
    a.loadStateDict(bare);
    bare.set('scale', new Float32Array(2));
    expect(() => a.loadStateDict(bare)).toThrow(/scale: the model has shape \(1\) \(1 values\) but the state dict has 2 values/);
  });
});

// ---- 5. init, padding, dropout -------------------------------------------------------------------------

describe('5. init, padding rows, dropout modes', () => {
  it('5.1 init is reproducible from a Generator and follows PyTorch bounds', () => {
    const a = new Linear(50, 30, { gen: new Generator(11, Streams.init) });
    const b = new Linear(50, 30, { gen: new Generator(11, Streams.init) });
    const c = new Linear(50, 30, { gen: new Generator(12, Streams.init) });
    expect(b.weight.toArray()).toEqual(a.weight.toArray());
    expect(b.bias!.toArray()).toEqual(a.bias!.toArray());
    expect(c.weight.toArray()).not.toEqual(a.weight.toArray());
    const bound = 1 / Math.sqrt(50);
    const w = a.weight.toArray();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound); // spread over the whole range
    const g = new GRU(3, 16, { gen: new Generator(1, Streams.init) });
    expect(g.weight_ih.shape).toEqual([48, 3]);
    expect(Math.max(...g.weight_hh.toArray().map(Math.abs))).toBeLessThanOrEqual(0.25);
    const e = new Embedding(100, 20, { gen: new Generator(1, Streams.init) }).weight.toArray();
    const mean = e.reduce((s, v) => s + v, 0) / e.length;
    const sd = Math.sqrt(e.reduce((s, v) => s + (v - mean) ** 2, 0) / e.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
  });

  it('5.2 Embedding paddingIdx: zero row, no gradient, never moves under Adam', () => {
    const e = new Embedding(6, 3, { paddingIdx: 2, gen: new Generator(3, Streams.init) });
    expect(Array.from(e.weight.values.subarray(6, 9))).toEqual([0, 0, 0]);
    const plain = new Embedding(6, 3);
    plain.loadStateDict(e.stateDict());
    const i = ids([[2, 2, 1], [4, 2, 5]]);
    const R = randn([2, 3, 3], 1, 0, new Generator(4));
    expect(e.forward(i).toArray()).toEqual(plain.forward(i).toArray());
    const [gp] = grad(e.forward(i), [e.weight], R);
    const [gq] = grad(plain.forward(i), [plain.weight], R);
    const a = gp!.toArray(), b = gq!.toArray();
    expect(b.slice(6, 9).some((v) => v !== 0)).toBe(true); // the plain table does get a gradient there
    expect(a.slice(6, 9)).toEqual([0, 0, 0]);
    expect([...a.slice(0, 6), ...a.slice(9)]).toEqual([...b.slice(0, 6), ...b.slice(9)]);
    const opt = new Adam(e.parameters(), { lr: 0.1, weightDecay: 0.1 });
    const before = e.weight.toArray();
    for (let s = 0; s < 3; s++) {
      opt.zeroGrad();
      e.forward(i).mul(R).sum().backward();
      opt.step();
    }
    const after = e.weight.toArray();
    expect(after.slice(6, 9)).toEqual([0, 0, 0]);
    expect(after.slice(3, 6)).not.toEqual(before.slice(3, 6));
  });

  it('5.3 Dropout is active only in training mode', () => {
    const d = new Dropout(0.5, new Generator(5, Streams.dropout));
    const x = randn([1000], 1, 0, new Generator(6));
    const y = d.forward(x).toArray();
    const xv = x.toArray();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(400);
    expect(zeros).toBeLessThan(600);
    y.forEach((v, k) => { if (v !== 0) expect(v).toBeCloseTo(2 * xv[k]!, 5); });
    d.eval();
    expect(d.forward(x).toArray()).toEqual(xv);
    expect(() => new Dropout(1)).toThrow(/\[0, 1\)/);
  });

  it('5.4 MultiHeadAttention dropout follows train/eval', () => {
    const q = randn([2, 4, 8], 1, 0, new Generator(7));
    const km = ids([[1, 1, 1, 1], [0, 1, 1, 1]]);
    const noDrop = new MultiHeadAttention(8, 2, { causal: true, gen: new Generator(8, Streams.init) });
    const drop = new MultiHeadAttention(8, 2, { causal: true, dropout: 0.5, gen: new Generator(8, Streams.init), dropoutGen: new Generator(9, Streams.dropout) });
    const ref = noDrop.forward(q, q, q, km).toArray();
    expect(drop.forward(q, q, q, km).toArray()).not.toEqual(ref);
    drop.eval();
    expect(drop.forward(q, q, q, km).toArray()).toEqual(ref);
  });

  it('5.5 GRU: hn is the last step of out, h0 defaults to zeros, shapes are checked', () => {
    const g = new GRU(3, 5, { gen: new Generator(10, Streams.init) });
    const x = randn([2, 4, 3], 1, 0, new Generator(11));
    const { out, hn } = g.forward(x);
    expect(out.shape).toEqual([2, 4, 5]);
    expect(hn.shape).toEqual([2, 5]);
    expect(hn.toArray()).toEqual([...out.toArray().slice(15, 20), ...out.toArray().slice(35, 40)]);
    expect(g.forward(x, zeros([2, 5])).out.toArray()).toEqual(out.toArray());
    expect(() => g.forward(x, zeros([2, 4]))).toThrow(/h0 is \(2,4\), expected \(2,5\)/);
    expect(() => g.forward(randn([2, 4, 2]))).toThrow(/expected \(B,L,3\)/);
  });

  it('5.6 gelu through modules stays on the tape (sanity of composition)', () => {
    const lin = new Linear(4, 4, { gen: new Generator(12, Streams.init) });
    const x = randn([3, 4], 1, 0, new Generator(13));
    const y = noGrad(() => gelu(lin.forward(x)));
    expect(y.requiresGrad).toBe(false);
    expect(gelu(lin.forward(x)).requiresGrad).toBe(true);
  });
});
