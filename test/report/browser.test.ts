/**
 * The HTML reports in a real browser: Debian's chromium, headless, driven by playwright-core.
 * Every figure must draw (an SVG with marks), with no console error and no request other than
 * file: or data:. A screenshot of each figure lands in artifacts/report-screenshots/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { findChromium, writeReport } from '../../src/report/index.js';
import { packageRoot } from '../helpers.js';
import { type ReportCases, makeReportCases } from './cases.js';

const executable = findChromium();
const NO_BROWSER =
  'the browser tests of the HTML reports need chromium, and none was found: run bash scripts/test.sh (it installs it), ' +
  'or set MMBALANCE_CHROMIUM=/path/to/chromium';
const screenshots = join(packageRoot(), 'artifacts', 'report-screenshots');

let cases: ReportCases;
let browser: Browser;

before(async () => {
  // No chromium is a failure, not a skip: the report's promise is that it draws in a browser.
  if (executable === null) throw new Error(NO_BROWSER);
  cases = await makeReportCases();
  browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
  mkdirSync(screenshots, { recursive: true });
});

after(async () => {
  await browser?.close();
});

test('a chromium to drive is installed', () => {
  assert.ok(executable, NO_BROWSER);
});

/** The pages opened: between them every figure, one input and several overlaid. */
const CASES: Record<string, (c: ReportCases) => string[]> = {
  // Two clip runs overlaid (MLB, GMM), with the robustness.json in the MLB run's directory.
  clips: (c) => [c.mlb, c.gmm],
  // A method sweep and a modality sweep, with their runs.
  sweeps: (c) => [c.methods, c.subsets],
  // A conversation run beside a robustness file and a diagnosis.
  mixed: (c) => [c.ada2i, c.robustnessFile, c.diagnose],
};

// Vega draws each mark as a group (class mark-<type> role-mark) of path, line or rect elements.
const MARK_ITEMS = 'g.role-mark > path, g.role-mark > line, g.role-mark > rect';

for (const [name, paths] of Object.entries(CASES))
  test(`${name}: every figure draws offline in chromium`, async () => {
    const file = join(cases.root, 'browser', `${name}.html`);
    const written = await writeReport(paths(cases), file);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const refused: string[] = [];
    const errors: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (/^(file|data):/.test(url)) return route.continue();
      refused.push(url);
      return route.abort();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-rendered="all"]', { timeout: 60_000 });
      const manifest = JSON.parse((await page.locator('#mmb-manifest').textContent()) ?? '[]') as { id: string; title: string }[];
      assert.deepEqual(
        manifest.map((m) => m.id),
        written.figures,
      );
      assert.ok(manifest.length > 0);
      for (const { id } of manifest) {
        const figure = page.locator(`figure[data-figure="${id}"]`);
        assert.equal(await figure.getAttribute('data-rendered'), 'true', `${name}: ${id} did not render`);
        const svg = figure.locator('.mmb-chart svg.marks');
        assert.equal(await svg.count(), 1, `${name}: ${id} has no SVG`);
        const marks = await svg.locator(MARK_ITEMS).count();
        assert.ok(marks >= 1, `${name}: ${id} has no drawn marks`);
        await figure.locator('.mmb-chart').screenshot({ path: join(screenshots, `${name}-${id}.png`) });
      }
      assert.match((await page.locator('header h1').textContent()) ?? '', /^mmbalance report/);
    } finally {
      await page.close();
    }
    assert.deepEqual(refused, [], 'requests that left the file');
    assert.deepEqual(errors, [], 'console errors');
  });

test('--format png screenshots each figure through the same browser, offline', async () => {
  const file = join(cases.root, 'png', 'report.html');
  const r = await writeReport([cases.robustnessFile, cases.diagnose], file, { format: 'png' });
  assert.deepEqual(
    r.images,
    r.figures.map((id) => join(cases.root, 'png', 'report-figures', `${id}.png`)),
  );
  for (const image of r.images) {
    const bytes = readFileSync(image);
    assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${image} is a PNG`);
    assert.ok(bytes.length > 2000, `${image} holds a picture`);
  }
});
