/**
 * 08. Randomness: Philox-4x32-10 known answers, manualSeed reproducibility, seeds and streams that
 * differ, Generator.take ranges (never overlapping; the documented round-up to whole Philox
 * blocks), rand/randn/uniform ranges and moments, and the same draws on the reference and cpu
 * backends (uniform bit-exact, normal within 1e-6 relative) when the cpu addon loads.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { loadCpuBackend, referenceBackend, withBackend } from '../../src/backend/index.js';
import {
  Generator, Streams, Tensor, dropout, generator, manualSeed, rand, randn, uniform,
} from '../../src/engine/index.js';
import { philox4x32 } from '../../src/engine/philox.js';
import { expectClose, expectExact } from './util.js';

const hex = (u: Uint32Array) => Array.from(u, (w) => w.toString(16).padStart(8, '0'));

describe('08.1 Philox-4x32-10 known-answer tests (Random123 kat_vectors)', () => {
  it('counter 0, key 0', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
  });
  it('all-ones counter and key', () => {
    const f = 0xffffffff;
    expect(hex(philox4x32(f, f, f, f, f, f))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
  });
  it('pi digits', () => {
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0)))
      .toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
});

describe('08.2 seeds, streams and default generators', () => {
  it('manualSeed + randn twice gives identical draws (also rand)', () => {
    manualSeed(1234);
    const a = randn([7, 3]).toArray();
    const u = rand([5]).toArray();
    manualSeed(1234);
    const b = randn([7, 3]).toArray();
    const v = rand([5]).toArray();
    expect(b).toEqual(a);
    expect(v).toEqual(u);
  });

  it('different seeds differ; successive draws from one generator differ', () => {
    manualSeed(1);
    const a = randn([16]).toArray();
    const a2 = randn([16]).toArray();
    manualSeed(2);
    const b = randn([16]).toArray();
    expect(b).not.toEqual(a);
    expect(a2).not.toEqual(a);
    expect(new Set([...a, ...b]).size).toBe(32);
  });

  it('streams are independent: same seed, different stream, different numbers', () => {
    const a = rand([16], new Generator(5, Streams.init)).toArray();
    const b = rand([16], new Generator(5, Streams.dropout)).toArray();
    expect(b).not.toEqual(a);
    manualSeed(5);
    expect(generator(Streams.init)).toBe(generator(Streams.init));
    expect(generator(Streams.init)).not.toBe(generator(Streams.dropout));
    expect(generator(Streams.dropout).seed).toBe(5);
    expect(generator(Streams.dropout).stream).toBe(Streams.dropout);
    // the default of rand/randn is the init stream at the manual seed
    manualSeed(5);
    expect(rand([16]).toArray()).toEqual(a);
  });

  it('manualSeed also reproduces default-generator dropout masks', () => {
    const x = new Tensor(new Float32Array(32).fill(1), [32]);
    manualSeed(77);
    const a = dropout(x, 0.5, true).toArray();
    manualSeed(77);
    const b = dropout(x, 0.5, true).toArray();
    expect(b).toEqual(a);
    expect(a.some((v) => v === 0) && a.some((v) => v === 2)).toBe(true);
  });
});

describe('08.3 Generator.take ranges', () => {
  it('reserves whole Philox blocks: offsets advance by ceil(count/4)*4, ranges never overlap', () => {
    const g = new Generator(9, 3);
    const counts = [1, 4, 6, 0, 7, 8, 3];
    const ranges: [number, number][] = [];
    let expected = 0;
    for (const c of counts) {
      const key = g.take(c);
      expect(key).toEqual({ seed: 9, stream: 3, offset: expected });
      ranges.push([key.offset, key.offset + c]);
      expected += Math.ceil(c / 4) * 4;
      expect(g.position).toBe(expected);
    }
    for (let i = 0; i < ranges.length; i++)
      for (let j = i + 1; j < ranges.length; j++) {
        const [a0, a1] = ranges[i]!, [b0, b1] = ranges[j]!;
        expect(a1 <= b0 || b1 <= a0, `ranges ${i} and ${j} overlap`).toBe(true);
        // no two ranges share a Philox block of 4 uniforms either
        if (a1 > a0 && b1 > b0) expect(Math.floor((a1 - 1) / 4) < Math.floor(b0 / 4)).toBe(true);
      }
  });

  it('two consecutive draws of 8 equal one draw of 16 (uniform and normal)', () => {
    const g1 = new Generator(21);
    const two = [...rand([8], g1).toArray(), ...rand([8], g1).toArray()];
    expect(two).toEqual(rand([16], new Generator(21)).toArray());
    const g2 = new Generator(21);
    const twoN = [...randn([8], 1, 0, g2).toArray(), ...randn([8], 1, 0, g2).toArray()];
    expect(twoN).toEqual(randn([16], 1, 0, new Generator(21)).toArray());
  });

  it('draws of 6 then 6: the second starts at element 8 (the documented round-up), not 6', () => {
    const g = new Generator(22);
    const a = rand([6], g).toArray();
    const b = rand([6], g).toArray();
    const long = rand([14], new Generator(22)).toArray();
    expect(a).toEqual(long.slice(0, 6));
    expect(b).toEqual(long.slice(8, 14));
    const gn = new Generator(22);
    randn([6], 1, 0, gn);
    expect(randn([6], 1, 0, gn).toArray()).toEqual(randn([14], 1, 0, new Generator(22)).toArray().slice(8, 14));
  });

  it('position can be saved and restored (checkpoints)', () => {
    const g = new Generator(23);
    rand([5], g);
    const p = g.position;
    const a = rand([9], g).toArray();
    g.position = p;
    expect(rand([9], g).toArray()).toEqual(a);
  });

  it('a bad count throws', () => {
    const g = new Generator(1);
    expect(() => g.take(-1)).toThrow(/Generator\.take: bad count -1/);
    expect(() => g.take(1.5)).toThrow(/Generator\.take: bad count 1\.5/);
    expect(() => new Generator(1, -1)).toThrow(/Generator: rng stream must be an integer in \[0, 2\^32\), got -1/);
  });
});

describe('08.4 distributions', () => {
  const N = 100_000;
  it('rand is in [0,1), uses 24-bit values, mean ≈ 1/2, var ≈ 1/12', () => {
    const v = rand([N], new Generator(31)).f32();
    let mn = Infinity, mx = -Infinity, s = 0, s2 = 0;
    for (const x of v) {
      mn = Math.min(mn, x); mx = Math.max(mx, x); s += x; s2 += x * x;
      if (!Number.isInteger(x * 16777216)) expect.fail(`${x} is not a multiple of 2^-24`);
    }
    expect(mn).toBeGreaterThanOrEqual(0);
    expect(mx).toBeLessThan(1);
    const mean = s / N;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // se 0.0009
    expect(Math.abs(s2 / N - mean * mean - 1 / 12)).toBeLessThan(0.003);
  });

  it('randn: mean ≈ 0, std ≈ 1, ~68% within one std, finite', () => {
    const v = randn([N], 1, 0, new Generator(32)).f32();
    let s = 0, s2 = 0, within = 0;
    for (const x of v) {
      if (!Number.isFinite(x)) expect.fail(`non-finite normal ${x}`);
      s += x; s2 += x * x; if (Math.abs(x) < 1) within++;
    }
    const mean = s / N, std = Math.sqrt(s2 / N - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.015); // se 0.0032
    expect(Math.abs(std - 1)).toBeLessThan(0.015); // se 0.0022
    expect(Math.abs(within / N - 0.6827)).toBeLessThan(0.01);
  });

  it('randn(std, mean) and uniform(lo, hi) scale the same draws', () => {
    const z = randn([50], 1, 0, new Generator(33)).f32();
    const y = randn([50], 2.5, -3, new Generator(33)).f32();
    expectClose(y, Array.from(z, (v) => Math.fround(v * 2.5 - 3)), { rtol: 1e-6, atol: 1e-6 });
    const u = rand([50], new Generator(34)).f32();
    const w = uniform([50], -2, 3, new Generator(34)).f32();
    expectClose(w, Array.from(u, (v) => -2 + 5 * v), { rtol: 1e-6, atol: 1e-6 });
    expect(Array.from(w).every((v) => v >= -2 && v <= 3)).toBe(true); // [lo, hi]: f32 rounding may land on hi
  });

  it('shapes are respected', () => {
    expect(rand([2, 3, 4], new Generator(1)).shape).toEqual([2, 3, 4]);
    expect(randn([0, 3], 1, 0, new Generator(1)).size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
let cpu: Backend | null = null;
let cpuError = '';
try {
  cpu = loadCpuBackend();
} catch (e) {
  cpuError = (e as Error).message;
}

describe.skipIf(cpu === null)(`08.5 same draws on reference and cpu${cpu ? '' : ` (SKIPPED: cpu addon did not load: ${cpuError})`}`, () => {
  const keys = [
    { seed: 0, stream: 0, offset: 0 },
    { seed: 42, stream: Streams.dropout, offset: 5 },
    { seed: 2 ** 40 + 12345, stream: 2 ** 32 - 1, offset: 2 ** 33 + 3 },
  ];

  it('uniform: bit-exact on every key, odd lengths, unaligned offsets', () => {
    for (const key of keys)
      for (const n of [1, 7, 33, 257, 4099]) expectExact(cpu!.uniform(n, key), referenceBackend.uniform(n, key), `uniform n=${n}`);
  });

  it('normal: within 1e-6 relative (f32 Box-Muller vs double)', () => {
    for (const key of keys)
      for (const n of [1, 7, 33, 257, 4099]) {
        expectClose(cpu!.normal(n, key), referenceBackend.normal(n, key), { rtol: 1e-6, atol: 1e-7 }, `normal n=${n}`);
      }
  });

  it('through the engine: rand/randn/dropout under withBackend', () => {
    const draw = (be: Backend) => withBackend(be, () => {
      const g = new Generator(99);
      return { u: rand([37], g).toArray(), z: randn([41], 1, 0, g).f32(),
        d: dropout(new Tensor(new Float32Array(53).fill(1), [53]), 0.3, true, g).toArray() };
    });
    const r = draw(referenceBackend), c = draw(cpu!);
    expect(c.u).toEqual(r.u);
    expectClose(c.z, r.z, { rtol: 1e-6, atol: 1e-7 }, 'randn');
    expect(c.d).toEqual(r.d);
  });
});
