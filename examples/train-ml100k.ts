/**
 * Train SASRec on MovieLens-100K and report NDCG@10 overall and by gender.
 *
 *   npx tsx examples/train-ml100k.ts
 *
 * Data: <root>/ml-100k (u.data, u.user, u.item), <root> = $SEQFAIR_DATA, else ../shared/datasets
 * next to the repository (the tests' convention). Without it the example says where it looked
 * and exits 0. SEQFAIR_EPOCHS sets the epochs (default 2, ~10 s each on two cores; the paper
 * trains up to 200 with early stopping).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, loadDataset, models, resolveGroupings, train } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(process.env.SEQFAIR_DATA ?? path.resolve(here, '..', '..', 'shared', 'datasets'), 'ml-100k');
if (!existsSync(path.join(dir, 'u.data'))) {
  console.log(`ML-100K not found: no u.data in ${dir}. Download it from https://grouplens.org/datasets/movielens/100k/ and set SEQFAIR_DATA to the directory that holds ml-100k/ to run this example.`);
  process.exit(0);
}

const data = await loadDataset(`ml-100k:${dir}`);
console.log(`${data.name}: ${data.numUsers} users, ${data.numItems} items`);

// SASRec as in A-FSR (2 blocks, 2 heads, 50 items of history), narrower to train in seconds
const model = models.create('sasrec', { numItems: data.numItems, hiddenSize: 32, maxLen: 50 });
const epochs = Number(process.env.SEQFAIR_EPOCHS ?? 2);
const result = train(model, data, {
  epochs, seed: 1, lr: 1e-3,
  validation: { metric: 'ndcg@10', protocol: { protocol: 'full', excludeSeen: true }, patience: 0 },
  log: (r) => console.log(`epoch ${r.epoch}: loss ${r.train_loss.toFixed(4)}, valid NDCG@10 ${r.valid?.['ndcg@10']?.toFixed(4)}`),
});

// the best epoch's weights are in the model now; test on every user's last item
const [gender] = resolveGroupings(data, ['gender']);
const ev = evaluate(model, data, { protocols: { protocol: 'full', excludeSeen: true }, groupings: { gender: gender!.labels } });
const full = ev.protocols['full-unseen']!;
console.log(`best epoch ${result.bestEpoch}; test NDCG@10 ${full.overall.ndcg[10]!.toFixed(4)} overall`);
for (const [g, s] of Object.entries(full.groups.gender!)) console.log(`  gender ${g}: NDCG@10 ${s.ndcg[10]!.toFixed(4)} (${s.count} users)`);
