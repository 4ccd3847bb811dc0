/** Shared helpers of the data tests: temporary files and the shared-datasets location. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetsRoot } from '../../src/experiments/common.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the shared data sets live: $SEQFAIR_DATA, else ../shared/datasets next to the repo. */
export const dataRoot = datasetsRoot();
export const ml100kDir = path.join(dataRoot, 'ml-100k');
export const hasMl100k = existsSync(path.join(ml100kDir, 'u.data'));

/** A temporary directory with a writer (creates parent folders); call cleanup() in afterAll. */
export function tempDir(prefix = 'seqfair-data-'): { dir: string; write: (name: string, content: string | Buffer) => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    write: (name, content) => {
      const p = path.join(dir, name);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
