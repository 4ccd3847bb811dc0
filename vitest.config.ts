import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the GPU suites need a GPU: `npm run test:gpu` runs them (vitest.gpu.config.ts)
    exclude: ['test/gpu/**', '**/node_modules/**'],
    // outputs that kernels claim to write in full come NaN-filled (src/backend/buffer-pool.ts
    // allocOutput): every parity and training test then proves no element is left unwritten
    env: { SEQFAIR_POOL_POISON: '1' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // the native addon spins its own threads; two forks keep the 2-core machines busy without thrashing
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
