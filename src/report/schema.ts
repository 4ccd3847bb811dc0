/**
 * The results.json contract (issue 3, written by `seqfair compare`), checked with zod before a
 * report is built:
 *
 *   {"runs": [{"model", "method", "seed", "dataset", "protocol", "negatives"?, "config"?,
 *              "test": {"overall": {"recall@5": …, "ndcg@5": …, "mrr": …},
 *                       "groups": {"<grouping>": {"<group>": {…metrics…}}}}, …}]}
 *
 * Metric values are numbers or null (JSON has no NaN: the mean over an empty group is written as
 * null). Fields the report does not read (valid, epochs_trained, per_user, …) pass through
 * unchecked. A bad or missing field is named by its path with what was expected, e.g.
 * `runs[2].test.overall["recall@5"]: expected number or null, received string`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { z } from 'zod';

const metricRecord = z.record(z.string(), z.number().nullable());

export const RunSchema = z.looseObject({
  model: z.string().min(1),
  method: z.string().min(1),
  seed: z.number().int(),
  dataset: z.string().min(1),
  protocol: z.string().min(1),
  negatives: z.string().min(1).optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  test: z.looseObject({
    overall: metricRecord,
    groups: z.record(z.string(), z.record(z.string(), metricRecord)).default({}),
  }),
});

export const ResultsSchema = z.looseObject({
  runs: z.array(RunSchema).min(1, { message: 'no runs: expected at least one run' }),
});

export type ResultRun = z.infer<typeof RunSchema>;
export type ResultsFile = z.infer<typeof ResultsSchema>;

/** results.json is missing, unreadable, not JSON, or does not follow the contract. */
export class ResultsError extends Error {
  constructor(message: string, readonly problems: readonly string[] = []) {
    super(message);
    this.name = 'ResultsError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][\w$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out === '' ? '(top level)' : out;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const where = formatPath(issue.path);
  if (issue.code === 'invalid_type') {
    const p = issue.path;
    const isMetric = p[2] === 'test' && ((p[3] === 'overall' && p.length === 5) || (p[3] === 'groups' && p.length === 7));
    const expected = issue.expected === 'number' && isMetric ? 'number or null' : issue.expected;
    if (/received undefined$/.test(issue.message)) return `${where}: missing, expected ${expected}`;
    const got = /received (\w+)$/.exec(issue.message)?.[1] ?? 'something else';
    return `${where}: expected ${expected}, received ${got}`;
  }
  return `${where}: ${issue.message}`;
}

/** Checks parsed JSON against the contract; throws ResultsError naming every bad field (first 8). */
export function parseResults(data: unknown, source = 'results.json'): ResultsFile {
  const r = ResultsSchema.safeParse(data);
  if (!r.success) {
    const problems = r.error.issues.map(formatIssue);
    const shown = problems.slice(0, 8).join('\n  ');
    const more = problems.length > 8 ? `\n  (and ${problems.length - 8} more)` : '';
    throw new ResultsError(`${source} is not a valid results file:\n  ${shown}${more}`, problems);
  }
  // a seed twice in one cell would count twice in mean ± std and break the pairing by seed
  const seen = new Map<string, number>();
  r.data.runs.forEach((run, i) => {
    const key = JSON.stringify([run.dataset, run.protocol, run.negatives ?? null, run.model, run.method, run.seed]);
    const j = seen.get(key);
    if (j !== undefined) {
      throw new ResultsError(`${source} is not a valid results file:\n  runs[${i}]: repeats runs[${j}] (model ${run.model}, method ${run.method}, seed ${run.seed}, dataset ${run.dataset}, protocol ${run.protocol}${run.negatives ? `, negatives ${run.negatives}` : ''}); expected one run per seed`);
    }
    seen.set(key, i);
  });
  return r.data;
}

/** Reads and checks a results.json file (ResultsError when missing, not JSON or invalid). */
export function readResults(file: string): ResultsFile {
  if (!existsSync(file)) throw new ResultsError(`${file} does not exist (expected the results.json that seqfair compare writes)`);
  if (statSync(file).isDirectory()) throw new ResultsError(`${file} is a directory, expected a results.json file`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ResultsError(`${file} is not JSON: ${(e as Error).message}`);
  }
  return parseResults(data, file);
}
