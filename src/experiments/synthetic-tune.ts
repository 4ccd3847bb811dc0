/**
 * Choosing the synthetic gate's method hyper-parameters on VALIDATION targets, by a fixed rule,
 * so that the gate (src/experiments/synthetic-gap.ts) stays a held-out check on the test targets:
 *
 *   npx tsx src/experiments/synthetic-tune.ts --out runs/fair-synthetic-tune
 *
 * Candidates (the one knob per method that its paper says matters):
 *   cvar-dro  α ∈ {0.1, 0.2, 0.3, 0.5, 0.7}  (ECIR: "α … is tuned based on overall nDCG on
 *             validation"; 0.2 the ECIR code's default, 0.5 the independent check of issue 4)
 *             and the same α over target positions instead of users (unit 'position', not in
 *             the papers: src/fairness/cvar-dro.ts; added 2026-12-07 after the users' CVaR had
 *             failed the gate, so it is a second look, said so wherever it is reported)
 *   afsr      λ ∈ {0.1, 0.3, 1}, r = λ      (SIGIR footnote 4: "A-FSR is sensitive to λ"; 0.1 is
 *             this library's default, the paper gives none)
 * The rule was fixed before these 5-seed runs (an exploratory 3-seed probe of α had been run).
 * Rule, on the validation targets (each user's second-to-last item; the test target is the last),
 * same data, model, training and seeds as the gate: a candidate qualifies when its mean overall
 * validation Recall@5 is at least erm's mean − 2 · erm's std; among those, the one with the
 * largest mean validation gap reduction against erm (gap = majority − minority Recall@5, paired by
 * seed) is chosen; when none qualifies, the default stays. The test-target gate of every
 * candidate is written beside it (tune.md) for transparency, never used to choose.
 */
import path from 'node:path';
import type { ResultEntry } from '../compare/index.js';
import { loadDataSpec } from '../compare/index.js';
import { attributeGroups } from '../data/groups.js';
import { meanStd, pairedComparison, type PairedComparison, type MeanStd } from '../eval/fairness-stats.js';
import { isMain, parseArgs, parseSeeds, progressLine, validationGroupMetrics, writeAtomic } from './common.js';
import { SYNTHETIC_GAP, gapGate, runSyntheticGap, type MethodGate } from './synthetic-gap.js';

export const CANDIDATES: Readonly<Record<string, readonly Record<string, unknown>[]>> = {
  'cvar-dro': [
    { alpha: 0.1 }, { alpha: 0.2 }, { alpha: 0.3 }, { alpha: 0.5 }, { alpha: 0.7 },
    ...[0.1, 0.2, 0.3, 0.5, 0.7].map((alpha) => ({ alpha, unit: 'position' })),
  ],
  afsr: [{ lambda: 0.1 }, { lambda: 0.3 }, { lambda: 1 }],
};
export const DEFAULTS: Readonly<Record<string, Record<string, unknown>>> = { 'cvar-dro': { alpha: 0.2 }, afsr: { lambda: 0.1 } };

export interface Candidate {
  method: string;
  params: Record<string, unknown>;
  valid: { overall: MeanStd; gap: MeanStd; reduction: PairedComparison; qualifies: boolean };
  test: MethodGate;
}

export interface TuneResult {
  data: string;
  metric: string;
  ermValid: { overall: MeanStd; gap: MeanStd; floor: number };
  candidates: Candidate[];
  chosen: Record<string, Record<string, unknown>>;
}

export async function tune(out: string, seeds: number[], methods: readonly string[] = Object.keys(CANDIDATES), data: string = SYNTHETIC_GAP.data): Promise<TuneResult> {
  const ds = await loadDataSpec(data);
  const labels = attributeGroups(ds, SYNTHETIC_GAP.grouping);
  const metric = SYNTHETIC_GAP.metric;
  const validOf = (e: ResultEntry): { overall: number; gap: number } => {
    const v = validationGroupMetrics(e, out, labels);
    return { overall: v.overall[metric]!, gap: v.groups[SYNTHETIC_GAP.majority]![metric]! - v.groups[SYNTHETIC_GAP.minority]![metric]! };
  };
  const candidates: Candidate[] = [];
  let erm: Map<number, { overall: number; gap: number }> | null = null;
  let floor = Number.NaN;
  let ermValid: TuneResult['ermValid'] | null = null;
  for (const m of methods) {
    for (const params of CANDIDATES[m] ?? []) {
      const { settings, entries } = await runSyntheticGap({
        out, data, dataset: ds, seeds, methods: ['erm', m], methodParams: { [m]: params }, onEvent: progressLine(`[tune ${m} ${JSON.stringify(params)}]`),
      });
      if (erm === null) {
        erm = new Map(entries.filter((e) => e.method === 'erm').map((e) => [e.seed, validOf(e)]));
        const o = meanStd([...erm.values()].map((v) => v.overall));
        floor = o.mean - 2 * o.std;
        ermValid = { overall: o, gap: meanStd([...erm.values()].map((v) => v.gap)), floor };
      }
      const mine = new Map(entries.filter((e) => e.method === m).map((e) => [e.seed, validOf(e)]));
      const overall = meanStd([...mine.values()].map((v) => v.overall));
      const reduction = pairedComparison(new Map([...erm].map(([s, v]) => [s, v.gap])), new Map([...mine].map(([s, v]) => [s, v.gap])));
      const test = gapGate(entries, settings).methods.find((g) => g.method === m)!;
      candidates.push({ method: m, params, valid: { overall, gap: meanStd([...mine.values()].map((v) => v.gap)), reduction, qualifies: overall.mean >= floor }, test });
    }
  }
  const chosen: Record<string, Record<string, unknown>> = {};
  for (const m of methods) {
    const ok = candidates.filter((c) => c.method === m && c.valid.qualifies);
    ok.sort((a, b) => b.valid.reduction.mean - a.valid.reduction.mean);
    chosen[m] = ok.length > 0 && ok[0]!.valid.reduction.mean > 0 ? ok[0]!.params : DEFAULTS[m]!;
  }
  return { data, metric, ermValid: ermValid!, candidates, chosen };
}

const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');
const sg = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}` : '–');

export function tuneMarkdown(t: TuneResult): string {
  const lines = [
    `# Synthetic gate: hyper-parameters chosen on validation targets (${t.data})`,
    '',
    `erm validation ${t.metric}: ${f(t.ermValid.overall.mean)} ± ${f(t.ermValid.overall.std)} (floor ${f(t.ermValid.floor)}), validation gap ${f(t.ermValid.gap.mean)} ± ${f(t.ermValid.gap.std)}.`,
    'Rule: qualify when validation overall ≥ floor; choose the largest validation gap reduction. Test columns are shown, never used to choose.',
    '',
    '| method | params | valid overall | valid gap | valid reduction [95 % CI] | qualifies | test overall | test gap | test reduction [95 % CI] | test gate |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of t.candidates) {
    const r = c.valid.reduction, tr = c.test.reduction;
    const chosen = JSON.stringify(t.chosen[c.method]) === JSON.stringify(c.params) ? ' **(chosen)**' : '';
    lines.push(`| ${c.method} | ${JSON.stringify(c.params)}${chosen} | ${f(c.valid.overall.mean)} ± ${f(c.valid.overall.std)} | ${f(c.valid.gap.mean)} ± ${f(c.valid.gap.std)} | ${sg(r.mean)} [${sg(r.lo)}, ${sg(r.hi)}] | ${c.valid.qualifies ? 'yes' : 'no'} | ${f(c.test.overall.mean)} ± ${f(c.test.overall.std)} | ${f(meanStd(c.test.gap).mean)} ± ${f(meanStd(c.test.gap).std)} | ${sg(tr.mean)} [${sg(tr.lo)}, ${sg(tr.hi)}] | ${c.test.pass ? 'PASS' : 'FAIL'} |`);
  }
  lines.push('', `Chosen: ${Object.entries(t.chosen).map(([m, p]) => `${m} ${JSON.stringify(p)}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    out: { help: 'output directory', default: 'runs/fair-synthetic-tune' },
    seeds: { help: 'number of seeds or a list', default: '5' },
    methods: { help: 'methods to tune', default: Object.keys(CANDIDATES).join(',') },
    data: { help: 'synthetic data spec', default: SYNTHETIC_GAP.data },
  }, 'usage: npx tsx src/experiments/synthetic-tune.ts [options]');
  const t0 = Date.now();
  const res = await tune(a.out!, parseSeeds(a.seeds!), a.methods!.split(','), a.data!);
  writeAtomic(path.join(a.out!, 'tune.json'), `${JSON.stringify(res, null, 1)}\n`);
  const md = tuneMarkdown(res);
  writeAtomic(path.join(a.out!, 'tune.md'), md);
  process.stdout.write(`${md}\nwrote ${path.join(a.out!, 'tune.md')} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`synthetic-tune: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
