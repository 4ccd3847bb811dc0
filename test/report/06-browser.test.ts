/**
 * The HTML report in headless Chromium: it loads from file:// with no network request, no console
 * error and no page error, its tables show the marks, and every inlined SVG chart — and the marks
 * inside it (bars, points, error bars) and its axis text — has a non-zero bounding box.
 *
 * Needs Debian's `chromium` package (`apt-get install -y chromium`; .ci/run installs it) driven by
 * playwright-core. Without it this test FAILS and says how to install it, unless
 * SEQFAIR_SKIP_BROWSER=1 is set explicitly. SEQFAIR_CHROMIUM overrides the executable path.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/index.js';
import { fakeGrid, writeResultsDir } from './fixture.js';

const CHROMIUM = process.env.SEQFAIR_CHROMIUM ?? '/usr/bin/chromium';
const SKIP = process.env.SEQFAIR_SKIP_BROWSER === '1';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

interface ChartBox {
  file: string;
  width: number;
  height: number;
  marks: number;
  visibleMarks: number;
  axisTexts: string[];
}

describe.skipIf(SKIP)('1. HTML report in headless Chromium', () => {
  it('renders its charts with no console errors and no network', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `headless Chromium not found at ${CHROMIUM}. Install Debian's chromium package: ` +
        '`sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y chromium` ' +
        '(or point SEQFAIR_CHROMIUM at a Chromium executable). To skip this test on purpose, set SEQFAIR_SKIP_BROWSER=1.',
      );
    }
    const dir = writeResultsDir(fakeGrid());
    const rep = await writeReport(path.join(dir, 'results.json'), dir, { fairnessMetrics: ['recall@5', 'ndcg@20'], bootstrap: false });
    const profile = mkdtempSync(path.join(tmpdir(), 'seqfair-chromium-')); // a fresh --user-data-dir
    // playwright passes the profile as --user-data-dir itself (it refuses that flag in args)
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 900 } });
    try {
      const problems: string[] = [];
      const requests: string[] = [];
      await context.route('**/*', async (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
        requests.push(url);
        return route.abort();
      });
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      const res = await page.goto(pathToFileURL(rep.html).href, { waitUntil: 'load' });
      expect(res?.ok() ?? true).toBe(true);

      expect(await page.title()).toBe('seqfair report: synthetic');
      expect(await page.locator('table').count()).toBeGreaterThanOrEqual(5);
      expect(await page.locator('td.best strong').count()).toBeGreaterThan(0);
      expect(await page.locator('td.second u').count()).toBeGreaterThan(0);

      const boxes: ChartBox[] = await page.$$eval('figure.chart', (figs) => figs.map((f) => {
        const svg = f.querySelector('svg')!;
        const r = svg.getBoundingClientRect();
        const marks = [...svg.querySelectorAll('g.mark-rect path, g.mark-symbol path, g.mark-rule line')] as SVGGraphicsElement[];
        const visible = marks.filter((m) => {
          const b = m.getBoundingClientRect();
          return b.width > 0 || b.height > 0;
        });
        const axisTexts = ([...svg.querySelectorAll('g.role-axis-title text, g.role-axis-label text')] as SVGGraphicsElement[])
          .filter((t) => t.getBoundingClientRect().width > 0)
          .map((t) => t.textContent ?? '');
        return { file: f.getAttribute('data-file') ?? '', width: r.width, height: r.height, marks: marks.length, visibleMarks: visible.length, axisTexts };
      }));
      expect(boxes.map((b) => b.file).sort()).toEqual(readdirSync(path.join(dir, 'charts')).sort());
      for (const b of boxes) {
        expect(b.width, b.file).toBeGreaterThan(100);
        expect(b.height, b.file).toBeGreaterThan(100);
        expect(b.marks, b.file).toBeGreaterThan(0);
        expect(b.visibleMarks, b.file).toBe(b.marks);
        expect(b.axisTexts.length, b.file).toBeGreaterThan(3);
      }
      const bars = boxes.find((b) => b.file.includes('-groups-group-recall-at-5'))!;
      expect(bars.axisTexts).toEqual(expect.arrayContaining(['majority', 'minority', 'R@5 (mean ± std)']));
      const gap = boxes.find((b) => b.file.includes('-gap-group-recall-at-5'))!;
      expect(gap.axisTexts).toEqual(expect.arrayContaining(['overall R@5', 'gap R@5 (lower is fairer)']));
      expect(problems).toEqual([]);
      expect(requests).toEqual([]);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
