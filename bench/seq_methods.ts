/**
 * Tabulates finished sweeps on the sequence form of AV-MNIST: fused and per-modality test accuracy
 * per method over its seeds, and the robustness curves (test accuracy with one modality corrupted,
 * mean over seeds) that `sweep --robustness` wrote beside each run.
 *
 * Run: node dist/bench/seq_methods.js LABEL=SWEEP_DIR [LABEL=SWEEP_DIR ...] [--write]
 * A sweep made with --methods holds one folder per method: its runs are labelled LABEL/method
 * (or just the method when LABEL is empty: =DIR).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeSection } from './report.js';

interface Run {
  label: string;
  seed: string;
  accuracy: number;
  unimodal: Record<string, number>;
  epochs: number;
  robustness: Curve[] | null;
}

interface Curve {
  modality: string;
  corruption: string;
  levelName: string;
  levels: { level: number; accuracy: number }[];
}

function runsIn(label: string, dir: string): Run[] {
  const out: Run[] = [];
  if (!existsSync(dir)) throw new Error(`no sweep directory ${dir}`);
  const walk = (d: string, name: string): void => {
    const summary = join(d, 'summary.json');
    if (existsSync(summary)) {
      const s = JSON.parse(readFileSync(summary, 'utf8')) as {
        test: { accuracy: number; unimodalAccuracy: Record<string, number> | null };
        epochs: unknown[];
      };
      const rob = join(d, 'robustness.json');
      out.push({
        label: name,
        seed: d.split('/').pop()!,
        accuracy: s.test.accuracy,
        unimodal: s.test.unimodalAccuracy ?? {},
        epochs: s.epochs.length,
        robustness: existsSync(rob) ? (JSON.parse(readFileSync(rob, 'utf8')) as { curves: Curve[] }).curves : null,
      });
      return;
    }
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (!statSync(p).isDirectory()) continue;
      // <method>/<modalities>/seed-N: the method folder names the run; modality and seed folders do not.
      const isMethod = !e.includes('+') && !e.startsWith('seed-') && existsSync(join(p)) && readdirSync(p).some((x) => x.includes('+'));
      walk(p, isMethod ? (name ? `${name}/${e}` : e) : name);
    }
  };
  walk(dir, label);
  // A labelled sweep of one method is named by its label alone.
  if (label && new Set(out.map((r) => r.label)).size === 1) for (const r of out) r.label = label;
  return out;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]): number => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (xs: number[]): string => `${(100 * mean(xs)).toFixed(2)}${xs.length > 1 ? ` ± ${(100 * std(xs)).toFixed(2)}` : ''}`;

function main(): void {
  const specs = process.argv.slice(2).filter((a) => a.includes('='));
  if (specs.length === 0) throw new Error('give LABEL=SWEEP_DIR pairs');
  const runs = specs.flatMap((s) => {
    const [label, dir] = [s.slice(0, s.indexOf('=')), s.slice(s.indexOf('=') + 1)];
    return runsIn(label!, dir!);
  });
  const labels = [...new Set(runs.map((r) => r.label))];
  const modalities = [...new Set(runs.flatMap((r) => Object.keys(r.unimodal)))];
  const lines = [
    `| run | seeds | accuracy (%) | ${modalities.map((m) => `${m} alone (%)`).join(' | ')} | epochs |`,
    `|---|---|---|${modalities.map(() => '---|').join('')}---|`,
  ];
  for (const l of labels) {
    const rs = runs.filter((r) => r.label === l);
    lines.push(
      `| ${l} | ${rs.map((r) => r.seed.replace('seed-', '')).join(', ')} | ${pct(rs.map((r) => r.accuracy))} | ${modalities
        .map((m) => (rs.every((r) => r.unimodal[m] !== undefined) ? pct(rs.map((r) => r.unimodal[m]!)) : '-'))
        .join(' | ')} | ${rs[0]!.epochs} |`,
    );
  }
  const curveKeys = [
    ...new Map(runs.flatMap((r) => r.robustness ?? []).map((c) => [`${c.modality} ${c.corruption}`, c] as const)).values(),
  ];
  const rob: string[] = [];
  for (const c of curveKeys) {
    rob.push('', `${c.modality}, ${c.corruption} (${c.levelName}):`, '');
    rob.push(`| run | clean | ${c.levels.map((x) => String(x.level)).join(' | ')} |`, `|---|---|${c.levels.map(() => '---|').join('')}`);
    for (const l of labels) {
      const rs = runs.filter((r) => r.label === l && r.robustness !== null);
      if (rs.length === 0) continue;
      const curves = rs.map((r) => r.robustness!.find((x) => x.modality === c.modality && x.corruption === c.corruption)!);
      const cells = c.levels.map((_, i) => (100 * mean(curves.map((x) => x.levels[i]!.accuracy))).toFixed(1));
      rob.push(`| ${l} (${rs.length}) | ${(100 * mean(rs.map((r) => r.accuracy))).toFixed(1)} | ${cells.join(' | ')} |`);
    }
  }
  const body = [
    ...lines,
    '',
    'Robustness: test accuracy (%) with one modality corrupted, mean over the runs (their number in brackets).',
    ...rob,
  ].join('\n');
  console.log(body);
  if (process.argv.includes('--write')) {
    const command = `node dist/bench/seq_methods.js ${process.argv
      .slice(2)
      .map((a) => (a.includes(' ') ? `'${a}'` : a))
      .join(' ')}`;
    console.log(
      `wrote ${writeSection('seq-methods', 'BalanceMLA and the other methods on sequence AV-MNIST, and their robustness', `Command: \`${command}\`.\n\n${body}`)}`,
    );
  }
}

main();
