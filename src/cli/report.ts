import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type OptionSpec, UsageError, formatHelp, parseOptions, wantsHelp } from './args.js';

// The report library (vega-lite, and vega for SVG) is imported only when a report is written: it
// would add about half a second to the start of every other command.
type ReportLibrary = typeof import('../report/index.js');

const REPORT_OPTIONS: OptionSpec[] = [
  { name: 'out', type: 'string', help: 'the HTML file to write', shownDefault: 'DIR/report.html for one directory, else ./report.html' },
  {
    name: 'format',
    type: 'string',
    help: 'also write each figure as an image file, OUT-figures/ID.svg or .png: svg needs no browser, png a chromium',
  },
  { name: 'title', type: 'string', help: 'the title at the top of the report', shownDefault: 'from the inputs' },
];

const REPORT_USAGE = `Usage: mmbalance report PATH... [--out FILE] [--format svg|png] [--title T]

Writes one self-contained HTML report of figures (it opens offline: the charting library is inside)
from any mix of run directories (mmbalance train), sweep directories (mmbalance sweep), robustness
tests (robustness.json, or the run directory holding one) and diagnose directories. Runs are
overlaid, one colour each; confusion matrices and the like are set side by side.`;

const REPORT_EXAMPLES = [
  'mmbalance report runs/ada2i                          # writes runs/ada2i/report.html',
  'mmbalance report runs/joint runs/ada2i --out compare.html',
  'mmbalance report runs/methods --format svg            # also runs/methods/report-figures/*.svg',
];

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.round(n / 1024)} KB`;
}

/** A path as a shell word, quoted when it needs to be. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Where the report goes by default: inside the one directory given, else in the current directory. */
export function defaultReportPath(paths: readonly string[]): string {
  const only = paths.length === 1 ? paths[0]! : null;
  return only !== null && existsSync(only) && statSync(only).isDirectory() ? join(only, 'report.html') : 'report.html';
}

async function library(): Promise<ReportLibrary> {
  return import('../report/index.js');
}

/** Report errors are about the paths and options given: shown as usage errors, without a stack. */
async function asUsage<T>(lib: ReportLibrary, f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof lib.ReportError) throw new UsageError(e.message);
    throw e;
  }
}

export async function reportCommand(argv: string[], log: (l: string) => void): Promise<number> {
  if (wantsHelp(argv)) {
    log(formatHelp(REPORT_USAGE, REPORT_OPTIONS, REPORT_EXAMPLES));
    return 0;
  }
  const paths: string[] = [];
  const o = parseOptions(argv, REPORT_OPTIONS, paths, Infinity);
  if (paths.length === 0)
    throw new UsageError(
      'report needs at least one PATH: a run directory, a sweep directory, a robustness.json or a diagnose directory (see mmbalance report --help)',
    );
  const format = o.format as string | undefined;
  if (format !== undefined && format !== 'svg' && format !== 'png')
    throw new UsageError(`--format expects svg or png but received '${format}'`);
  const out = (o.out as string | undefined) ?? defaultReportPath(paths);
  const lib = await library();
  const r = await asUsage(lib, () =>
    lib.writeReport(paths, out, { ...(o.title !== undefined ? { title: o.title as string } : {}), ...(format ? { format } : {}) }),
  );
  log(`wrote ${r.file}: ${r.figures.length} figures, ${formatBytes(r.bytes)}`);
  if (r.images.length > 0) log(`wrote ${r.images.length} ${format!.toUpperCase()} files in ${lib.imagesDir(out)}`);
  return 0;
}

/**
 * The last line of train and sweep: the command that draws the run's figures, or with --report
 * the report itself, written into the run (or sweep) directory as HTML.
 */
export function reportAfterRun(dir: string, write: boolean, log: (l: string) => void): number | Promise<number> {
  if (!write) {
    log(`report: mmbalance report ${shellWord(dir)}`);
    return 0;
  }
  return (async () => {
    const lib = await library();
    try {
      const r = lib.writeReportHtml([dir], join(dir, 'report.html'));
      log(`report: wrote ${r.file} (${r.figures.length} figures, ${formatBytes(r.bytes)})`);
      return 0;
    } catch (e) {
      // The run itself is safe on disk; only its report is missing.
      console.error(`mmbalance: the run finished, but its report could not be written: ${(e as Error).message}`);
      console.error(`(try again with: mmbalance report ${shellWord(dir)})`);
      return 1;
    }
  })();
}
