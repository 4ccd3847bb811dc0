/**
 * `seqfair audit`: what A-FSR acts on, read from a trained run (issue 4, part 4). For every user
 * with a training target, the training first pass of A-FSR (src/fairness/afsr-audit.ts, eval mode:
 * no dropout) gives the group indicator â (the largest per-position norm of ∂ℓ/∂z), the located
 * stereotypical span and the per-sequence loss. The audit lists
 *
 *   - the users with the largest â and those with the largest loss: their spans (positions counted
 *     from the newest input item, 0 = newest) with item ids and titles where the data has them;
 *   - the items that most often fall inside located spans across users;
 *   - for every grouping available for evaluation only (the synthetic data's `group`, MovieLens
 *     gender, or any --groups spec), the AUC of â — and of the loss, for comparison — for each group
 *     against the rest: the probability that a random member of the group has a larger value than
 *     a random non-member, ties counting one half. 0.5: â does not separate the group; 1: every
 *     member has a larger â than every non-member. Training never reads these attributes.
 *
 * Works on a run of any method (the indicator is a property of the weights, not of A-FSR's
 * training), so an ERM run shows what A-FSR would act on at its start.
 *
 * Exit status: 0 done, 1 failed, 2 usage (no run at the path, data that does not fit, bad option).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { intArg, listArg } from '../../compare/options.js';
import { trainingBatches } from '../../data/batching.js';
import type { Dataset } from '../../data/preprocess.js';
import { resolveGroupings } from '../../eval/groupings.js';
import { type SpanAudit, auditSpans, spanItemCounts } from '../../fairness/afsr-audit.js';
import { AFSR_DEFAULTS } from '../../fairness/afsr.js';
import { loadDataOption, usage } from './compare.js';
import { CheckpointError, alignTable, loadCheckpoint, runData } from './eval.js';

/**
 * Area under the ROC curve of `scores` for telling `positive` rows from the others: the
 * Mann–Whitney statistic P(s_pos > s_neg) + ½ P(s_pos = s_neg), from midranks (tied scores share
 * the mean of their ranks), O(n log n). NaN when either class is empty or a score is NaN.
 */
export function auc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  if (positive.length !== n) throw new RangeError(`auc: ${n} scores but ${positive.length} labels`);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i]!)) return Number.NaN;
    if (positive[i]) nPos++;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midrank = (i + j) / 2 + 1; // 1-based ranks i+1..j+1 share their mean
    for (let k = i; k <= j; k++) if (positive[order[k]!]) rankSumPos += midrank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface AuditOptions {
  checkpoint: string;
  /** a data spec (default: the run's) */
  data?: string;
  dataset?: Dataset;
  /** users and items listed (default 10) */
  top?: number;
  /** 2s + 1 (default: the run's A-FSR spanSize, else 3) */
  spanSize?: number;
  /**
   * groupings to measure â's separation on (default: every user attribute of the data set with
   * 2 to 10 distinct values)
   */
  groups?: readonly string[];
}

export interface AuditItem {
  id: string;
  title?: string;
}

export interface AuditUser {
  /** raw user id */
  user: string;
  indicator: number;
  loss: number;
  /** span positions counted from the newest input item (0 = newest), oldest first */
  span_from_end: number[];
  items: AuditItem[];
  /** the user's attributes (evaluation only) */
  attributes: Record<string, string>;
}

export interface AuditReport {
  checkpoint: string;
  weights: string;
  run: { key: string; model: string; method: string; seed: number; dataset: string };
  dataset: string;
  span_size: number;
  /** users audited (those with a training target) */
  users: number;
  top_indicator: AuditUser[];
  top_loss: AuditUser[];
  /** items most often inside a located span: count of spans, share of audited users, training popularity */
  span_items: (AuditItem & { count: number; share: number; popularity: number })[];
  /** per grouping and group: users, AUC of â and of the loss for the group against the rest */
  separation: { grouping: string; groups: { group: string; users: number; auc_indicator: number; auc_loss: number }[] }[];
}

/** The groupings audited by default: user attributes with 2 to 10 distinct values. */
export function defaultAuditGroupings(ds: Dataset): string[] {
  return ds.attributeNames.filter((a) => {
    const values = new Set(ds.userAttributes.map((u) => u[a]));
    return values.size >= 2 && values.size <= 10;
  });
}

function item(ds: Dataset, i: number): AuditItem {
  const title = ds.itemTitles?.[i];
  return title ? { id: ds.itemIds[i]!, title } : { id: ds.itemIds[i]! };
}

/** Runs the audit of a run's checkpoint (see the file comment). */
export async function auditCheckpoint(o: AuditOptions): Promise<AuditReport> {
  const top = o.top ?? 10;
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`audit: top must be a positive integer, got ${top}`);
  const { dataset: ds } = await runData(o.checkpoint, o.data, o.dataset);
  const ck = loadCheckpoint(o.checkpoint, ds);
  const params = ck.run.config.method?.params as { spanSize?: number } | undefined;
  const spanSize = o.spanSize ?? (ck.run.method.startsWith('afsr') && typeof params?.spanSize === 'number' ? params.spanSize : AFSR_DEFAULTS.spanSize);
  const t = ck.run.config.train;
  const batches = trainingBatches(ds, ck.model.targetKind, { batchSize: 128, maxLen: t.maxLen, seed: ck.run.seed, epoch: 0, shuffle: false, maskProb: t.maskProb });
  const recs = auditSpans(ck.model, batches, { spanSize });
  if (recs.length === 0) throw new Error(`audit: no user of ${ds.name} has a training target`);
  const L = Math.min(t.maxLen, ck.model.maxLen);
  const describe = (r: SpanAudit): AuditUser => ({
    user: ds.userIds[r.user]!, indicator: r.indicator, loss: r.loss,
    span_from_end: r.positions.map((p) => L - 1 - p), items: r.items.map((i) => item(ds, i)),
    attributes: { ...ds.userAttributes[r.user] },
  });
  const by = (f: (r: SpanAudit) => number): AuditUser[] => [...recs].sort((a, b) => f(b) - f(a) || a.user - b.user).slice(0, top).map(describe);
  const spanItems = spanItemCounts(recs).slice(0, top).map(({ item: i, count }) => ({ ...item(ds, i), count, share: count / recs.length, popularity: ds.itemPopularity[i]! }));
  const groupings = resolveGroupings(ds, o.groups ?? defaultAuditGroupings(ds));
  const indicator = Float64Array.from(recs, (r) => r.indicator);
  const loss = Float64Array.from(recs, (r) => r.loss);
  const separation = groupings.map((g) => {
    const labels = recs.map((r) => g.labels[r.user]!);
    const groups = [...new Set(labels)].sort().map((label) => {
      const member = labels.map((l) => l === label);
      return { group: label, users: member.filter(Boolean).length, auc_indicator: auc(indicator, member), auc_loss: auc(loss, member) };
    });
    return { grouping: g.name, groups };
  });
  return {
    checkpoint: o.checkpoint, weights: ck.weights,
    run: { key: ck.run.key, model: ck.run.model, method: ck.run.method, seed: ck.run.seed, dataset: ck.run.dataset },
    dataset: ds.name, span_size: spanSize, users: recs.length,
    top_indicator: by((r) => r.indicator), top_loss: by((r) => r.loss), span_items: spanItems, separation,
  };
}

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '–');
const itemText = (i: AuditItem): string => (i.title ? `${i.id} ${i.title}` : i.id);

/** alignTable over every column but the last, which is free text appended left-aligned. */
function withFreeText(rows: readonly (readonly string[])[], leftColumns: number): string {
  const lines = alignTable(rows.map((r) => r.slice(0, -1)), leftColumns).split('\n');
  return lines.map((l, i) => (i === 1 ? l : `${l}  ${rows[i === 0 ? 0 : i - 1]!.at(-1)}`.trimEnd())).join('\n');
}

function userLines(users: readonly AuditUser[], shown: readonly string[]): string {
  const rows = [['user', ...shown, 'â', 'loss', 'span (0 = newest)', 'span items']];
  for (const u of users) {
    const span = u.span_from_end.length ? `${Math.max(...u.span_from_end)}..${Math.min(...u.span_from_end)}` : '–';
    rows.push([u.user, ...shown.map((a) => u.attributes[a] ?? ''), f4(u.indicator), f4(u.loss), span, u.items.map(itemText).join(' | ')]);
  }
  return withFreeText(rows, 1 + shown.length);
}

/** The audit as text (see the file comment). */
export function auditText(r: AuditReport): string {
  const shown = r.separation.map((s) => s.grouping).filter((g) => r.top_indicator.some((u) => g in u.attributes));
  const out = [
    `A-FSR audit of ${r.run.model} ${r.run.method} seed ${r.run.seed} on ${r.dataset}: ${r.users} users, span size ${r.span_size}`,
    '',
    `Users with the largest group indicator â (the users A-FSR up-weights as the under-represented group):`,
    userLines(r.top_indicator, shown),
    '',
    'Users with the largest loss:',
    userLines(r.top_loss, shown),
    '',
    'Items most often inside a located span:',
    withFreeText([['item', 'spans', 'share of users', 'training count', r.span_items.some((i) => i.title) ? 'title' : ''],
      ...r.span_items.map((i) => [i.id, String(i.count), `${(100 * i.share).toFixed(1)}%`, String(i.popularity), i.title ?? ''])], 1),
  ];
  if (r.separation.length) {
    out.push('', 'How â separates the groups (attributes read for evaluation only): AUC of â, and of the loss, for each group vs the rest',
      '(0.5 = no separation; 1 = every member has a larger value than every non-member):');
    const rows = [['grouping', 'group', 'users', 'AUC(â)', 'AUC(loss)']];
    for (const s of r.separation) for (const g of s.groups) rows.push([s.grouping, g.group, String(g.users), f4(g.auc_indicator), f4(g.auc_loss)]);
    out.push(alignTable(rows, 2));
  } else {
    out.push('', 'No user attribute with 2 to 10 values to measure how â separates groups (give --groups).');
  }
  return out.join('\n');
}

export function registerAudit(program: Command): void {
  const cmd = program.command('audit')
    .description('what A-FSR acts on in a trained run: users with the largest group indicator â and loss, their located spans, the items most often in spans, and how â separates known groups (AUC)')
    .requiredOption('--checkpoint <dir>', 'the --out directory of seqfair train (or its checkpoint/, checkpoint/best, checkpoint/last)')
    .option('--data <spec>', 'ml-100k:<dir>, ml-1m:<dir>, csv:<file>[,users=<file>] or synthetic[:…] (default: the run\'s)')
    .option('--top <n>', 'users and items listed', intArg(1), 10)
    .option('--span-size <n>', 'span size 2s+1 (default: the run\'s A-FSR span size, else 3)', (v: string) => {
      const n = intArg(1)(v);
      if (n % 2 === 0) throw new InvalidArgumentError(`expected an odd integer >= 1 (2s+1), got '${v}'`);
      return n;
    })
    .option('--groups <list>', 'groupings to measure â against (default: attributes with 2..10 values, e.g. gender, group)', listArg)
    .option('--json', 'print the audit as JSON');
  cmd.addHelpText('after', `
Examples:
  seqfair train --data synthetic:numUsers=300 --method afsr --epochs 5 --groups group --out runs/afsr
  seqfair audit --checkpoint runs/afsr --top 5
  seqfair audit --checkpoint runs/sasrec-1 --data ml-100k:../shared/datasets/ml-100k --groups gender,popularity:2060 --json > audit.json

AUC of â for a group: P(â of a member > â of a non-member), ties counting one half.`);
  cmd.action(async (opts: { checkpoint: string; data?: string; top: number; spanSize?: number; groups?: string[]; json?: boolean }) => {
    const dataset = opts.data === undefined ? undefined : await loadDataOption(cmd, opts.data);
    let r: AuditReport;
    try {
      r = await auditCheckpoint({ checkpoint: opts.checkpoint, data: opts.data, dataset, top: opts.top, spanSize: opts.spanSize, groups: opts.groups });
    } catch (e) {
      if (e instanceof CheckpointError) usage(cmd, `--checkpoint: ${e.message}`);
      if (e instanceof RangeError && /grouping/.test(e.message)) usage(cmd, `--groups: ${e.message}`);
      throw e;
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${auditText(r)}\n`);
  });
}
