import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeAtomically } from '../io/atomic.js';
import { makeDirs } from '../io/dirs.js';
import { compileFigure } from './compile.js';
import { ReportError } from './errors.js';
import type { Figure } from './figure.js';
import { buildFigures } from './figures/index.js';
import { renderReportHtml } from './html.js';
import { type ReportInput, type Warn, warnOnStderr } from './inputs.js';
import { allRuns, loadReportInputs } from './load.js';
import { renderPngs } from './png.js';
import { renderSvg } from './svg.js';

export type ImageFormat = 'svg' | 'png';

export interface WriteReportOptions {
  title?: string;
  /** Also write each figure as an image file, in `<out without .html>-figures/<id>.<format>`. */
  format?: ImageFormat;
  warn?: Warn;
}

export interface WrittenReport {
  file: string;
  /** The figure ids, in the report's order. */
  figures: string[];
  /** The image files written (none without a format). */
  images: string[];
  /** Size of the HTML file. */
  bytes: number;
}

/** The folder the figure images go to: beside the report, named after it. */
export function imagesDir(outFile: string): string {
  return join(dirname(outFile), `${basename(outFile).replace(/\.html?$/i, '')}-figures`);
}

function samePath(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Refuses an output that would replace what the report reads, or that is a directory. */
export function checkOutput(outFile: string, paths: readonly string[], inputs: readonly ReportInput[]): void {
  const read = [...paths, ...inputs.flatMap((i) => i.files), ...allRuns(inputs).flatMap((r) => r.files)];
  const hit = read.find((p) => samePath(p, outFile));
  if (hit !== undefined)
    throw new ReportError(`the output ${outFile} is one of the report's inputs (${hit}); choose another --out, e.g. report.html`);
  if (existsSync(outFile) && statSync(outFile).isDirectory())
    throw new ReportError(`the output ${outFile} is a directory; give a file name, e.g. ${join(outFile, 'report.html')}`);
}

/** A title from what was loaded. */
export function defaultTitle(inputs: readonly ReportInput[]): string {
  const kinds = new Set(inputs.map((i) => i.kind));
  if (inputs.length === 1) {
    const i = inputs[0]!;
    if (i.kind === 'run') return `mmbalance report: ${i.method} on ${i.dataName} (${i.modalities.join('+')})`;
    if (i.kind === 'sweep') return `mmbalance report: ${i.table === 'methods' ? 'method' : 'modality'} sweep on ${i.dataName}`;
    if (i.kind === 'diagnose') return `mmbalance report: diagnosis of ${i.label}`;
    return `mmbalance report: robustness of ${i.label}`;
  }
  const runs = allRuns(inputs);
  return kinds.size === 1 && kinds.has('run') ? `mmbalance report: ${runs.length} runs` : `mmbalance report: ${inputs.length} inputs`;
}

/** The report as HTML alone: what train --report and sweep --report write, with no image files. */
export function writeReportHtml(
  paths: readonly string[],
  outFile: string,
  options: Omit<WriteReportOptions, 'format'> = {},
): { file: string; figures: Figure[]; bytes: number } {
  const warn = options.warn ?? warnOnStderr;
  const inputs = loadReportInputs(paths, warn);
  checkOutput(outFile, paths, inputs);
  const figures = buildFigures(inputs);
  const html = renderReportHtml(figures, { title: options.title ?? defaultTitle(inputs), inputs, warn });
  makeDirs(dirname(resolve(outFile)));
  const bytes = Buffer.from(html, 'utf8');
  writeAtomically(outFile, bytes);
  return { file: outFile, figures, bytes: bytes.byteLength };
}

/**
 * Writes the report of the inputs at `paths` (runs, sweeps, robustness tests, diagnoses) to
 * `outFile`, and with `format` each figure as an image file too. HTML and SVG need no browser;
 * PNG drives a headless Chromium.
 */
export async function writeReport(paths: string[], outFile: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  const format = options.format;
  if (format !== undefined && format !== 'svg' && format !== 'png')
    throw new ReportError(`the image format should be svg or png but received '${String(format)}'`);
  const warn = options.warn ?? warnOnStderr;
  const { figures, bytes } = writeReportHtml(paths, outFile, options);
  const images: string[] = [];
  if (format !== undefined && figures.length > 0) {
    const dir = imagesDir(outFile);
    makeDirs(dir);
    const drawn =
      format === 'png'
        ? await renderPngs(
            resolve(outFile),
            figures.map((f) => f.id),
          )
        : new Map(
            await Promise.all(
              figures.map(async (f) => [f.id, Buffer.from(await renderSvg(f.id, compileFigure(f, warn)), 'utf8')] as const),
            ),
          );
    for (const f of figures) {
      const file = join(dir, `${f.id}.${format}`);
      writeAtomically(file, drawn.get(f.id)!);
      images.push(file);
    }
  }
  return { file: outFile, figures: figures.map((f) => f.id), images, bytes };
}
