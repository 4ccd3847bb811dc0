/** `--check`: a peer's outputs against seqfair-cpu's on the same inputs. */
import type { Outputs } from './case.js';

/** Compares a peer's outputs with seqfair's: floats by max |a-b| / max|ref|, indices by mismatch count. */
export function compare(ref: Outputs, got: Outputs, tolerance: number): { ok: boolean; text: string } {
  const parts: string[] = [];
  let ok = true;
  for (const [key, r] of Object.entries(ref)) {
    const g = got[key];
    if (!g) continue;
    if (g.length !== r.length) { ok = false; parts.push(`${key} length ${g.length} vs ${r.length}`); continue; }
    if (r instanceof Int32Array) {
      let diff = 0;
      for (let i = 0; i < r.length; i++) if (r[i] !== g[i]) diff++;
      if (diff > r.length / 100) ok = false;
      parts.push(`${key} ${diff}/${r.length} differ`);
    } else {
      let scale = 0, err = 0;
      for (let i = 0; i < r.length; i++) {
        scale = Math.max(scale, Math.abs(r[i]!));
        err = Math.max(err, Math.abs(r[i]! - g[i]!));
      }
      const rel = err / (scale || 1);
      if (!(rel <= tolerance)) ok = false;
      parts.push(`${key} ${rel.toExponential(1)}`);
    }
  }
  // many outputs (a model's gradients): the worst one stands for the rest
  const shown = parts.length > 6 ? [worst(parts), `${parts.length} outputs`] : parts;
  return { ok, text: `${ok ? 'ok' : 'MISMATCH'} (${shown.join(', ')}; tol ${tolerance})` };
}

/** the part with the largest relative error ('key 1.2e-4') */
function worst(parts: string[]): string {
  const err = (p: string) => Number(p.slice(p.lastIndexOf(' ') + 1));
  return `worst ${parts.reduce((a, b) => (err(b) > err(a) || Number.isNaN(err(b)) ? b : a))}`;
}
