/** Reports: one self-contained HTML file of figures (Vega-Lite) from runs, sweeps, robustness tests and diagnoses. */
export type { Figure, FigureTable } from './figure.js';
export type {
  DiagnoseDoc,
  DiagnoseInput,
  EpochLine,
  MethodRow,
  ReportInput,
  RobustnessDoc,
  RobustnessInput,
  RunInput,
  SubsetRow,
  SweepInput,
  Warn,
} from './inputs.js';
export { ReportError } from './errors.js';
export { INPUT_KINDS, loadReportInputs } from './load.js';
export { buildFigures } from './figures/index.js';
export { renderReportHtml, type RenderOptions } from './html.js';
export { compileFigure } from './compile.js';
export { renderSvg } from './svg.js';
export { findChromium, NO_CHROMIUM } from './chromium.js';
export {
  defaultTitle,
  imagesDir,
  writeReport,
  writeReportHtml,
  type ImageFormat,
  type WriteReportOptions,
  type WrittenReport,
} from './write.js';
