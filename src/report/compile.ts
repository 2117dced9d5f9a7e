/**
 * Vega-Lite is compiled to Vega here, in Node, rather than in the page: the page then inlines only
 * vega and vega-embed (about 580 KB instead of 830 KB with vega-lite), the SVG export needs the
 * Vega specification anyway, and a specification error surfaces at generation time naming its
 * figure, not as a blank chart in someone's browser.
 */
import { type TopLevelSpec, compile } from 'vega-lite';
import { ReportError } from './errors.js';
import type { Figure } from './figure.js';
import type { Warn } from './inputs.js';

/** The look every figure shares. */
const CONFIG = {
  background: 'white',
  padding: 8,
  font: 'Helvetica, Arial, sans-serif',
  // Long run labels are cut (with an ellipsis) rather than pushing the next panel aside.
  title: { anchor: 'start', fontSize: 13, subtitleFontSize: 11, subtitleColor: '#555', limit: 260 },
  axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: 'normal' },
  header: { labelFontSize: 12 },
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
  range: { category: { scheme: 'tableau10' } },
  view: { stroke: '#ddd' },
};

type CompileOptions = NonNullable<Parameters<typeof compile>[1]>;
type Logger = NonNullable<CompileOptions['logger']>;

/** A Vega-Lite logger that passes warnings on with the figure's id and turns errors into exceptions. */
function figureLogger(id: string, warn: Warn): Logger {
  let level = 2;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: unknown[]) {
      throw new ReportError(`figure '${id}': Vega-Lite refused its specification: ${args.join(' ')}`);
    },
    warn(...args: unknown[]) {
      warn(`figure '${id}': Vega-Lite: ${args.join(' ')}`);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger as unknown as Logger;
}

/** The figure's Vega specification (no $schema: nothing in the report points at the network). */
export function compileFigure(figure: Figure, warn: Warn): Record<string, unknown> {
  const input = { ...(figure.spec as Record<string, unknown>), config: CONFIG } as TopLevelSpec;
  let out: Record<string, unknown>;
  try {
    out = compile(input, { logger: figureLogger(figure.id, warn) }).spec as unknown as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ReportError) throw e;
    throw new ReportError(`figure '${figure.id}' could not be compiled: ${(e as Error).message}`);
  }
  delete out.$schema;
  return out;
}
