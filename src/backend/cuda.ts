/**
 * The `cuda` backend: the CUDA addon (native/cuda/, built by `npm install` through cmake-js from
 * CMakeLists.txt where nvcc is found), plus the device-memory API it is built on.
 *
 * What this first version is, plainly: a Backend whose kernels run on the GPU but whose tensors
 * still live in host memory. Every call copies its inputs to the device, runs the CUDA kernels,
 * copies the outputs back and frees the device temporaries (they return to the caching
 * allocator, so a training loop stops calling cudaMalloc after its first step). The engine's
 * tensors are Float32Arrays today; keeping them on the device (`tensor.to('cuda')`) needs the
 * engine to hold a DeviceBuffer as storage, which the API below is ready for: device buffers with
 * `toDevice()` / `toHost()`, `CudaDevice.scope()` that frees what a block allocated, a
 * FinalizationRegistry as safety net, and a live-bytes counter tests can assert on.
 *
 * The addon validates every call again (handles live, dtypes and lengths exact, ids in range on
 * the device) and throws TypeError/RangeError on bad input; loading it on a machine without a GPU
 * or driver works and `cudaStatus()` says why it cannot be used.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import {
  type AdamOptions, type AttentionDims, BOTH_GRADIENTS, type Backend, type F32, type GemmOptions, type GruDims, type I32,
  type NarmAttentionDims, type RngKey,
} from './backend.js';
import { allocF32 } from './buffer-pool.js';
import { packageRoot } from './cpu.js';

export type DType = 'f32' | 'i32';
type Host = F32 | I32;

export interface CudaDeviceInfo {
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
  sharedMemoryPerBlock: number;
}

/** What the addon reports about the CUDA runtime; never throws. */
export interface CudaRuntimeInfo {
  /** architectures compiled in, e.g. "80-real 86-real 89-real 90-real 90-virtual" */
  archs: string;
  /** true for the CPU-emulated build used by the tests */
  emulated: boolean;
  runtimeVersion: number;
  driverVersion: number;
  deviceCount: number;
  /** why no device is usable (null when one is) */
  error: string | null;
  devices: CudaDeviceInfo[];
}

export interface CudaMemoryStats {
  /** bytes of live device buffers (requested sizes) */
  liveBytes: number;
  liveBlocks: number;
  liveBuffers: number;
  /** bytes held from cudaMalloc, live and cached */
  reservedBytes: number;
  cachedBytes: number;
  peakLiveBytes: number;
  deviceMallocs: number;
  cacheHits: number;
}

type H = number; // a device buffer handle

/** The functions the CUDA addon exports (native/cuda/bind.cc); kernels take handles. */
export interface CudaAddon {
  info(): CudaRuntimeInfo;
  deviceCount(): number;
  kernels(): Record<string, string[]>;
  alloc(length: number, dtype: DType): H;
  free(handle: H): boolean;
  upload(handle: H, data: Host): void;
  download(handle: H, data: Host): void;
  memory(): CudaMemoryStats;
  emptyCache(): void;
  synchronize(): void;
  [kernel: string]: (...args: never[]) => unknown;
}

// ---- device memory ------------------------------------------------------------------------------

/** A buffer in device memory (f32 or i32, `length` elements). */
export class DeviceBuffer {
  #freed = false;

  constructor(
    readonly device: CudaDevice,
    readonly handle: number,
    readonly length: number,
    readonly dtype: DType,
  ) {}

  get bytes(): number { return this.length * 4; }
  get freed(): boolean { return this.#freed; }

  /** Copies the buffer to a new host array (`.to('cpu')`). */
  toHost(): Host {
    if (this.#freed) throw new Error(`DeviceBuffer: handle ${this.handle} was freed`);
    const out = this.dtype === 'f32' ? new Float32Array(this.length) : new Int32Array(this.length);
    this.device.addon.download(this.handle, out);
    return out;
  }

  /** Copies host data of the same dtype and length into the buffer. */
  write(data: Host): this {
    this.device.addon.upload(this.handle, data);
    return this;
  }

  /** Returns the memory to the device's cache now (idempotent). */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.device._released(this);
  }
}

/** Device memory, scopes and counters over one loaded CUDA addon. */
export class CudaDevice {
  #liveBytes = 0;
  #liveBuffers = 0;
  readonly #scopes: Set<DeviceBuffer>[] = [];
  #collected = 0;
  readonly #registry: FinalizationRegistry<{ handle: number; bytes: number }>;

  constructor(readonly addon: CudaAddon) {
    // safety net: a buffer that became unreachable without being freed gives its memory back
    this.#registry = new FinalizationRegistry(({ handle, bytes }) => {
      if (this.addon.free(handle)) {
        this.#collected++;
        this.#liveBytes -= bytes;
        this.#liveBuffers--;
      }
    });
  }

  /** A new uninitialised buffer of `length` elements. */
  alloc(length: number, dtype: DType): DeviceBuffer {
    const handle = this.addon.alloc(length, dtype);
    const buf = new DeviceBuffer(this, handle, length, dtype);
    this.#liveBytes += buf.bytes;
    this.#liveBuffers++;
    this.#registry.register(buf, { handle, bytes: buf.bytes }, buf);
    this.#scopes.at(-1)?.add(buf);
    return buf;
  }

  /** Copies a host array to a new device buffer (`.to('cuda')`). */
  toDevice(data: Host): DeviceBuffer {
    const buf = this.alloc(data.length, data instanceof Float32Array ? 'f32' : 'i32');
    try {
      return buf.write(data);
    } catch (e) {
      buf.free();
      throw e;
    }
  }

  /** @internal called by DeviceBuffer.free */
  _released(buf: DeviceBuffer): void {
    this.#registry.unregister(buf);
    if (this.addon.free(buf.handle)) {
      this.#liveBytes -= buf.bytes;
      this.#liveBuffers--;
    }
    for (const s of this.#scopes) s.delete(buf);
  }

  /**
   * Runs fn and frees every buffer allocated inside it, except the buffers it returns (a
   * DeviceBuffer, or arrays / plain objects holding them), which move to the enclosing scope.
   * Like tf.tidy; scopes nest.
   */
  scope<T>(fn: () => T): T {
    const mine = new Set<DeviceBuffer>();
    this.#scopes.push(mine);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.#scopes.pop();
      for (const b of mine) b.free();
      throw e;
    }
    this.#scopes.pop();
    const kept = new Set<DeviceBuffer>();
    collectBuffers(result, kept, 0);
    for (const b of mine) if (!kept.has(b)) b.free();
    const parent = this.#scopes.at(-1);
    if (parent) for (const b of kept) if (!b.freed) parent.add(b);
    return result;
  }

  /** Takes a buffer out of the current scopes so that they do not free it. */
  keep<B extends DeviceBuffer>(buf: B): B {
    for (const s of this.#scopes) s.delete(buf);
    return buf;
  }

  /** JS-side counters (what this process holds) and the addon's allocator statistics. */
  memory(): { liveBytes: number; liveBuffers: number; collectedByGc: number; device: CudaMemoryStats } {
    return { liveBytes: this.#liveBytes, liveBuffers: this.#liveBuffers, collectedByGc: this.#collected, device: this.addon.memory() };
  }

  /** Releases the allocator's cached (free) blocks to the driver. */
  emptyCache(): void { this.addon.emptyCache(); }
  /** Waits for every queued kernel and copy. */
  synchronize(): void { this.addon.synchronize(); }
}

function collectBuffers(v: unknown, into: Set<DeviceBuffer>, depth: number): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (v instanceof DeviceBuffer) { into.add(v); return; }
  if (ArrayBuffer.isView(v)) return;
  if (Array.isArray(v)) { for (const x of v) collectBuffers(x, into, depth + 1); return; }
  if (Object.getPrototypeOf(v) === Object.prototype || v instanceof Map) {
    const values = v instanceof Map ? [...v.values()] : Object.values(v);
    for (const x of values) collectBuffers(x, into, depth + 1);
  }
}

// ---- the backend ----------------------------------------------------------------------------------

/** An output argument: allocated on the device, copied back after the call. */
class Out { constructor(readonly host: Host, readonly upload: boolean) {} }
/** write-only output */
const out = (a: Host): Out => new Out(a, false);
/** read-write output (updated in place: gemm accumulate, adamStep) */
const inout = (a: Host): Out => new Out(a, true);

type Arg = Host | Out | number | boolean | string | null | RngKey | number[];

// outputs come from the pool inside scope() (./buffer-pool.ts)
const f32 = (n: number): F32 => allocF32(n);
const i32 = (n: number): I32 => new Int32Array(n);

/**
 * A Backend on a loaded CUDA addon: copies inputs in, runs the kernel, copies outputs back
 * (see the file comment). `device` gives the memory API and counters.
 */
export function makeCudaBackend(addon: CudaAddon): Backend & { device: CudaDevice } {
  const dev = new CudaDevice(addon);
  const rt = addon.info();
  const d0 = rt.devices[0];

  /** uploads the host arrays, calls the kernel, downloads the outputs, frees the temporaries */
  function run(name: string, ...args: Arg[]): void {
    const fn = addon[name];
    if (typeof fn !== 'function') throw new Error(`cuda addon has no kernel '${name}'`);
    dev.scope(() => {
      const outs: [Host, DeviceBuffer][] = [];
      const mapped = args.map((a) => {
        if (a instanceof Out) {
          const b = a.upload ? dev.toDevice(a.host) : dev.alloc(a.host.length, a.host instanceof Float32Array ? 'f32' : 'i32');
          outs.push([a.host, b]);
          return b.handle;
        }
        if (a instanceof Float32Array || a instanceof Int32Array) return dev.toDevice(a).handle;
        return a;
      });
      (fn as (...x: unknown[]) => void)(...mapped);
      for (const [host, b] of outs) addon.download(b.handle, host);
    });
  }

  return {
    name: 'cuda',
    device: dev,
    threads: d0?.multiprocessors ?? 0,
    simd: d0 ? `cuda sm_${d0.computeCapability.replace('.', '')}` : 'cuda',

    uniform(n, key) { const o = f32(n); run('uniform', out(o), key); return o; },
    normal(n, key) { const o = f32(n); run('normal', out(o), key); return o; },

    gemm(a, b, o: GemmOptions, accumulate?: F32) {
      const c = accumulate ?? f32(o.batch * o.m * o.n);
      run('gemm', a, b, accumulate ? inout(c) : out(c), o.batch, o.m, o.n, o.k, o.transA, o.transB, o.batchedA,
        o.batchedB, accumulate !== undefined);
      return c;
    },

    attentionForward(q, k, v, keyMask, d: AttentionDims) {
      const o = f32(q.length), lse = f32(d.B * d.H * d.L);
      run('attentionForward', q, k, v, keyMask, out(o), out(lse), d.B, d.H, d.L, d.dh, d.causal, d.scale, d.dropout, d.rng, d.interleaved ?? false);
      return { out: o, lse };
    },
    attentionBackward(q, k, v, keyMask, o, lse, dOut, d: AttentionDims) {
      const dq = f32(q.length), dk = f32(k.length), dv = f32(v.length);
      run('attentionBackward', q, k, v, keyMask, o, lse, dOut, out(dq), out(dk), out(dv),
        d.B, d.H, d.L, d.dh, d.causal, d.scale, d.dropout, d.rng, d.interleaved ?? false);
      return { dq, dk, dv };
    },

    gruForward(x, h0, wIh, wHh, bIh, bHh, d: GruDims) {
      const o = f32(d.B * d.L * d.H), cache = f32(d.B * d.L * 4 * d.H);
      run('gruForward', x, h0, wIh, wHh, bIh, bHh, out(o), out(cache), d.B, d.L, d.I, d.H);
      return { out: o, cache };
    },
    gruBackward(x, h0, wIh, wHh, o, cache, dOut, d: GruDims) {
      const r = {
        dx: f32(x.length), dh0: f32(h0.length), dWIh: f32(wIh.length), dWHh: f32(wHh.length),
        dBIh: f32(3 * d.H), dBHh: f32(3 * d.H),
      };
      run('gruBackward', x, h0, wIh, wHh, o, cache, dOut, out(r.dx), out(r.dh0), out(r.dWIh), out(r.dWHh),
        out(r.dBIh), out(r.dBHh), d.B, d.L, d.I, d.H);
      return r;
    },

    narmAttentionForward(q, k, w, mask, d: NarmAttentionDims) {
      const alpha = f32(d.B * d.T * d.L);
      run('narmAttentionForward', q, k, w, mask, out(alpha), d.B, d.T, d.L, d.H);
      return alpha;
    },
    narmAttentionBackward(q, k, w, mask, dAlpha, d: NarmAttentionDims) {
      const r = { dq: f32(q.length), dk: f32(k.length), dw: f32(w.length) };
      run('narmAttentionBackward', q, k, w, mask, dAlpha, out(r.dq), out(r.dk), out(r.dw), d.B, d.T, d.L, d.H);
      return r;
    },

    projCeForward(hidden, table, targets, weights, N, D, V, ignoreIndex) {
      const loss = f32(N), lse = f32(N);
      run('projCeForward', hidden, table, targets, weights, out(loss), out(lse), N, D, V, ignoreIndex);
      return { loss, lse };
    },
    projCeBackward(hidden, table, targets, weights, lse, dLoss, N, D, V, ignoreIndex, wants = BOTH_GRADIENTS) {
      const dHidden = wants.hidden ? f32(N * D) : null, dTable = wants.table ? f32(V * D) : null;
      run('projCeBackward', hidden, table, targets, weights, lse, dLoss, dHidden && out(dHidden), dTable && out(dTable), N, D, V, ignoreIndex);
      return { dHidden, dTable };
    },
    // the two device passes one after the other (no single-pass kernel on CUDA yet)
    projCeForwardBackward(hidden, table, targets, weights, dLoss, N, D, V, ignoreIndex, wants = BOTH_GRADIENTS) {
      const loss = f32(N), lse = f32(N);
      const dHidden = wants.hidden ? f32(N * D) : null, dTable = wants.table ? f32(V * D) : null;
      run('projCeForward', hidden, table, targets, weights, out(loss), out(lse), N, D, V, ignoreIndex);
      run('projCeBackward', hidden, table, targets, weights, lse, dLoss, dHidden && out(dHidden), dTable && out(dTable), N, D, V, ignoreIndex);
      return { loss, lse, dHidden, dTable };
    },
    crossEntropyForward(logits, targets, weights, N, C, ignoreIndex) {
      const loss = f32(N), lse = f32(N);
      run('crossEntropyForward', logits, targets, weights, out(loss), out(lse), N, C, ignoreIndex);
      return { loss, lse };
    },
    crossEntropyBackward(logits, targets, weights, lse, dLoss, N, C, ignoreIndex) {
      const dLogits = f32(N * C);
      run('crossEntropyBackward', logits, targets, weights, lse, dLoss, out(dLogits), N, C, ignoreIndex);
      return dLogits;
    },

    gather(table, ids, V, D) { const o = f32(ids.length * D); run('gather', table, ids, out(o), V, D); return o; },
    scatterAdd(dOut, ids, V, D) { const g = f32(V * D); run('scatterAdd', dOut, ids, out(g), V, D); return g; },
    gradNorm(g, mask, B, L, D) {
      const norms = f32(B * L), rowmax = f32(B), argmax = i32(B);
      run('gradNorm', g, mask, out(norms), out(rowmax), out(argmax), B, L, D);
      return { norms, rowmax, argmax };
    },

    cosineTopk(x, N, D, k, queries) {
      const Q = queries ? queries.length : N;
      const indices = i32(Q * k), similarities = f32(Q * k);
      run('cosineTopk', x, queries, out(indices), out(similarities), N, D, k);
      return { indices, similarities };
    },
    twoHop(indices, N, k) {
      const twoHop = i32(N * (k + k * k)), count = i32(N);
      run('twoHop', indices, out(twoHop), out(count), N, k);
      return { twoHop, count };
    },
    dirichlet(counts, rows, K, alpha, key) {
      const o = f32(rows * K);
      run('dirichlet', counts, out(o), rows, K, alpha, key);
      return o;
    },
    neighbourMix(table, ids, w, R, K, V, D) {
      const o = f32(R * D);
      run('neighbourMix', table, ids, w, out(o), R, K, V, D);
      return o;
    },
    neighbourMixBackward(dOut, ids, w, R, K, V, D) {
      const dTable = f32(V * D);
      run('neighbourMixBackward', dOut, ids, w, out(dTable), R, K, V, D);
      return dTable;
    },

    layerNormForward(x, gamma, beta, rows, D, eps) {
      const y = f32(rows * D), mean = f32(rows), rstd = f32(rows);
      run('layerNormForward', x, gamma, beta, out(y), out(mean), out(rstd), rows, D, eps);
      return { y, mean, rstd };
    },
    layerNormBackward(x, gamma, mean, rstd, dy, rows, D) {
      const dx = f32(rows * D), dGamma = f32(D), dBeta = f32(D);
      run('layerNormBackward', x, gamma, mean, rstd, dy, out(dx), out(dGamma), out(dBeta), rows, D);
      return { dx, dGamma, dBeta };
    },
    binary(op, a, b, dims, stridesA, stridesB) {
      let n = 1;
      for (const d of dims) n *= d;
      const y = f32(n);
      run('binary', op, a, b, out(y), [...dims], [...stridesA], [...stridesB]);
      return y;
    },
    geluForward(x) { const y = f32(x.length); run('geluForward', x, out(y)); return y; },
    geluBackward(x, dy) { const dx = f32(x.length); run('geluBackward', x, dy, out(dx)); return dx; },
    softmaxForward(x, rows, C) { const y = f32(rows * C); run('softmaxForward', x, out(y), rows, C); return y; },
    softmaxBackward(y, dy, rows, C) { const dx = f32(rows * C); run('softmaxBackward', y, dy, out(dx), rows, C); return dx; },
    dropoutForward(x, p, key) { const y = f32(x.length); run('dropoutForward', x, out(y), p, key); return y; },
    dropoutBackward(dy, p, key) { const dx = f32(dy.length); run('dropoutBackward', dy, out(dx), p, key); return dx; },

    adamStep(param, grad, m, v, o: AdamOptions) {
      run('adamStep', inout(param), grad, inout(m), inout(v), o.lr, o.beta1, o.beta2, o.eps, o.weightDecay,
        o.decoupled, o.step);
    },
  };
}

// ---- loading ---------------------------------------------------------------------------------------

/** Where cmake-js leaves the addon (scripts/install.mjs builds into build-cuda/). */
export const cudaAddonCandidates = ['build-cuda/Release/seqfair_cuda.node', 'build-cuda/Debug/seqfair_cuda.node'];

/**
 * Loads the CUDA addon (SEQFAIR_CUDA_ADDON=<path> overrides the candidates; the tests point it at
 * the CPU-emulated build) or throws an Error that says what was tried.
 */
export function loadCudaAddon(): CudaAddon {
  const require = createRequire(import.meta.url);
  const override = process.env.SEQFAIR_CUDA_ADDON;
  const candidates = override ? [override] : cudaAddonCandidates;
  const tried: string[] = [];
  for (const rel of candidates) {
    const file = isAbsolute(rel) ? rel : join(packageRoot, rel);
    if (!existsSync(file)) { tried.push(`${rel} (missing)`); continue; }
    try {
      return require(file) as CudaAddon;
    } catch (e) {
      tried.push(`${rel} (${(e as Error).message.split('\n')[0]})`);
    }
  }
  throw new Error(`the CUDA addon is not built (tried ${tried.join('; ')}); it is built by \`npm install\` ` +
    'where nvcc is on PATH (or with SEQFAIR_CUDA=1), see README "GPU"');
}

export interface CudaStatus {
  /** the addon file loaded */
  built: boolean;
  /** a device answers: the backend can run */
  usable: boolean;
  /** why it cannot be used (null when usable) */
  reason: string | null;
  runtime: CudaRuntimeInfo | null;
}

let status: CudaStatus | null = null;
let backend: (Backend & { device: CudaDevice }) | null = null;

/** Whether the CUDA backend can run here, and why not; never throws, computed once. */
export function cudaStatus(): CudaStatus {
  if (status) return status;
  let addon: CudaAddon;
  try {
    addon = loadCudaAddon();
  } catch (e) {
    status = { built: false, usable: false, reason: (e as Error).message, runtime: null };
    return status;
  }
  const runtime = addon.info();
  const usable = runtime.deviceCount > 0 && runtime.error === null;
  status = {
    built: true,
    usable,
    reason: usable ? null : `the CUDA addon is built (${runtime.archs}) but no GPU is usable: ${runtime.error ?? 'no device'}`,
    runtime,
  };
  return status;
}

/** The cuda backend (throws an Error with the reason when no device is usable). */
export function loadCudaBackend(): Backend & { device: CudaDevice } {
  if (backend) return backend;
  const s = cudaStatus();
  if (!s.usable) throw new Error(s.reason ?? 'the CUDA backend is not usable');
  backend = makeCudaBackend(loadCudaAddon());
  return backend;
}

/**
 * The loader's CUDA step (src/backend/index.ts calls it with its own `choose`):
 *   - `cuda`: the cuda backend; if it cannot run, one line on stderr saying why and `cpu`
 *     (an Error instead when SEQFAIR_STRICT_BACKEND=1);
 *   - `auto`: the cuda backend when the addon loaded and a device answers, otherwise `choose('auto')`
 *     without a word (why is kept for `seqfair info`: cudaNote());
 *   - anything else: `choose(name)`.
 */
export function chooseWithCuda(name: string, choose: (name: string) => Backend): Backend {
  if (name !== 'cuda' && name !== 'auto') return choose(name);
  const s = cudaStatus();
  if (s.usable) {
    try {
      return loadCudaBackend();
    } catch (e) {
      status = { ...s, usable: false, reason: (e as Error).message };
    }
  }
  if (name === 'auto') return choose('auto');
  const why = cudaStatus().reason ?? 'unknown';
  if (process.env.SEQFAIR_STRICT_BACKEND === '1') throw new Error(`SEQFAIR_BACKEND=cuda: ${why}`);
  process.stderr.write(`seqfair: using the cpu backend because ${why}\n`);
  return choose('cpu');
}

/** One line for `seqfair info` about the CUDA build (null when it is in use). */
export function cudaNote(): string | null {
  const s = cudaStatus();
  return s.usable ? null : `cuda: ${s.reason}`;
}

/** The cuda backend as a value, for tests and benchmarks; any use throws if it cannot run. */
export const cudaBackend: Backend = new Proxy({} as Backend, {
  get: (_t, prop) => Reflect.get(loadCudaBackend(), prop),
});
