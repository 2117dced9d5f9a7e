import type { Figure } from '../figure.js';
import type { DiagnoseInput, ReportInput, SweepInput } from '../inputs.js';
import { allRobustness, allRuns } from '../load.js';
import { agreementFigure } from './agreement.js';
import { confusionFigure } from './confusion.js';
import { diagnoseGapFigure, diagnoseJointFigure, diagnoseProbesFigure } from './diagnose.js';
import { disparityFigure } from './disparity.js';
import { gmmRoundsFigure } from './gmm_rounds.js';
import { headNormsFigure } from './head_norms.js';
import { methodComparisonFigure } from './method_comparison.js';
import { modulationFigure } from './modulation.js';
import { reliabilityFigure } from './reliability.js';
import { robustnessFigure } from './robustness.js';
import { subsetGapsFigure } from './subset_gaps.js';
import { lossTermsFigure, trainingCurvesFigure } from './training_curves.js';
import { unimodalAccuracyFigure } from './unimodal_accuracy.js';

/**
 * Every figure the inputs have data for, in reading order: the diagnosis, the sweeps' tables,
 * the runs' curves and their test-set figures, then robustness. Runs are overlaid in one figure
 * (colour = run), except where overlaying hides them (confusion, reliability, agreement, GMM rounds).
 */
export function buildFigures(inputs: readonly ReportInput[]): Figure[] {
  const runs = allRuns(inputs);
  const sweeps = inputs.filter((i): i is SweepInput => i.kind === 'sweep');
  const robustness = allRobustness(inputs);
  const diagnoses = inputs.filter((i): i is DiagnoseInput => i.kind === 'diagnose');
  const figures = [
    diagnoseProbesFigure(diagnoses),
    diagnoseJointFigure(diagnoses),
    diagnoseGapFigure(diagnoses),
    methodComparisonFigure(sweeps),
    subsetGapsFigure(sweeps),
    trainingCurvesFigure(runs),
    lossTermsFigure(runs),
    disparityFigure(runs),
    modulationFigure(runs),
    unimodalAccuracyFigure(runs),
    gmmRoundsFigure(runs),
    headNormsFigure(runs),
    confusionFigure(runs),
    reliabilityFigure(runs),
    agreementFigure(runs),
    robustnessFigure(robustness),
  ];
  return figures.filter((f): f is Figure => f !== null);
}
