export {
  Tensor,
  tensor,
  fromTypedArray,
  scalarTensor,
  zeros,
  ones,
  empty,
  full,
  randn,
  rand,
  randint,
  randperm,
  arange,
  linspace,
  eye,
  zerosLike,
  onesLike,
  randnLike,
  fullLike,
  type CreateOptions,
  type NestedArray,
  type Scalar,
  type Reduction,
} from './tensor.js';
export * from './ops.js';
export { type DType, DTYPES, isFloating } from './dtype.js';
export { type Device, cuda } from './device.js';
export { TorchError, ArgumentError } from './errors.js';
export { scope, keep } from './scope.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './grad_mode.js';
export { clipGradNorm, clipGradValue } from './clip.js';
export { manualSeed, setNumThreads, getNumThreads, libtorchVersion, simdLevel } from './runtime.js';
export { foreachMoments, foreachScaleNoise_, stdFromMoments } from './grad_passes.js';
export { profileOps, type OpTime } from './profiler.js';
export { GradEdits, type GradEdit, type GradMoments } from './grad_edits.js';
export * as F from './functional.js';
export * as optim from './optim/index.js';
