import { ReportError } from './errors.js';

/** A figure drawn as SVG by Vega's own renderer in Node (renderer 'none': no canvas, no browser). */
export async function renderSvg(id: string, vegaSpec: Record<string, unknown>): Promise<string> {
  const vega = await import('vega');
  const view = new vega.View(vega.parse(vegaSpec as never), { renderer: 'none' });
  try {
    return await view.toSVG();
  } catch (e) {
    throw new ReportError(`figure '${id}' could not be drawn as SVG: ${(e as Error).message}`);
  } finally {
    view.finalize();
  }
}
