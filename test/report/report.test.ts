/** The report from real short runs and sweeps, without a browser: which figures, the HTML's safety, SVG export, errors. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { UsageError } from '../../src/cli/args.js';
import { reportCommand } from '../../src/cli/report.js';
import { type ReportInput, buildFigures, loadReportInputs, writeReport } from '../../src/report/index.js';
import { type ReportCases, makeReportCases, robustnessExample } from './cases.js';

let cases: ReportCases;
before(async () => {
  cases = await makeReportCases();
});

const RUN_FIGURES = [
  'training-curves',
  'disparity',
  'modulation',
  'unimodal-accuracy',
  'head-norms',
  'confusion',
  'reliability',
  'agreement',
];

/** The figures each input draws, in the report's order, and (by omission) the ones it must not. */
const EXPECTED: Record<string, string[]> = {
  // Ada2I's modulation: no extra loss terms, no GMM rounds.
  ada2i: RUN_FIGURES,
  // MLB: its unimodal losses are loss terms; the directory also holds robustness.json.
  mlb: [
    'training-curves',
    'loss-terms',
    'disparity',
    'modulation',
    'unimodal-accuracy',
    'head-norms',
    'confusion',
    'reliability',
    'agreement',
    'robustness',
  ],
  gmm: [
    'training-curves',
    'loss-terms',
    'disparity',
    'modulation',
    'unimodal-accuracy',
    'gmm-rounds',
    'head-norms',
    'confusion',
    'reliability',
    'agreement',
  ],
  methods: [
    'method-comparison',
    'training-curves',
    'loss-terms',
    'disparity',
    'modulation',
    'unimodal-accuracy',
    'head-norms',
    'confusion',
    'reliability',
    'agreement',
  ],
  // Joint training: nothing modulated, one loss term.
  subsets: ['subset-gaps', 'training-curves', 'disparity', 'unimodal-accuracy', 'head-norms', 'confusion', 'reliability', 'agreement'],
  robustnessFile: ['robustness'],
  diagnose: ['diagnose-probes', 'diagnose-joint', 'diagnose-gap'],
};

function between(html: string, open: string, close = '</script>'): string {
  const i = html.indexOf(open);
  assert.ok(i >= 0, `no ${open}`);
  return html.slice(i + open.length, html.indexOf(close, i));
}

/** Asserts the file loads nothing from anywhere: no http(s) (or protocol-relative) URL in a src, href, import or CSS url(). */
function assertOffline(html: string, what: string): void {
  const patterns = [
    /\b(?:src|href|srcset|action)\s*=\s*["']?\s*(?:https?:)?\/\//i,
    /\bimport\s*\(?\s*["'`](?:https?:)?\/\//i,
    /\burl\(\s*["']?(?:https?:)?\/\//i,
  ];
  for (const p of patterns) assert.doesNotMatch(html, p, `${what}: ${p}`);
  // The page's own markup (the inlined libraries aside) has no element that loads anything.
  const markup = html.replace(/<script>[\s\S]*?<\/script>/g, '');
  assert.doesNotMatch(markup, /<(?:link|iframe|img|object|embed|script\b[^>]*\bsrc)\b/i, `${what}: an element that loads a resource`);
  assert.doesNotMatch(between(html, '<script type="application/json" id="mmb-specs">'), /https?:/, `${what}: a URL in the specifications`);
}

test('each input draws exactly its figures; the HTML is self-contained and lists them in its manifest', async () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    const file = join(cases.root, `${name}.html`);
    const r = await writeReport([cases[name as keyof typeof EXPECTED & keyof ReportCases] as string], file);
    assert.deepEqual(r.figures, expected, name);
    assert.deepEqual(r.images, []);
    const html = readFileSync(file, 'utf8');
    assert.equal(r.bytes, Buffer.byteLength(html));
    assertOffline(html, name);
    const manifest = JSON.parse(between(html, '<script type="application/json" id="mmb-manifest">')) as { id: string; title: string }[];
    assert.deepEqual(
      manifest.map((m) => m.id),
      expected,
      `${name} manifest`,
    );
    for (const id of expected)
      assert.match(
        html,
        new RegExp(`<figure class="mmb-figure" id="${id}" data-figure="${id}">\\n<h2>[^<]+</h2>\\n<figcaption>[^<]+</figcaption>`),
      );
    // Exactly three inline scripts of code: vega, vega-embed and the one that embeds the figures.
    assert.equal(html.match(/<script>/g)?.length, 3, name);
  }
});

test('the reliability title carries the ECE, the diagnosis its verdict and rule, the method sweep its table', async () => {
  const inputs = loadReportInputs([cases.gmm, cases.methods, cases.diagnose]);
  const figures = Object.fromEntries(buildFigures(inputs).map((f) => [f.id, f]));
  assert.match(figures.reliability!.title, /^Reliability diagram \(test, 15 bins\): ECE .*\d\.\d{3}/);
  assert.match(figures['diagnose-probes']!.notes!.join('\n'), /^synthetic-iemocap: [^\n]+\nRule: imbalanced if, under joint training/);
  const table = figures['method-comparison']!.table!;
  assert.deepEqual(
    table.rows.map((r) => r[0]),
    ['ogm-ge', 'mlb'],
  );
  assert.match(table.rows[0]![2]!, /^\d+\.\d\d ± \d+\.\d\d$/);
  // The GMM run drew one panel per round.
  assert.equal((figures['gmm-rounds']!.spec as { concat: unknown[] }).concat.length, 2);
});

test('several inputs make one report; --format svg writes one SVG with marks per figure, drawn without a browser', async () => {
  const file = join(cases.root, 'all', 'everything.html');
  // Between them these draw every figure there is.
  const all = [cases.gmm, cases.methods, cases.subsets, cases.robustnessFile, cases.diagnose];
  const r = await writeReport(all, file, { format: 'svg', title: 'All of it' });
  const union = [
    'diagnose-probes',
    'diagnose-joint',
    'diagnose-gap',
    'method-comparison',
    'subset-gaps',
    'training-curves',
    'loss-terms',
    'disparity',
    'modulation',
    'unimodal-accuracy',
    'gmm-rounds',
    'head-norms',
    'confusion',
    'reliability',
    'agreement',
    'robustness',
  ];
  assert.deepEqual(r.figures, union);
  const dir = join(cases.root, 'all', 'everything-figures');
  assert.deepEqual(readdirSync(dir).sort(), union.map((id) => `${id}.svg`).sort());
  assert.deepEqual(
    r.images,
    union.map((id) => join(dir, `${id}.svg`)),
  );
  for (const id of union) {
    const svg = readFileSync(join(dir, `${id}.svg`), 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/, id);
    const marks = svg.match(/<g class="mark-(?:rect|line|symbol|rule|area)[^"]*role-mark[^"]*"[^>]*><(?:path|line|rect)\b/g) ?? [];
    assert.ok(marks.length >= 1, `${id}.svg has no drawn marks`);
  }
  const html = readFileSync(file, 'utf8');
  assert.match(html, /<title>All of it<\/title>/);
  // Runs are told apart by what differs between them; the sweep's runs are among them.
  const labels = loadReportInputs(all).flatMap((i: ReportInput) =>
    i.kind === 'run' ? [i.label] : i.kind === 'sweep' ? i.runs.map((x) => x.label) : [],
  );
  assert.equal(new Set(labels).size, labels.length, `labels repeat: ${labels.join(', ')}`);
  assert.ok(labels.includes('gmm seq+vec tiny-clips'), labels.join(', '));
});

test('train --report and sweep --report write the report; without it they print the command that does', () => {
  assert.match(cases.stdout.ada2i, /^report: wrote .*ada2i\/report\.html \(8 figures, \d+ KB\)$/m);
  assert.ok(existsSync(join(cases.ada2i, 'report.html')));
  assert.match(cases.stdout.methods, /^report: wrote .*methods\/report\.html \(10 figures, \d+ KB\)$/m);
  assert.match(cases.stdout.subsets, /^report: mmbalance report \S*subsets$/m);
});

/** reportCommand with its output and its stderr warnings captured. */
async function report(...argv: string[]): Promise<{ out: string[]; err: string }> {
  const out: string[] = [];
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((err += String(chunk)), true)) as typeof process.stderr.write;
  try {
    await reportCommand(argv, (l) => out.push(l));
  } finally {
    process.stderr.write = write;
  }
  return { out, err };
}

test('mmbalance report: default --out, and errors that name the problem and the way out', async () => {
  const r = await report(cases.gmm);
  assert.deepEqual(r.out.length, 1);
  assert.match(r.out[0]!, /^wrote .*gmm\/report\.html: 10 figures, \d+ KB$/);
  const svg = await report(cases.robustnessFile, '--out', join(cases.root, 'rob', 'r.html'), '--format', 'svg');
  assert.match(svg.out[1]!, /^wrote 1 SVG files in .*rob\/r-figures$/);

  const fails = async (argv: string[], message: RegExp): Promise<void> => {
    await assert.rejects(
      reportCommand(argv, () => {}),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      argv.join(' '),
    );
  };
  await fails([], /report needs at least one PATH: a run directory, a sweep directory/);
  await fails([join(cases.root, 'nope')], /nope does not exist; expected a run directory \(config\.json \+ metrics\.jsonl/);
  await fails(
    [cases.root],
    /is not a report input: expected a run directory .*; it holds run directories: give them instead \(mmbalance report .*ada2i/,
  );
  const empty = join(cases.root, 'empty');
  mkdirSync(empty);
  await fails(
    [empty],
    /empty is not a report input: expected a run directory \(config\.json \+ metrics\.jsonl, from mmbalance train\), a sweep directory \(sweep\.json\), a robustness\.json, or a diagnose directory \(diagnose\.json\)$/,
  );
  await fails([join(cases.ada2i, 'best.safetensors')], /is a file the report cannot read: expected a run directory/);
  await fails(
    [cases.ada2i, '--out', join(cases.ada2i, 'metrics.jsonl')],
    /the output .*metrics\.jsonl is one of the report's inputs .*; choose another --out/,
  );
  await fails([cases.robustnessFile, '--out', cases.robustnessFile], /is one of the report's inputs/);
  await fails([cases.ada2i, '--out', cases.gmm], /the output .*gmm is a directory; give a file name, e\.g\. .*gmm\/report\.html/);
  await fails([cases.ada2i, '--format', 'jpg'], /--format expects svg or png but received 'jpg'/);
  const bad = join(cases.root, 'bad-robustness.json');
  writeFileSync(
    bad,
    JSON.stringify({ format: 'mmbalance.robustness.v1', method: 'x', modalities: ['a'], clean: { accuracy: 1, weightedF1: 1 } }),
  );
  await fails([bad], /bad-robustness\.json: 'curves' should be a list of curves/);
});

test('a metrics.jsonl cut short by a killed run loses its last epoch with one warning; a damaged line elsewhere is an error', async () => {
  const dir = join(cases.root, 'killed');
  cpSync(cases.gmm, dir, { recursive: true });
  const metrics = join(dir, 'metrics.jsonl');
  const lines = readFileSync(metrics, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 3);
  writeFileSync(metrics, `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 80)}`);
  const r = await report(dir, '--out', join(cases.root, 'killed.html'));
  assert.equal(
    r.err,
    `mmbalance report: ${metrics}: line 3 is cut short (the run stopped while writing it); the report leaves that epoch out\n`,
  );
  assert.match(r.out[0]!, /killed\.html: 10 figures/);
  const warnings: string[] = [];
  const [run] = loadReportInputs([dir], (m) => warnings.push(m));
  assert.equal(run?.kind === 'run' && run.epochs.length, 2);
  assert.equal(warnings.length, 1);
  writeFileSync(metrics, `${lines[0]!.slice(0, 80)}\n${lines[1]}\n`);
  assert.throws(
    () => loadReportInputs([dir], () => {}),
    /metrics\.jsonl: line 1 is not valid JSON, and it is not the last line; the file is damaged/,
  );
});

test('a sweep reads its runs where it now is when it was moved, and draws the robustness tests its runs hold', () => {
  const moved = join(cases.root, 'moved-sweep');
  cpSync(cases.methods, moved, { recursive: true });
  const sweepFile = join(moved, 'sweep.json');
  writeFileSync(sweepFile, readFileSync(sweepFile, 'utf8').split(cases.methods).join('/gone/methods'));
  writeFileSync(
    join(moved, 'mlb', 'text+audio', 'seed-12', 'robustness.json'),
    JSON.stringify(robustnessExample('mlb', ['text', 'audio'])),
  );
  const inputs = loadReportInputs([moved], () => {});
  const sweep = inputs[0]!;
  assert.equal(sweep.kind, 'sweep');
  if (sweep.kind !== 'sweep') return;
  assert.deepEqual(
    sweep.runs.map((r) => r.dir),
    ['ogm-ge', 'mlb'].map((m) => join(moved, m, 'text+audio', 'seed-12')),
  );
  // The test is labelled like the run it belongs to.
  assert.deepEqual(
    sweep.robustness.map((r) => r.label),
    ['mlb'],
  );
  assert.deepEqual(
    buildFigures(inputs).map((f) => f.id),
    [...EXPECTED.methods!, 'robustness'],
  );
});
