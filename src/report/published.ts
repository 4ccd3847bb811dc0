/**
 * Published ML-100K numbers of the unfairness-free backbones ("Naive"/ERM), shown beside seqfair's
 * own in `seqfair compare` / `seqfair report` so that a reader can check them without leaving the
 * report:
 *
 *   paper       A-FSR (Zeng et al., SIGIR 2024), Table 3, Naive rows on ML-100K, 100 sampled
 *               negatives (the paper does not say how they were drawn, so its row stands beside
 *               both sampled protocols);
 *   reference   an independent PyTorch implementation run on this project's machine (issue 3:
 *               hidden 64, 2 blocks, 2 heads, max length 50, AdamW lr 1e-3, weight decay 0.01,
 *               batch 64, early stopping on validation NDCG@5, 5 seeds); its full-ranking row
 *               excluded the user's history items, as seqfair's `full-unseen` protocol does.
 *
 * These are citations, typed once here; every seqfair number in the table is read from the runs.
 */
import type { RowSummary, SectionSummary } from './summary.js';

export interface PublishedValue {
  mean: number;
  /** standard deviation over seeds; undefined where the source gives one run */
  std?: number;
}

export interface PublishedRow {
  source: 'paper' | 'reference';
  model: string;
  /** the section it belongs beside: protocol and, for sampled ranking, the negatives */
  protocol: 'sampled' | 'full-unseen';
  /** undefined: the source does not say (the row stands beside every sampled section) */
  negatives?: 'popularity' | 'uniform';
  metrics: Record<string, PublishedValue>;
}

const v = (mean: number, std?: number): PublishedValue => (std === undefined ? { mean } : { mean, std });

export const PUBLISHED_ML100K: readonly PublishedRow[] = [
  { source: 'paper', model: 'sasrec', protocol: 'sampled', metrics: { 'recall@5': v(0.358, 0.014), 'ndcg@5': v(0.236, 0.012) } },
  { source: 'paper', model: 'bert4rec', protocol: 'sampled', metrics: { 'recall@5': v(0.366, 0.011), 'ndcg@5': v(0.238, 0.004) } },
  { source: 'paper', model: 'narm', protocol: 'sampled', metrics: { 'recall@5': v(0.483, 0.005), 'ndcg@5': v(0.335, 0.004) } },
  { source: 'reference', model: 'sasrec', protocol: 'sampled', negatives: 'uniform', metrics: { 'recall@5': v(0.550, 0.003), 'ndcg@5': v(0.385, 0.003) } },
  { source: 'reference', model: 'sasrec', protocol: 'sampled', negatives: 'popularity', metrics: { 'recall@5': v(0.340, 0.010), 'ndcg@5': v(0.229, 0.008) } },
  { source: 'reference', model: 'sasrec', protocol: 'full-unseen', metrics: { 'recall@20': v(0.287, 0.009), 'ndcg@20': v(0.122, 0.003) } },
  { source: 'reference', model: 'bert4rec', protocol: 'sampled', negatives: 'uniform', metrics: { 'recall@5': v(0.533, 0.005), 'ndcg@5': v(0.377, 0.006) } },
  { source: 'reference', model: 'bert4rec', protocol: 'sampled', negatives: 'popularity', metrics: { 'recall@5': v(0.316, 0.010), 'ndcg@5': v(0.211, 0.009) } },
  { source: 'reference', model: 'bert4rec', protocol: 'full-unseen', metrics: { 'recall@20': v(0.273, 0.015), 'ndcg@20': v(0.115, 0.007) } },
  { source: 'reference', model: 'narm', protocol: 'sampled', negatives: 'uniform', metrics: { 'recall@5': v(0.512), 'ndcg@5': v(0.354) } },
  { source: 'reference', model: 'narm', protocol: 'sampled', negatives: 'popularity', metrics: { 'recall@5': v(0.267), 'ndcg@5': v(0.171) } },
];

/** The method whose rows the published numbers describe (the papers' "Naive"). */
export const PUBLISHED_METHOD = 'erm';

/** The published rows that stand beside one report section (none unless it is ML-100K). */
export function publishedFor(sec: Pick<SectionSummary, 'dataset' | 'protocol' | 'negatives'>, model: string): PublishedRow[] {
  if (sec.dataset !== 'ml-100k') return [];
  return PUBLISHED_ML100K.filter((p) => p.model === model && p.protocol === sec.protocol
    && (p.negatives === undefined || p.negatives === (sec.negatives ?? 'popularity')));
}

export interface PublishedCheck {
  source: PublishedRow['source'];
  metric: string;
  published: PublishedValue;
  /** seqfair's mean − the published mean */
  diff: number;
  /**
   * "at least the published number within two of its standard deviations": mean ≥ published −
   * 2·std (one-sided: more accurate passes); null where the source gives no std.
   */
  withinTwoStd: boolean | null;
}

/** seqfair's row against each published number for its model and section. */
export function checkPublished(sec: Pick<SectionSummary, 'dataset' | 'protocol' | 'negatives'>, row: Pick<RowSummary, 'model' | 'overall'>): PublishedCheck[] {
  const out: PublishedCheck[] = [];
  for (const p of publishedFor(sec, row.model)) {
    for (const [metric, published] of Object.entries(p.metrics)) {
      const ours = row.overall[metric];
      if (ours === undefined || ours.n === 0) continue;
      const diff = ours.mean - published.mean;
      out.push({ source: p.source, metric, published, diff, withinTwoStd: published.std === undefined ? null : diff >= -2 * published.std });
    }
  }
  return out;
}

/** "R@5 0.358 ± 0.014" style label of a published value. */
export function publishedText(p: PublishedValue, digits = 3): string {
  return p.std === undefined ? p.mean.toFixed(digits) : `${p.mean.toFixed(digits)} ± ${p.std.toFixed(digits)}`;
}
