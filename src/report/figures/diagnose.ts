import type { Figure } from '../figure.js';
import type { DiagnoseInput } from '../inputs.js';
import { EPOCH_AXIS, LINE_MARK, PANEL, type Row, SCORE_LABEL, type Spec, drawable, panels } from './common.js';

/** What a diagnosis found, in a few words. */
export function verdictHeadline(d: DiagnoseInput): string {
  const v = d.doc.verdict;
  return v.imbalanced
    ? `imbalanced${v.dominant ? `; ${v.dominant} dominates` : ''}${v.weak.length ? `; weak: ${v.weak.join(', ')}` : ''}.`
    : 'no imbalance found.';
}

/** The verdict of a diagnosis in words: what it found, the rule it applied and why. */
export function verdictText(d: DiagnoseInput): string[] {
  const v = d.doc.verdict;
  return [`${d.label}: ${verdictHeadline(d)}`, `Rule: ${v.rule}`, ...v.reasons.map((r) => `– ${r}`)];
}

/** Probe accuracy of each modality on dev and test, with the verdict under the chart. */
export function diagnoseProbesFigure(inputs: readonly DiagnoseInput[]): Figure | null {
  const rows: Row[] = [];
  for (const d of inputs)
    for (const [modality, p] of Object.entries(d.doc.probes))
      for (const split of ['dev', 'test'] as const) if (drawable(p[split])) rows.push({ data: d.label, modality, split, value: p[split] });
  if (rows.length === 0) return null;
  const inner = {
    width: PANEL.width,
    height: PANEL.height,
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'modality', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'split', type: 'nominal', sort: ['dev', 'test'] },
      y: { field: 'value', type: 'quantitative', title: 'probe accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } },
      color: { field: 'split', type: 'nominal', sort: ['dev', 'test'], title: 'split' },
    },
  };
  return {
    id: 'diagnose-probes',
    title: 'Diagnosis: what each modality predicts on its own',
    caption:
      'Accuracy of a ridge probe on each modality’s features alone. The modality with the highest probe is the one a joint model will lean on; the verdict below says whether the gap is large enough to call the data imbalanced.',
    spec:
      inputs.length > 1
        ? { data: { values: rows }, facet: { field: 'data', type: 'nominal', title: null }, columns: 3, spec: inner }
        : { data: { values: rows }, ...inner },
    notes: inputs.flatMap(verdictText),
  };
}

/** Under joint training, per epoch: the fused dev score, each modality's scored and probe accuracy, and disparity ratio. */
export function diagnoseJointFigure(inputs: readonly DiagnoseInput[]): Figure | null {
  const rows: Row[] = [];
  const scores = new Set(inputs.map((d) => d.doc.score));
  const scorePanel = scores.size === 1 ? `dev ${SCORE_LABEL[inputs[0]!.doc.score]} (fused)` : 'dev score (fused)';
  const order = [scorePanel, 'unimodal accuracy (scored)', 'probe accuracy', 'disparity ratio'];
  for (const d of inputs)
    for (const e of d.doc.joint.perEpoch) {
      if (drawable(e.devScore)) rows.push({ data: d.label, panel: scorePanel, series: 'fused', epoch: e.epoch, value: e.devScore });
      for (const [panel, values] of [
        [order[1]!, e.unimodalAccuracy],
        [order[2]!, e.probeAccuracy],
        [order[3]!, e.disparityRatio],
      ] as const)
        for (const [m, v] of Object.entries(values ?? {}))
          if (drawable(v)) rows.push({ data: d.label, panel, series: m, epoch: e.epoch, value: v });
    }
  if (rows.length === 0) return null;
  return {
    id: 'diagnose-joint',
    title: 'Diagnosis: a joint model, epoch by epoch (dev)',
    caption:
      'A plain joint model trained on the data: its fused score, the accuracy of the logits it gets from each modality, probes on each encoder, and the disparity ratios. A modality whose probe keeps up but whose scored accuracy falls behind is being ignored.',
    spec: {
      data: { values: rows },
      facet: {
        column: {
          field: 'panel',
          type: 'nominal',
          sort: order.filter((p) => rows.some((r) => r.panel === p)),
          header: { title: null, labelFontSize: 12 },
        },
        ...(inputs.length > 1 ? { row: { field: 'data', type: 'nominal', header: { title: null } } } : {}),
      },
      spec: {
        width: PANEL.width * 0.85,
        height: PANEL.height,
        mark: LINE_MARK,
        encoding: {
          x: EPOCH_AXIS,
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
          color: { field: 'series', type: 'nominal', title: 'modality' },
        },
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

/** The histogram of the per-sample gap between the pair of modalities, mean and std in the title. */
export function diagnoseGapFigure(inputs: readonly DiagnoseInput[]): Figure | null {
  const specs: Spec[] = [];
  for (const d of inputs) {
    const g = d.doc.gap;
    const { edges, counts } = g.histogram;
    if (counts.length === 0) continue;
    const bars: Row[] = counts.map((count, i) => ({ x0: edges[i]!, x1: edges[i + 1]!, count }));
    specs.push({
      title: {
        text: `${inputs.length > 1 ? `${d.label}: ` : ''}gap ${g.pair.join(' − ')}`,
        subtitle: `mean ${g.mean.toFixed(3)} ± ${g.std.toFixed(3)}`,
      },
      width: PANEL.width * 1.4,
      height: PANEL.height,
      layer: [
        {
          data: { values: bars },
          mark: { type: 'rect', color: '#4c78a8', stroke: 'white', strokeWidth: 0.5, tooltip: true },
          encoding: {
            x: { field: 'x0', type: 'quantitative', title: g.definition.length <= 60 ? g.definition : `gap ${g.pair.join(' − ')}` },
            x2: { field: 'x1' },
            y: { field: 'count', type: 'quantitative', title: 'samples' },
            y2: { datum: 0 },
          },
        },
        {
          data: { values: [{ mean: g.mean }] },
          mark: { type: 'rule', color: '#e45756', strokeWidth: 2 },
          encoding: { x: { field: 'mean', type: 'quantitative' } },
        },
      ],
    });
  }
  if (specs.length === 0) return null;
  return {
    id: 'diagnose-gap',
    title: `Diagnosis: the per-sample gap between the modalities (mean ± std: ${inputs.map((d) => `${d.doc.gap.mean.toFixed(3)} ± ${d.doc.gap.std.toFixed(3)}`).join(', ')})`,
    caption: `${inputs.map((d) => d.doc.gap.definition).join('; ')}. A distribution shifted away from 0, or with a second mode, means one modality is right on many samples where the other is not (red line: the mean).`,
    spec: panels(specs, 2),
  };
}
