/**
 * `npm run test:gpu`: every kernel of the cuda backend against the reference backend on a GPU
 * (the suite is test/gpu/suite/parity.ts, shared with the emulated run of test/cuda).
 */
import { defineParitySuite } from './suite/parity.js';
import { cpuOrNull, cuda, cudaAddon, haveGpu, skipReason, status } from './suite/gpu.js';

if (haveGpu) {
  defineParitySuite({ label: `cuda (${status.runtime?.devices[0]?.name})`, backend: cuda, addon: cudaAddon, cpu: cpuOrNull, small: !!status.runtime?.emulated });
} else {
  // scripts/test-gpu.mjs runs this suite only where a GPU answers; run directly without one, say why
  throw new Error(`the GPU parity suite needs a usable GPU: ${skipReason}`);
}
