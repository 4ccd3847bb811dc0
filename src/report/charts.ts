/**
 * SVG charts of a ReportSummary: Vega-Lite specs compiled to Vega and rendered headless in Node
 * (`new View(…, { renderer: 'none' }).toSVG()`: the SVG renderer needs no canvas; text widths are
 * estimated), one pair per section × grouping × fairness metric:
 *
 *   groups  per-group metric bars, one bar per method, grouped by group, one panel per model, with
 *           ± std error bars over seeds
 *   gap     fairness gap (max − min over groups) against overall accuracy, one point per
 *           model × method, with ± std error bars on both axes
 *
 * Error bars are left out where a row has a single seed (no std).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { type ReportSummary, type SectionSummary, metricLabel } from './summary.js';

export interface ChartSpec {
  /** file name under charts/ */
  file: string;
  section: string;
  kind: 'groups' | 'gap';
  grouping: string;
  metric: string;
  title: string;
  spec: TopLevelSpec;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/@/g, '-at-').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

const fin = (x: number): number | null => (Number.isFinite(x) ? x : null);

function errorBounds(mean: number, std: number): { lo: number | null; hi: number | null } {
  return Number.isFinite(mean) && Number.isFinite(std) ? { lo: mean - std, hi: mean + std } : { lo: null, hi: null };
}

const CONFIG = { font: 'sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } };

function groupsChart(sec: SectionSummary, grouping: string, groups: string[], metric: string): ChartSpec {
  const values: Record<string, unknown>[] = [];
  for (const r of sec.rows) {
    for (const l of groups) {
      const s = r.groupings[grouping]?.perGroup[l]?.[metric];
      if (s === undefined || s.n === 0) continue;
      values.push({ model: r.model, method: r.method, group: l, mean: fin(s.mean), std: fin(s.std), n: s.n, ...errorBounds(s.mean, s.std) });
    }
  }
  const label = metricLabel(metric);
  const title = `${label} by ${grouping} (mean ± std over seeds)`;
  const x = { field: 'group', type: 'nominal', sort: groups, title: grouping, axis: { labelAngle: 0 } } as const;
  const xOffset = { field: 'method', type: 'nominal', sort: sec.methods } as const;
  const methodsPerModel = Math.max(1, ...sec.models.map((m) => sec.rows.filter((r) => r.model === m).length));
  const spec = {
    title: { text: title, subtitle: sec.label },
    data: { values },
    facet: { column: { field: 'model', type: 'nominal', sort: sec.models, title: 'model' } },
    spec: {
      width: Math.max(160, groups.length * methodsPerModel * 16 + groups.length * 12),
      height: 220,
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            x, xOffset,
            y: { field: 'mean', type: 'quantitative', title: `${label} (mean ± std)` },
            color: { field: 'method', type: 'nominal', sort: sec.methods, title: 'method' },
            tooltip: [{ field: 'method' }, { field: 'group' }, { field: 'mean', format: '.4f' }, { field: 'std', format: '.4f' }, { field: 'n', title: 'seeds' }],
          },
        },
        {
          transform: [{ filter: 'isValid(datum.lo)' }],
          mark: { type: 'rule', color: '#222', strokeWidth: 1.2 },
          encoding: { x, xOffset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        },
      ],
    },
    config: CONFIG,
  } as unknown as TopLevelSpec;
  return { file: `${sec.id}-groups-${slug(grouping)}-${slug(metric)}.svg`, section: sec.id, kind: 'groups', grouping, metric, title: `${title}, ${sec.label}`, spec };
}

function gapChart(sec: SectionSummary, grouping: string, metric: string): ChartSpec {
  const values: Record<string, unknown>[] = [];
  for (const r of sec.rows) {
    const o = r.overall[metric];
    const g = r.groupings[grouping]?.gap[metric];
    if (o === undefined || g === undefined || o.n === 0 || g.n === 0) continue;
    const xb = errorBounds(o.mean, o.std), yb = errorBounds(g.mean, g.std);
    values.push({ model: r.model, method: r.method, x: fin(o.mean), y: fin(g.mean), xlo: xb.lo, xhi: xb.hi, ylo: yb.lo, yhi: yb.hi });
  }
  const label = metricLabel(metric);
  const title = `${label}: gap across ${grouping} vs overall (mean ± std over seeds)`;
  const color = { field: 'method', type: 'nominal', sort: sec.methods, title: 'method' } as const;
  const xEnc = { field: 'x', type: 'quantitative', title: `overall ${label}`, scale: { zero: false, nice: true } } as const;
  const yEnc = { field: 'y', type: 'quantitative', title: `gap ${label} (lower is fairer)`, scale: { zero: false, nice: true } } as const;
  const spec = {
    title: { text: title, subtitle: sec.label },
    data: { values },
    width: 360,
    height: 260,
    layer: [
      {
        transform: [{ filter: 'isValid(datum.xlo)' }],
        mark: { type: 'rule', strokeWidth: 1.2 },
        encoding: { x: { field: 'xlo', type: 'quantitative' }, x2: { field: 'xhi' }, y: { field: 'y', type: 'quantitative' }, color },
      },
      {
        transform: [{ filter: 'isValid(datum.ylo)' }],
        mark: { type: 'rule', strokeWidth: 1.2 },
        encoding: { y: { field: 'ylo', type: 'quantitative' }, y2: { field: 'yhi' }, x: { field: 'x', type: 'quantitative' }, color },
      },
      {
        mark: { type: 'point', filled: true, size: 90, opacity: 1 },
        encoding: {
          x: xEnc, y: yEnc, color,
          shape: { field: 'model', type: 'nominal', sort: sec.models, title: 'model' },
          tooltip: [{ field: 'model' }, { field: 'method' }, { field: 'x', title: `overall ${label}`, format: '.4f' }, { field: 'y', title: 'gap', format: '.4f' }],
        },
      },
    ],
    config: CONFIG,
  } as unknown as TopLevelSpec;
  return { file: `${sec.id}-gap-${slug(grouping)}-${slug(metric)}.svg`, section: sec.id, kind: 'gap', grouping, metric, title: `${title}, ${sec.label}`, spec };
}

/** The Vega-Lite specs of every chart of a report (see the file comment). */
export function chartSpecs(rep: ReportSummary): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const sec of rep.sections) {
    for (const g of sec.groupings) {
      for (const m of sec.fairnessMetrics) {
        out.push(groupsChart(sec, g.name, g.groups, m));
        out.push(gapChart(sec, g.name, m));
      }
    }
  }
  // file names come from slugs: two groupings that differ only in punctuation must not collide
  const seen = new Map<string, number>();
  for (const c of out) {
    const n = seen.get(c.file) ?? 0;
    seen.set(c.file, n + 1);
    if (n > 0) c.file = c.file.replace(/\.svg$/, `-${n + 1}.svg`);
  }
  return out;
}

/**
 * Renders a Vega-Lite spec to an SVG string, headless, without touching the network. Vega logs
 * the errors of a dataflow (a failed data load, a bad expression) instead of failing the render:
 * they are collected here and thrown, so a broken chart is never written.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile(spec).spec;
  const errors: string[] = [];
  const logger = vega.logger(vega.Error, 'error', (_method, _level, args) => {
    errors.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  });
  // a loader that refuses to fetch: every chart's data is inline
  const loader = vega.loader();
  loader.load = async (uri: string) => {
    // vega only warns about a failed load: remember it and fail the render below
    errors.push(`report charts load no external data (asked for ${uri})`);
    throw new Error(errors[errors.length - 1]);
  };
  const view = new vega.View(vega.parse(vg), { renderer: 'none', loader, logger });
  try {
    const svg = await view.toSVG();
    if (errors.length > 0) throw new Error(`vega: ${errors.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}

/**
 * Makes the ids of an SVG unique before several are inlined into one HTML page (`clip1` of one
 * chart would otherwise resolve to the first chart's clip path).
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]!);
  if (ids.size === 0) return svg;
  return svg.replace(/(\sid=")([^"]+)(")|(url\(#)([^)]+)(\))|(href="#)([^"]+)(")/g, (all, a1, id1, a3, b1, id2, b3, c1, id3, c3) => {
    if (id1 !== undefined) return ids.has(id1) ? `${a1}${prefix}${id1}${a3}` : all;
    if (id2 !== undefined) return ids.has(id2) ? `${b1}${prefix}${id2}${b3}` : all;
    return ids.has(id3) ? `${c1}${prefix}${id3}${c3}` : all;
  });
}
