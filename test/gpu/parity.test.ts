/**
 * `npm run test:gpu`: every kernel of the cuda backend against the reference backend on a GPU
 * (the suite is test/gpu/suite/parity.ts, shared with the emulated run of test/cuda).
 */
import { describe, it } from 'vitest';

import { defineParitySuite } from './suite/parity.js';
import { cpuOrNull, cuda, cudaAddon, haveGpu, skipReason, status } from './suite/gpu.js';

if (haveGpu) {
  defineParitySuite({ label: `cuda (${status.runtime?.devices[0]?.name})`, backend: cuda, addon: cudaAddon, cpu: cpuOrNull, small: !!status.runtime?.emulated });
} else {
  describe.skip(`cuda parity: no usable GPU (${skipReason})`, () => { it('skipped', () => {}); });
}
