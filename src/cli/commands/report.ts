/**
 * `seqfair report <dir>`: rebuilds the tables (summary.md, summary.csv, summary.json), the SVG
 * charts (charts/) and the HTML report (index.html) from `<dir>/results.json` (src/report).
 *
 * Exit status: 0 written, 1 failed while writing, 2 usage (no such directory, no results.json,
 * a results.json that is not JSON or breaks the contract — the message names the bad fields —, a
 * bad option).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Command, CommanderError } from 'commander';
import { metricKey } from '../../eval/fairness-stats.js';
import { ResultsError, readResults, writeReport } from '../../report/index.js';

function usage(cmd: Command, message: string): never {
  cmd.error(`error: ${message}`, { exitCode: 2, code: 'seqfair.usage' });
  throw new CommanderError(2, 'seqfair.usage', message); // unreachable: error() throws under exitOverride
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '');

export function registerReport(program: Command): void {
  const cmd = program.command('report')
    .description('rebuild the tables, SVG charts and HTML report of a compare directory from its results.json')
    .argument('<dir>', 'a directory with results.json (the --out of seqfair compare)')
    .option('--out <dir>', 'where to write the report (default: <dir>)')
    .option('--metrics <list>', 'accuracy columns (default: recall@k and ndcg@k for k = 3, 5, 10, 20 present)', list)
    .option('--fairness-metrics <list>', 'metrics of the gap / worst-group columns and charts (default: recall@5, ndcg@5, ndcg@20 present)', list)
    .option('--baseline <method>', 'method the others are compared with, paired by seed', 'erm')
    .option('--json', 'print the structured summary (and the files written) as JSON');
  cmd.addHelpText('after', `
Writes <out>/summary.md, summary.csv, summary.json, charts/*.svg and index.html.

Examples:
  seqfair report runs/ml100k
  seqfair report runs/synthetic --fairness-metrics recall@5,ndcg@20 --out runs/synthetic/report
  seqfair report runs/ml100k --json > summary.json`);
  cmd.action(async (dir: string, opts: { out?: string; metrics?: string[]; fairnessMetrics?: string[]; baseline: string; json?: boolean }) => {
    if (!existsSync(dir)) usage(cmd, `no such directory: ${dir}`);
    if (!statSync(dir).isDirectory()) usage(cmd, `${dir} is not a directory (expected the directory that holds results.json)`);
    const file = path.join(dir, 'results.json');
    let results;
    try {
      results = readResults(file);
    } catch (e) {
      if (e instanceof ResultsError) usage(cmd, e.message);
      throw e;
    }
    for (const [flag, names] of [['--metrics', opts.metrics], ['--fairness-metrics', opts.fairnessMetrics]] as const) {
      if (names === undefined) continue;
      if (names.length === 0) usage(cmd, `${flag}: expected a comma-separated list of metrics`);
      for (const m of names) {
        try {
          metricKey(m);
        } catch (e) {
          usage(cmd, `${flag}: ${(e as Error).message}`);
        }
      }
    }
    const written = await writeReport(results, opts.out ?? dir, { metrics: opts.metrics, fairnessMetrics: opts.fairnessMetrics, baseline: opts.baseline, source: file });
    const { summary, ...files } = written;
    if (opts.json) process.stdout.write(`${JSON.stringify({ files, summary })}\n`);
    else {
      process.stdout.write(`wrote ${files.markdown}, ${files.csv}, ${files.json}, ${files.html} and ${files.charts.length} charts in ${path.join(opts.out ?? dir, 'charts')}\n`);
    }
  });
}
