import { checkOneOf } from '../engine/errors.js';
import {
  addToBins,
  eceFromBins,
  emptyBins,
  type CalibrationBins,
  type CalibrationOptions,
  type ScoreKind,
} from './functional/calibration_error.js';
import type { LabelsInput, ScoresInput } from './inputs.js';
import { StatefulMetric } from './metric.js';

/** Expected calibration error over every batch seen (15 equal-width bins by default); the class form of `calibrationError`. */
export class CalibrationError extends StatefulMetric<CalibrationBins, number> {
  readonly name: string;
  readonly higherIsBetter = false;
  readonly nBins: number;
  readonly input: ScoreKind;

  constructor(options: CalibrationOptions & { name?: string } = {}) {
    super();
    this.nBins = emptyBins(options.nBins ?? 15).nBins;
    this.input = checkOneOf('input', options.input ?? 'auto', ['logits', 'probs', 'auto']);
    this.name = options.name ?? 'ece';
  }
  protected initialState(): CalibrationBins {
    return emptyBins(this.nBins);
  }
  /** `preds` must be scores [N, C] (logits or probabilities), not class indices. */
  update(preds: ScoresInput, target: LabelsInput): void {
    addToBins(this.state, preds, target, this.input);
  }
  compute(): number {
    return eceFromBins(this.state);
  }
}
