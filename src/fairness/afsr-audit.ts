/**
 * What A-FSR acts on, for `seqfair audit`: per user, the group indicator â, the located
 * stereotypical span (positions and item ids) and the loss, computed by the very code path of
 * A-FSR's training step (firstPass in afsr-locate.ts), so the audit shows exactly what training
 * would have smoothed and up-weighted with these weights.
 *
 * The model runs in evaluation mode by default (no dropout: the audit is a deterministic reading
 * of the weights), restored to its previous mode afterwards; the loss is the full-softmax
 * per-sequence cross-entropy (src/train/losses.ts 'ce'). No parameter gradient is touched.
 */
import type { SequenceBatch } from '../data/batching.js';
import type { SequentialRecommender } from '../models/types.js';
import { makeContext } from '../train/context.js';
import { firstPass } from './afsr-locate.js';
import { AFSR_DEFAULTS } from './afsr.js';

export interface SpanAudit {
  /** user index */
  user: number;
  /** â: the largest embedding-gradient norm of the sequence (0 without a real item) */
  indicator: number;
  /** per-sequence loss (mean cross-entropy over the row's targets) */
  loss: number;
  /** i*: position of the largest norm in the padded input, −1 without a real item */
  center: number;
  /** i* counted from the newest input position (0 = the newest), −1 without a real item */
  centerFromEnd: number;
  /** the span's positions (real items only) and their item ids */
  positions: number[];
  items: number[];
}

export interface AuditOptions {
  /** 2s + 1 (default 3, as training) */
  spanSize?: number;
  /** run the model in training mode (dropout on); default false */
  training?: boolean;
}

/** Spans, â and losses of every row of `batches` (see the file comment). */
export function auditSpans(model: SequentialRecommender, batches: Iterable<SequenceBatch>, opts: AuditOptions = {}): SpanAudit[] {
  const spanSize = opts.spanSize ?? AFSR_DEFAULTS.spanSize;
  const wasTraining = model.training;
  model.train(opts.training ?? false);
  const out: SpanAudit[] = [];
  try {
    for (const batch of batches) {
      const ctx = makeContext(model, batch, 0, null);
      const { values, location: loc } = firstPass(ctx, spanSize, 'audit');
      const { L } = batch;
      for (let b = 0; b < batch.B; b++) {
        const positions: number[] = [];
        for (let l = 0; l < L; l++) if (loc.spanMask[b * L + l]) positions.push(l);
        out.push({
          user: batch.users[b]!, indicator: loc.indicator[b]!, loss: values[b]!, center: loc.center[b]!,
          centerFromEnd: loc.center[b]! < 0 ? -1 : L - 1 - loc.center[b]!,
          positions, items: positions.map((l) => batch.inputs[b * L + l]!),
        });
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}

/** How often each item occurs in the located spans, most frequent first (ties by item id). */
export function spanItemCounts(records: readonly SpanAudit[]): { item: number; count: number }[] {
  const counts = new Map<number, number>();
  for (const r of records) for (const i of r.items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].map(([item, count]) => ({ item, count })).sort((a, b) => b.count - a.count || a.item - b.item);
}
