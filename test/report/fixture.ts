/**
 * Fake results.json files for the report tests (no training): the shape `seqfair compare` writes.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type Metrics = Record<string, number | null>;

export interface FakeRun {
  model: string;
  method: string;
  seed: number;
  dataset: string;
  protocol: string;
  negatives?: string;
  config: Record<string, unknown>;
  test: { overall: Metrics; groups: Record<string, Record<string, Metrics>> };
}

const KS = [3, 5, 10, 20];

/** Metrics of a user set whose recall@k grows with k from `r5` (a simple, monotone shape). */
export function metricsAt(r5: number): Metrics {
  const m: Metrics = {};
  for (const k of KS) {
    m[`recall@${k}`] = Math.min(1, r5 * (0.6 + 0.08 * k));
    m[`ndcg@${k}`] = Math.min(1, r5 * (0.4 + 0.05 * k));
  }
  m.mrr = r5 * 0.5;
  return m;
}

/**
 * A grid: models × methods × seeds on the synthetic data, groupings `group` (majority/minority)
 * and `popularity:2060` (niche/diverse/popular). erm has the widest minority gap, afsr narrows it
 * most, cvar-dro a little; seeds add a small deterministic jitter.
 */
export function fakeGrid(opts: { models?: string[]; methods?: string[]; seeds?: number[]; protocols?: { protocol: string; negatives?: string }[] } = {}): { runs: FakeRun[] } {
  const models = opts.models ?? ['sasrec', 'narm'];
  const methods = opts.methods ?? ['erm', 'afsr', 'cvar-dro'];
  const seeds = opts.seeds ?? [1, 2, 3];
  const protocols = opts.protocols ?? [{ protocol: 'sampled', negatives: 'popularity' }];
  const gapOf: Record<string, number> = { erm: 0.1, afsr: 0.03, 'cvar-dro': 0.07 };
  const accOf: Record<string, number> = { erm: 0.35, afsr: 0.34, 'cvar-dro': 0.32 };
  const runs: FakeRun[] = [];
  for (const p of protocols) {
    for (const [mi, model] of models.entries()) {
      for (const method of methods) {
        for (const seed of seeds) {
          const jitter = ((seed * 7 + mi * 3 + method.length) % 5 - 2) * 0.004;
          const acc = (accOf[method] ?? 0.3) + 0.02 * mi + jitter + (p.protocol === 'full' ? -0.2 : 0);
          const gap = (gapOf[method] ?? 0.05) + jitter / 2;
          runs.push({
            model, method, seed, dataset: 'synthetic', protocol: p.protocol, ...(p.negatives ? { negatives: p.negatives } : {}),
            config: { epochs: 10, lr: 0.001 },
            test: {
              overall: metricsAt(acc),
              groups: {
                group: { majority: metricsAt(acc + 0.2 * gap), minority: metricsAt(acc - 0.8 * gap) },
                'popularity:2060': { niche: metricsAt(acc - gap), diverse: metricsAt(acc), popular: metricsAt(acc + 0.5 * gap) },
              },
            },
          });
        }
      }
    }
  }
  return { runs };
}

/** Writes `results` as <tmp>/results.json and returns the directory. */
export function writeResultsDir(results: unknown, name = 'seqfair-report-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), name));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'results.json'), typeof results === 'string' ? results : JSON.stringify(results, null, 1));
  return dir;
}
