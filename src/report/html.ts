/**
 * index.html: the report in one self-contained page — the tables and the SVG charts inline, the
 * style in a <style> element; no script, no external font, image or stylesheet, so it opens
 * offline and renders the same in any browser.
 */
import { prefixSvgIds } from './charts.js';
import type { ReportSummary } from './summary.js';
import { type Table, htmlEscape, tableHtml } from './tables.js';

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { font-size: 1.05rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 0.5rem 0 0.3rem; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.5rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:nth-child(-n+2), th:nth-child(-n+2) { text-align: left; }
td.best { background: #eef6ee; }
.caption { color: #555; font-size: 0.85rem; margin: 0.2rem 0 0.4rem; }
.scroll { overflow-x: auto; }
figure { display: inline-block; margin: 0.5rem 1rem 1rem 0; vertical-align: top; }
figcaption { color: #555; font-size: 0.8rem; max-width: 560px; }
ul.conventions { color: #444; font-size: 0.9rem; }
`;

export interface InlineChart {
  file: string;
  section: string;
  title: string;
  svg: string;
}

export function reportHtml(rep: ReportSummary, tables: readonly Table[], charts: readonly InlineChart[]): string {
  const datasets = [...new Set(rep.sections.map((s) => s.dataset))].join(', ');
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>seqfair report: ${htmlEscape(datasets)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>seqfair report: ${htmlEscape(datasets)}</h1>`,
    `<p>${rep.runs} runs${rep.source ? ` from <code>${htmlEscape(rep.source)}</code>` : ''}.</p>`,
    `<ul class="conventions">${rep.conventions.map((c) => `<li>${htmlEscape(c)}</li>`).join('')}</ul>`,
  ];
  for (const s of rep.sections) {
    out.push(`<section id="${htmlEscape(s.id)}">`, `<h2>${htmlEscape(s.label)}</h2>`);
    for (const t of tables.filter((x) => x.section === s.id)) {
      out.push(`<h3>${htmlEscape(t.title)}</h3>`, `<p class="caption">${htmlEscape(t.caption)}</p>`, `<div class="scroll">${tableHtml(t)}</div>`);
    }
    const cs = charts.filter((c) => c.section === s.id);
    if (cs.length > 0) {
      out.push('<h3>Charts</h3>', '<div class="charts">');
      cs.forEach((c) => {
        const prefix = `c${charts.indexOf(c)}-`;
        out.push(`<figure class="chart" data-file="${htmlEscape(c.file)}">${prefixSvgIds(c.svg, prefix)}<figcaption>${htmlEscape(c.title)}</figcaption></figure>`);
      });
      out.push('</div>');
    }
    out.push('</section>');
  }
  out.push('</body>', '</html>', '');
  return out.join('\n');
}
