/**
 * Why a method does or does not narrow the synthetic planted gap: two readings of a finished
 * synthetic-gap directory (src/experiments/synthetic-gap.ts), using the generator's planted truth
 * (src/data/synthetic.ts SyntheticTruth, never seen by training):
 *
 *   1. where the gap is: test Recall@5 per group split by the kind of the test target (a
 *      stereotypical item, an item of the user's own pool, of the other group's pool) and by
 *      whether the item before it was stereotypical — the planted divergence is "after a
 *      stereotypical item s the majority goes to follow-up(s), the minority resumes its chain";
 *   2. what A-FSR's locator sees (src/fairness/afsr-audit.ts, the training code path) on each
 *      run's final weights over the training sequences: how well the group indicator â (and, for
 *      comparison, the per-sequence loss that CVaR ranks by) separates the minority (AUC), the
 *      minority share of the top-M rows by â per batch (what A-FSR's DRO term up-weights), and how
 *      often the located span is centred on a stereotypical item, per group.
 *
 *   npx tsx src/experiments/synthetic-diagnose.ts --dir runs/fair-synthetic
 *
 * writes <dir>/diagnose.md and <dir>/diagnose.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultEntry } from '../compare/index.js';
import { buildModel, loadDataSpec, parseDataSpec } from '../compare/index.js';
import { trainingBatches } from '../data/batching.js';
import { generateSynthetic, type SyntheticOptions } from '../data/synthetic.js';
import { auditSpans } from '../fairness/afsr-audit.js';
import { loadModel } from '../train/checkpoint.js';
import { isMain, parseArgs, readEntries, writeAtomic } from './common.js';

/** Mann–Whitney AUC of `score` for the positives (ties count one half). */
export function auc(score: readonly number[], positive: readonly boolean[]): number {
  const idx = score.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  // average ranks with ties
  const rank = new Float64Array(score.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    for (let k = i; k <= j; k++) rank[idx[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  let nPos = 0, sumPos = 0;
  positive.forEach((p, i) => { if (p) { nPos++; sumPos += rank[i]!; } });
  const nNeg = score.length - nPos;
  return nPos === 0 || nNeg === 0 ? Number.NaN : (sumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface Diagnosis {
  data: string;
  /** method → cell key (group/before/target) → { users per seed, Recall@5 } */
  cells: Record<string, Record<string, { usersPerSeed: number; recall5: number }>>;
  /** per run: the locator's view */
  locator: { method: string; seed: number; aucIndicator: number; aucLoss: number; topMShareMinority: number; minorityShare: number; spanOnStereotype: { minority: number; majority: number } }[];
}

export async function diagnose(dir: string, opts: { groupSize?: number; batchSize?: number } = {}): Promise<Diagnosis> {
  const entries: ResultEntry[] = readEntries(dir).filter((e) => e.protocol === 'full-unseen');
  if (entries.length === 0) throw new Error(`${dir}: no full-unseen entries in results.json`);
  const data = (entries[0]!.config as { data: string }).data;
  const spec = parseDataSpec(data);
  if (spec.kind !== 'synthetic') throw new Error(`${dir}: data ${data} is not synthetic`);
  const ds = await loadDataSpec(spec);
  const { truth } = generateSynthetic(spec.options as SyntheticOptions);
  const kind = (item: number): string => truth.itemKind[Number(ds.itemIds[item])]!;
  const group = (u: number): string => ds.userAttributes[u]!.group!;

  const acc: Record<string, Record<string, { hits: number; n: number }>> = {};
  const seedsOf: Record<string, Set<number>> = {};
  for (const e of entries) {
    const pu = JSON.parse(readFileSync(path.join(dir, e.per_user as string), 'utf8')) as { users: number[]; protocols: Record<string, { test: { ranks: number[] } }> };
    const ranks = pu.protocols['full-unseen']!.test.ranks;
    (seedsOf[e.method] ??= new Set()).add(e.seed);
    pu.users.forEach((u, i) => {
      const g = group(u);
      const before = ds.validTarget[u]! > 0 ? ds.validTarget[u]! : ds.train[u]![ds.train[u]!.length - 1]!;
      const t = kind(ds.testTarget[u]!);
      const key = `${g} / ${kind(before) === 'stereotype' ? 'after s' : 'other'} / target ${t === 'stereotype' ? 's' : t === g ? 'own pool' : 'other pool'}`;
      const c = ((acc[e.method] ??= {})[key] ??= { hits: 0, n: 0 });
      c.n++;
      if (ranks[i]! < 5) c.hits++;
    });
  }
  const cells: Diagnosis['cells'] = {};
  for (const [m, byKey] of Object.entries(acc)) {
    cells[m] = {};
    for (const k of Object.keys(byKey).sort()) cells[m][k] = { usersPerSeed: byKey[k]!.n / seedsOf[m]!.size, recall5: byKey[k]!.hits / byKey[k]!.n };
  }

  const groupSize = opts.groupSize ?? 5;
  const locator: Diagnosis['locator'] = [];
  for (const e of entries) {
    const cfg = e.config as { model: Record<string, unknown>; train: { batchSize: number; maxLen: number } };
    const { name: _n, ffnMultiple: _f, numParameters: _p, ...modelOptions } = cfg.model;
    const model = buildModel(e.model, ds, e.seed, modelOptions);
    loadModel(model, path.join(dir, e.run_dir as string, 'checkpoint', 'last', 'model.safetensors'));
    const B = opts.batchSize ?? cfg.train.batchSize;
    const a = auditSpans(model, trainingBatches(ds, model.targetKind === 'cloze' ? 'cloze' : 'next', { batchSize: B, maxLen: cfg.train.maxLen, seed: e.seed, epoch: 0 }));
    const minority = a.map((x) => group(x.user) === 'minority');
    let top = 0, topMin = 0;
    for (let b = 0; b < a.length; b += B) {
      const block = a.slice(b, b + B).map((x, i) => [x.indicator, b + i] as const).sort((p, q) => q[0] - p[0]).slice(0, groupSize);
      top += block.length;
      topMin += block.filter(([, i]) => minority[i]).length;
    }
    const onS = a.map((x) => {
      const j = x.positions.indexOf(x.center);
      return j >= 0 && kind(x.items[j]!) === 'stereotype';
    });
    const share = (want: boolean): number => onS.filter((s, i) => s && minority[i] === want).length / minority.filter((m) => m === want).length;
    locator.push({
      method: e.method, seed: e.seed, aucIndicator: auc(a.map((x) => x.indicator), minority), aucLoss: auc(a.map((x) => x.loss), minority),
      topMShareMinority: topMin / top, minorityShare: minority.filter(Boolean).length / minority.length,
      spanOnStereotype: { minority: share(true), majority: share(false) },
    });
  }
  return { data, cells, locator };
}

const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');

export function diagnoseMarkdown(d: Diagnosis): string {
  const methods = Object.keys(d.cells);
  const keys = [...new Set(methods.flatMap((m) => Object.keys(d.cells[m]!)))].sort();
  const lines = [
    `# Synthetic planted gap: where it is and what A-FSR's locator sees (${d.data})`,
    '',
    '## 1. Test Recall@5 (full-unseen) by group, item before the target, and target kind (pooled over seeds)',
    '',
    `| group / before / target | users per seed | ${methods.join(' | ')} |`,
    `|---|---|${methods.map(() => '---').join('|')}|`,
  ];
  for (const k of keys) lines.push(`| ${k} | ${f(d.cells[methods[0]!]![k]?.usersPerSeed ?? Number.NaN)} | ${methods.map((m) => f(d.cells[m]![k]?.recall5 ?? Number.NaN)).join(' | ')} |`);
  lines.push('', '## 2. A-FSR\'s locator on each run\'s final weights (training sequences, one epoch of batches)', '',
    '| method | seed | AUC(â → minority) | AUC(loss → minority) | minority share of top-M by â (base) | span centred on s: minority / majority |', '|---|---|---|---|---|---|');
  for (const l of d.locator) lines.push(`| ${l.method} | ${l.seed} | ${f(l.aucIndicator)} | ${f(l.aucLoss)} | ${f(l.topMShareMinority)} (${f(l.minorityShare)}) | ${f(l.spanOnStereotype.minority)} / ${f(l.spanOnStereotype.majority)} |`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { dir: { help: 'a synthetic-gap output directory', default: 'runs/fair-synthetic' } }, 'usage: npx tsx src/experiments/synthetic-diagnose.ts [options]');
  const d = await diagnose(a.dir!);
  writeAtomic(path.join(a.dir!, 'diagnose.json'), `${JSON.stringify(d, null, 1)}\n`);
  const md = diagnoseMarkdown(d);
  writeAtomic(path.join(a.dir!, 'diagnose.md'), md);
  process.stdout.write(md);
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`synthetic-diagnose: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
