/**
 * TensorFlow.js as a benchmark peer (never used by seqfair itself).
 *
 * - `tfjs-cpu`: `@tensorflow/tfjs`'s pure JavaScript cpu backend (single-threaded).
 * - `tfjs-wasm`: `@tensorflow/tfjs-backend-wasm` (XNNPACK compiled to WebAssembly). Its .wasm
 *   binaries ship inside the npm package; in Node they are located with `setWasmPaths(<dist>/)`.
 *   Threads: tfjs-backend-wasm 4.x turns its multi-threaded build off in Node
 *   (flag WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tensorflow/tfjs#3830), and forcing
 *   it on fails because the pthread workers are started from blob: URLs, which Node's Worker
 *   rejects (ERR_WORKER_PATH). So the wasm peer runs the SIMD build on ONE thread; we report the
 *   count it says it uses (getThreadsCount()).
 * - `@tensorflow/tfjs-node` is deliberately not used: its install downloads a native binary.
 *
 * tfjs is loaded lazily (only when a peer is asked for), and its console chatter goes to stderr
 * (bench/main.ts routes console output there) so `--json` keeps stdout clean.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Outputs, Peer, Prepared } from './case.js';

export type Tf = typeof import('@tensorflow/tfjs');
type Tensor = import('@tensorflow/tfjs').Tensor;

let tfModule: Tf | null = null;
let wasmInfo: { threads: number; version: string; simd: boolean } | null = null;

/** Loads tfjs (and the wasm backend when asked) and selects `peer`'s backend. */
export async function useTfjs(peer: Peer): Promise<Tf> {
  if (!tfModule) {
    tfModule = await import('@tensorflow/tfjs');
  }
  const tf = tfModule;
  if (peer === 'tfjs-wasm' && !wasmInfo) {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
    wasm.setWasmPaths(dist + '/');
    // Asking for more threads changes nothing in Node (see above); the count is read back below.
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialise');
    wasmInfo = {
      threads: wasm.getThreadsCount(),
      version: wasm.version_wasm,
      simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    };
  }
  const name = peer === 'tfjs-wasm' ? 'wasm' : 'cpu';
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) {
    throw new Error(`the tfjs ${name} backend did not initialise`);
  }
  return tf;
}

/** Versions and wasm settings for the report header (null parts when not loaded). */
export function tfjsInfo(): { version: string | null; wasm: typeof wasmInfo } {
  return { version: tfModule ? tfModule.version.tfjs : null, wasm: wasmInfo };
}

/** Live tfjs tensors (to catch leaks between cases). */
export function tfjsTensorCount(): number {
  return tfModule ? tfModule.memory().numTensors : 0;
}

/**
 * Builds a Prepared from a tfjs computation. `compute` returns its named results; `run` wraps it
 * in tf.tidy so every intermediate (and the results) is freed after each call. The cpu and wasm
 * backends execute eagerly and synchronously, so the call has finished when `compute` returns and
 * no read-back is needed inside the timed region.
 */
export function tfjsPrepared(tf: Tf, inputs: Tensor[], compute: () => Record<string, Tensor>): Prepared {
  return {
    run() {
      tf.tidy(() => {
        compute();
      });
    },
    outputs() {
      const out: Outputs = {};
      tf.tidy(() => {
        for (const [k, t] of Object.entries(compute())) {
          const data = t.dataSync();
          out[k] = data instanceof Int32Array || data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
        }
      });
      return out;
    },
    dispose() {
      for (const t of inputs) t.dispose();
    },
  };
}
