/** Shared helpers of the command-line tests: run `seqfair` in-process with stdout/stderr captured. */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `seqfair <args>` through main() (exit status as returned), capturing stdout and stderr. */
export async function seqfair(args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

/** Tiny synthetic data and models: a run takes about a second. */
export const TINY_DATA = 'synthetic:numUsers=60,numItems=150,maxLen=25,seed=4';
export const TINY_MODEL = ['--hidden', '8', '--max-len', '10', '--layers', '1'];
