import { defineConfig } from 'vitest/config';

// `npm run test:gpu` (scripts/test-gpu.mjs): the suites that need an NVIDIA GPU
export default defineConfig({
  test: {
    include: ['test/gpu/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 1, minForks: 1 } },
  },
});
