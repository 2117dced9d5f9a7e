import { compileFigure } from './compile.js';
import type { Figure, FigureTable } from './figure.js';
import type { ReportInput, Warn } from './inputs.js';
import { warnOnStderr } from './inputs.js';
import { browserBuild } from './libraries.js';
import { summarizeInputs } from './summary.js';

export interface RenderOptions {
  title: string;
  /** What was loaded, for the header; without it the header holds the title alone. */
  inputs?: readonly ReportInput[];
  warn?: Warn;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Data values keep 6 significant digits: far finer than a chart shows, and a third of the bytes. */
function rounded(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v;
}

/** JSON that can sit inside a <script> element: no "<" can open "</script" or "<!--". */
function scriptJson(value: unknown): string {
  return JSON.stringify(value, rounded)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function tableHtml(t: FigureTable, cls: string): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;padding:0 16px;color:#222;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 4px}
header{border-bottom:1px solid #ddd;margin-bottom:20px;padding-bottom:12px}
.mmb-overview{color:#444;margin:4px 0 8px}.mmb-loaded{margin:4px 0 12px;padding-left:20px;color:#555;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}
figure.mmb-figure{margin:0 0 32px;padding:12px 0;border-bottom:1px solid #eee}
figcaption{font-size:13px;color:#444;margin:2px 0 8px;max-width:980px}
.mmb-chart{display:inline-block;max-width:100%;overflow-x:auto}
.mmb-notes{background:#fff8e5;border-left:4px solid #f0b400;padding:6px 12px;margin:8px 0;max-width:980px}.mmb-notes p{margin:2px 0;font-size:13px}.mmb-error{color:#b00020;font-size:13px}
nav.mmb-toc{font-size:13px;margin:8px 0}nav.mmb-toc a{margin-right:12px}
`;

/** Embeds every figure with vega-embed's SVG renderer; marks each figure rendered (or failed) for whoever waits on it. */
const EMBED = `
(function () {
  var specs = JSON.parse(document.getElementById('mmb-specs').textContent);
  var figures = Array.prototype.slice.call(document.querySelectorAll('figure.mmb-figure'));
  var left = figures.length;
  function done() { if (--left <= 0) document.body.setAttribute('data-rendered', 'all'); }
  if (left === 0) document.body.setAttribute('data-rendered', 'all');
  figures.forEach(function (fig) {
    var id = fig.getAttribute('data-figure');
    var el = fig.querySelector('.mmb-chart');
    function fail(message) {
      fig.setAttribute('data-rendered', 'error');
      el.innerHTML = '';
      var p = document.createElement('p');
      p.className = 'mmb-error';
      p.textContent = 'This figure could not be drawn: ' + message;
      el.appendChild(p);
      console.error('mmbalance report: figure ' + id + ': ' + message);
      done();
    }
    if (typeof vegaEmbed !== 'function') return fail('the charting library did not load');
    vegaEmbed(el, specs[id], { mode: 'vega', renderer: 'svg', actions: { export: true, source: false, compiled: false, editor: false } })
      .then(function () { fig.setAttribute('data-rendered', 'true'); done(); })
      .catch(function (e) { fail(e && e.message ? e.message : String(e)); });
  });
})();
`;

/**
 * One self-contained HTML file: vega and vega-embed inlined, each figure's Vega specification as
 * JSON, a manifest of the figures, and a script that draws them as SVG. Nothing is fetched: the
 * content security policy forbids any connection, image or script from elsewhere. It allows eval
 * because Vega compiles its expressions with Function(); without it no figure draws.
 */
export function renderReportHtml(figures: readonly Figure[], options: RenderOptions): string {
  const warn = options.warn ?? warnOnStderr;
  const specs: Record<string, unknown> = {};
  for (const f of figures) specs[f.id] = compileFigure(f, warn);
  const manifest = figures.map((f) => ({ id: f.id, title: f.title }));
  const summary = options.inputs ? summarizeInputs(options.inputs) : null;
  const header = [
    `<h1>${escapeHtml(options.title)}</h1>`,
    summary ? `<p class="mmb-overview">${escapeHtml(summary.overview)}; ${figures.length} figures.</p>` : '',
    summary && summary.loaded.length
      ? `<ul class="mmb-loaded">${summary.loaded.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`
      : '',
    summary?.runs ? tableHtml(summary.runs, 'mmb-summary') : '',
    figures.length ? `<nav class="mmb-toc">${figures.map((f) => `<a href="#${f.id}">${escapeHtml(f.id)}</a>`).join('')}</nav>` : '',
  ].join('\n');
  const body = figures
    .map((f) =>
      [
        `<figure class="mmb-figure" id="${f.id}" data-figure="${f.id}">`,
        `<h2>${escapeHtml(f.title)}</h2>`,
        `<figcaption>${escapeHtml(f.caption)}</figcaption>`,
        `<div class="mmb-chart"></div>`,
        f.notes?.length ? `<div class="mmb-notes">${f.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>` : '',
        f.table ? tableHtml(f.table, 'mmb-table') : '',
        `</figure>`,
      ]
        .filter(Boolean)
        .join('\n'),
    )
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:">
<meta name="generator" content="mmbalance report">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
${header}
</header>
<main>
${body}
</main>
<script type="application/json" id="mmb-manifest">${scriptJson(manifest)}</script>
<script type="application/json" id="mmb-specs">${scriptJson(specs)}</script>
<script>${browserBuild('vega')}</script>
<script>${browserBuild('vega-embed')}</script>
<script>${EMBED}</script>
</body>
</html>
`;
}
