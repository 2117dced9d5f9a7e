import { pathToFileURL } from 'node:url';
import { requireChromium } from './chromium.js';
import { ReportError } from './errors.js';

/**
 * Screenshots of each figure of a written report, drawn by a headless Chromium exactly as a reader
 * sees them. Every request that is not for the file itself (file:, data:) is refused.
 */
export async function renderPngs(htmlFile: string, ids: readonly string[], timeoutMs = 60_000): Promise<Map<string, Uint8Array>> {
  const executablePath = requireChromium();
  const { chromium } = await import('playwright-core');
  let browser;
  try {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  } catch (e) {
    throw new ReportError(
      `${executablePath} could not be started for the PNG figures (${(e as Error).message.split('\n')[0]}); use --format svg, which needs no browser`,
    );
  }
  try {
    const page = await browser.newPage({ deviceScaleFactor: 2, viewport: { width: 1800, height: 1000 } });
    await page.route('**/*', (route) => (/^(file|data):/.test(route.request().url()) ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(htmlFile).href);
    await page.waitForSelector('body[data-rendered="all"]', { timeout: timeoutMs });
    // A wide figure is drawn whole, not scrolled, and without the page's export menu.
    await page.addStyleTag({
      content: '.mmb-chart{max-width:none!important;overflow:visible!important}.vega-embed details{display:none!important}',
    });
    const out = new Map<string, Uint8Array>();
    for (const id of ids) {
      const fig = page.locator(`figure[data-figure="${id}"]`);
      if ((await fig.getAttribute('data-rendered')) !== 'true') throw new ReportError(`figure '${id}' did not render in ${executablePath}`);
      out.set(id, await fig.locator('.mmb-chart').screenshot());
    }
    return out;
  } finally {
    await browser.close();
  }
}
