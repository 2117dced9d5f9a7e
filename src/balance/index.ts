import { MLB, MultiLoss } from './mlb.js';
import { DISPARITY_PRESET, DisparityModulation, OGM_GE_PRESET } from './modulation.js';
import { registerStrategy } from './strategy.js';
import { GmmGuidedLoss } from './gmm_loss.js';
import { BalanceMLASchedule } from './balancemla.js';

export * from './strategy.js';
export * from './modulation.js';
export * from './gmm_loss.js';
export * from './gaussian_mixture.js';
export * from './mlb.js';
export * from './balancemla.js';

// Importing this module makes the methods available by name (config's `method`, the CLI's --method).
registerStrategy(DISPARITY_PRESET.name, (options) => new DisparityModulation(options, DISPARITY_PRESET));
// Ada2I's method: the disparity-ratio modulation with Ada2I's rule (the recipe 'ada2i' builds its model).
registerStrategy('ada2i', (options) => new DisparityModulation(options, DISPARITY_PRESET));
registerStrategy(OGM_GE_PRESET.name, (options) => new DisparityModulation(options, OGM_GE_PRESET));
// Kontras et al.: per-modality classifiers' losses (needs --set model.head=multi), and MLB's balancing on top.
registerStrategy('multi-loss', (options) => new MultiLoss(options));
registerStrategy('mlb', (options) => new MLB(options));
registerStrategy('gmm', (options) => new GmmGuidedLoss(options));
// BalanceMLA's schedule: unimodal pre-training, then fine-tuning of the composite (the recipe 'balancemla' builds its model).
registerStrategy('balancemla', (options) => new BalanceMLASchedule(options));
