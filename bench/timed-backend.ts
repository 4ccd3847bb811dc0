/**
 * A Backend wrapped so that every kernel call is timed: what `npm run -s bench:profile` reports.
 * GEMMs are keyed by shape and flags (a step's products of different shapes run at different
 * rates), projCeBackward by the gradients asked for, every other kernel by its name. The wrapper
 * changes no argument and no result.
 */
import type { Backend, GemmOptions, ProjCeWants } from '../src/backend/backend.js';

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

/** "gemm m×n×k" plus the flags that change how it runs (transposes, accumulate, batch) */
export function gemmKey(o: GemmOptions, accumulate: boolean): string {
  const flags = [o.transA ? 'Aᵀ' : '', o.transB ? 'Bᵀ' : '', accumulate ? 'acc' : '', o.batch > 1 ? `batch ${o.batch}` : '']
    .filter(Boolean).join(' ');
  return `gemm ${o.m}×${o.n}×${o.k}${flags ? ` (${flags})` : ''}`;
}

/** projCeBackward / projCeForwardBackward, naming the one gradient computed when only one is (A-FSR's first pass) */
function projCeKey(name: string, w: ProjCeWants | undefined): string {
  if (!w || (w.hidden && w.table)) return name;
  return `${name} (${w.hidden ? 'dHidden' : w.table ? 'dTable' : 'nothing'} only)`;
}

/** `be` with every method timed into `times` (keyed by kernel, GEMMs by shape) */
export function timedBackend(be: Backend, times: Map<string, KernelTime>): Backend {
  return new Proxy(be, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const out = fn.apply(target, args);
        const ms = performance.now() - t0;
        const key = prop === 'gemm' ? gemmKey(args[2] as GemmOptions, args[3] !== undefined)
          : prop === 'projCeBackward' || prop === 'projCeForwardBackward' ? projCeKey(prop, args[prop === 'projCeBackward' ? 10 : 9] as ProjCeWants | undefined)
          : String(prop);
        const t = times.get(key) ?? { kernel: key, ms: 0, calls: 0 };
        t.ms += ms;
        t.calls++;
        times.set(key, t);
        return out;
      };
    },
  });
}
