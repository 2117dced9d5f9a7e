/** A figure of the report: a Vega-Lite chart with a title, a caption saying what to look for, and optional numbers or text under it. */
export interface Figure {
  /** Stable id: the HTML anchor, the manifest entry and the exported file's name. */
  id: string;
  title: string;
  /** One line: what the chart shows and what to look for. */
  caption: string;
  /** A Vega-Lite specification with its data inlined. */
  spec: object;
  /** Numbers shown as a table under the chart. */
  table?: FigureTable;
  /** Text shown under the chart (a verdict and its rule). */
  notes?: string[];
}

export interface FigureTable {
  columns: string[];
  rows: string[][];
}
