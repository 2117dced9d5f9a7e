import { DISPARITY_PRESET, DisparityModulation, OGM_GE_PRESET } from './modulation.js';
import { registerStrategy } from './strategy.js';

export * from './strategy.js';
export * from './modulation.js';

// Importing this module makes the methods available by name (config's `method`, the CLI's --method).
registerStrategy(DISPARITY_PRESET.name, (options) => new DisparityModulation(options, DISPARITY_PRESET));
// Ada2I's method: the disparity-ratio modulation with Ada2I's rule (the recipe 'ada2i' builds its model).
registerStrategy('ada2i', (options) => new DisparityModulation(options, DISPARITY_PRESET));
registerStrategy(OGM_GE_PRESET.name, (options) => new DisparityModulation(options, OGM_GE_PRESET));
