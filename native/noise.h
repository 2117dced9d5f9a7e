// Gradient noise shared by random.cc (foreachScaleNoise_) and adam.cc (a pending edit on a gradient
// the fused loop cannot read in order).
#pragma once
#include <ATen/ATen.h>

#include "kernels.h"

namespace mmb {
// t = a * t + sigma * N(0, 1) in place, the noise drawn from seed (element i: half of pair i / 2).
void ScaleNoiseSeeded(at::Tensor& t, double a, double sigma, kernels::Seed seed);
// The next per-call seed from libtorch's default CPU generator.
kernels::Seed DrawSeed();
}  // namespace mmb
