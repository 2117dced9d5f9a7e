// Random draws for training: dropout masks and Gaussian gradient noise.
//
// The one place where the addon computes numbers itself rather than calling libtorch. libtorch
// 1.13's CPU bernoulli_/normal_ are serial loops over a Mersenne Twister (measured here: ~18 ns
// per element for dropout, ~7 ns for randn), and a training step of the Ada2I preset draws ~60M
// of them, so on CPU they cost as much as the matmuls they sit between. These kernels use a
// counter-based generator instead: element i's bits are a hash of (seed, i), so the loops
// vectorise, the work is split across libtorch's own threads (TensorIterator::for_each; a
// parallel_for compiled here would need this addon built with OpenMP), and the result does not
// depend on how many threads ran it. The seed of each call is one draw from libtorch's default
// CPU generator, so manual_seed still fixes every mask and every noise tensor. Other devices and
// dtypes, tensors of 2^32 elements or more, and the edge cases p = 0 and p = 1 go to libtorch.
// The loops themselves live in kernels.inc, built per instruction set.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorIterator.h>
#include <ATen/record_function.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <cstdint>
#include <mutex>

#include "chunks.h"
#include "common.h"
#include "kernels.h"
#include "noise.h"

using namespace mmb;

namespace {

constexpr int64_t kGrain = 1 << 14;

// One draw from libtorch's default generator: the per-call seed.
uint64_t NextSeed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

using kernels::Seed;

Seed MakeSeed(uint64_t s) { return Seed{static_cast<uint32_t>(s), static_cast<uint32_t>(s >> 32)}; }

void DropoutLoop(const float* x, float* out, uint32_t first, int64_t n, Seed s, int32_t threshold, float scale) {
  kernels::Active().dropoutF(x, out, first, n, s, threshold, scale);
}
void DropoutLoop(const double* x, double* out, uint32_t first, int64_t n, Seed s, int32_t threshold, double scale) {
  kernels::Active().dropoutD(x, out, first, n, s, threshold, scale);
}
void Noise(float* p, uint32_t firstPair, int64_t npairs, Seed s, float a, float sigma) {
  kernels::Active().noiseF(p, firstPair, npairs, s, a, sigma);
}
void Noise(double* p, uint32_t firstPair, int64_t npairs, Seed s, double a, double sigma) {
  kernels::Active().noiseD(p, firstPair, npairs, s, a, sigma);
}

bool FastPath(const at::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble) &&
         t.numel() < (int64_t{1} << 32);
}

// Dropout as one autograd function: the forward draws each element's keep bit from (seed, index)
// as it multiplies, and the backward draws the same bits again, so no mask is stored and each
// direction is one pass. out = x * m with m = 1/(1-p) where a uniform draw >= p, else 0: the same
// numbers as x * mask (at::dropout's form), NaN and -0 included.
struct DropoutFn : public torch::autograd::Function<DropoutFn> {
  static void Apply(const at::Tensor& in, at::Tensor& out, Seed seed, int32_t threshold, double p) {
    auto iter = at::TensorIteratorConfig()
                    .set_check_mem_overlap(false)
                    .check_all_same_dtype(true)
                    .resize_outputs(false)
                    .add_output(out)
                    .add_input(in)
                    .build();
    AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "mmb_dropout", [&] {
      const auto scale = static_cast<scalar_t>(1.0 / (1.0 - p));
      const scalar_t* base = out.data_ptr<scalar_t>();
      iter.for_each(
          [&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
            for (int64_t j = 0; j < n1; j++) {
              auto* o = reinterpret_cast<scalar_t*>(data[0] + j * strides[2]);
              const auto* x = reinterpret_cast<const scalar_t*>(data[1] + j * strides[3]);
              TORCH_CHECK(strides[0] == static_cast<int64_t>(sizeof(scalar_t)) && strides[1] == strides[0],
                          "dropout needs contiguous chunks");
              DropoutLoop(x, o, static_cast<uint32_t>(o - base), n0, seed, threshold, scale);
            }
          },
          kGrain);
    });
  }
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p) {
    RECORD_FUNCTION("mmb::dropout", std::vector<c10::IValue>());
    const Seed seed = MakeSeed(NextSeed());
    const auto threshold = static_cast<int32_t>(std::ceil(p * 16777216.0));
    at::Tensor out = at::empty(x.sizes(), x.options());
    Apply(x, out, seed, threshold, p);
    ctx->saved_data["a"] = static_cast<int64_t>(seed.a);
    ctx->saved_data["b"] = static_cast<int64_t>(seed.b);
    ctx->saved_data["p"] = p;
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    RECORD_FUNCTION("mmb::dropout_backward", std::vector<c10::IValue>());
    const Seed seed{static_cast<uint32_t>(ctx->saved_data["a"].toInt()), static_cast<uint32_t>(ctx->saved_data["b"].toInt())};
    const double p = ctx->saved_data["p"].toDouble();
    const at::Tensor g = grads[0].contiguous();
    at::Tensor gx = at::empty(g.sizes(), g.options());
    Apply(g, gx, seed, static_cast<int32_t>(std::ceil(p * 16777216.0)), p);
    return {gx, at::Tensor()};
  }
};

// Dropout in training: the fused function above for contiguous CPU float tensors, libtorch's
// at::dropout otherwise (and for p = 0 or 1, and in eval).
at::Tensor Dropout(const at::Tensor& x, double p, bool train) {
  if (!train || p <= 0.0 || p >= 1.0 || !FastPath(x) || !x.is_contiguous()) return at::dropout(x, p, train);
  return DropoutFn::apply(x, p);
}

// t = a * t + sigma * N(0, 1) elementwise, in place, outside autograd: gradient noise, and the
// modulation's scaling fused with it. Element i takes one half of Box-Muller pair i / 2, so the
// draws do not depend on how the tensor is split across threads.
void ScaleNoiseWith(at::Tensor& t, double a, double sigma, Seed seed, const char* op) {
  TORCH_CHECK(!(t.requires_grad() && at::GradMode::is_enabled()), op,
              ": the tensor requires grad; call it on gradients or inside noGrad()");
  if (!FastPath(t) || !t.is_contiguous()) {
    at::NoGradGuard guard;
    if (a != 1.0) t.mul_(a);
    t.add_(at::randn_like(t).mul_(sigma));
    return;
  }
  RECORD_FUNCTION("mmb::scale_noise", std::vector<c10::IValue>());
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "mmb_scale_noise", [&] {
    const auto sa = static_cast<scalar_t>(a);
    const auto sc = static_cast<scalar_t>(sigma);
    ForEachChunk<scalar_t>(t, kGrain, [&](scalar_t* p, int64_t offset, int64_t n) {
      const auto first = static_cast<uint32_t>(offset);  // FastPath: fewer than 2^32 elements
      // A chunk may start or end in the middle of a pair.
      int64_t k = 0;
      float z0, z1;
      if (first & 1u) {
        kernels::NormalPair(first >> 1, seed, &z0, &z1);
        p[0] = sa * p[0] + sc * static_cast<scalar_t>(z1);
        k = 1;
      }
      const int64_t pairs = (n - k) / 2;
      Noise(p + k, (first + static_cast<uint32_t>(k)) >> 1, pairs, seed, sa, sc);
      k += 2 * pairs;
      if (k < n) {
        kernels::NormalPair((first + static_cast<uint32_t>(k)) >> 1, seed, &z0, &z1);
        p[k] = sa * p[k] + sc * static_cast<scalar_t>(z0);
      }
    });
  });
}

// The same with a fresh seed; off the fast path libtorch draws instead (and no seed is taken).
void ScaleNoise(at::Tensor& t, double a, double sigma, const char* op) {
  if (!FastPath(t) || !t.is_contiguous()) return ScaleNoiseWith(t, a, sigma, Seed{0, 0}, op);
  ScaleNoiseWith(t, a, sigma, MakeSeed(NextSeed()), op);
}

}  // namespace

MMB_TENSOR_FN(dropout, Dropout(T(info, 0), D(info, 1), B(info, 2)))
MMB_FN(addGaussianNoise_) {
  MMB_TRY
  at::Tensor t = T(info, 0);
  const at::Tensor& sigma = T(info, 1);
  if (!FastPath(t) || !t.is_contiguous()) {
    // Off the fast path (CUDA, other dtypes) sigma stays a tensor: it is never read back.
    TORCH_CHECK(!(t.requires_grad() && at::GradMode::is_enabled()),
                "addGaussianNoise_: the tensor requires grad; call it on gradients or inside noGrad()");
    t.add_(at::randn_like(t).mul_(sigma));
  } else {
    ScaleNoise(t, 1.0, sigma.item<double>(), "addGaussianNoise_");
  }
  return info.Env().Undefined();
  MMB_CATCH
}

// foreachScaleNoise_(tensors, scales, sigmas, seeds?): tensors[i] = scales[i] * tensors[i] + sigmas[i] *
// N(0, 1) in place; sigma 0 scales only, scale 1 and sigma 0 skip. The noise of tensor i comes from
// seeds [lo, hi] at 2i (as drawSeed gave them) or, without seeds, from one fresh seed per tensor
// drawn in list order.
MMB_FN(foreachScaleNoise_) {
  MMB_TRY
  auto ts = TL(info, 0);
  std::vector<int64_t> seeds;
  if (info.Length() > 3 && !info[3].IsUndefined()) seeds = IL(info, 3);
  TORCH_CHECK(seeds.empty() || seeds.size() == 2 * ts.size(), "foreachScaleNoise_: seeds must hold two numbers per tensor");
  std::vector<double> scales, sigmas;
  for (const auto& s : SL(info, 1)) scales.push_back(s.toDouble());
  for (const auto& s : SL(info, 2)) sigmas.push_back(s.toDouble());
  TORCH_CHECK(scales.size() == ts.size() && sigmas.size() == ts.size(),
              "foreachScaleNoise_: tensor, scale and sigma lists differ in length");
  for (size_t i = 0; i < ts.size(); i++) {
    TORCH_CHECK(std::isfinite(scales[i]) && std::isfinite(sigmas[i]) && sigmas[i] >= 0,
                "foreachScaleNoise_: scales must be finite and sigmas finite and >= 0");
    if (sigmas[i] > 0 && !seeds.empty())
      ScaleNoiseWith(ts[i], scales[i], sigmas[i], Seed{static_cast<uint32_t>(seeds[2 * i]), static_cast<uint32_t>(seeds[2 * i + 1])},
                     "foreachScaleNoise_");
    else if (sigmas[i] > 0)
      ScaleNoise(ts[i], scales[i], sigmas[i], "foreachScaleNoise_");
    else if (scales[i] != 1.0) {
      TORCH_CHECK(!(ts[i].requires_grad() && at::GradMode::is_enabled()),
                  "foreachScaleNoise_: the tensor requires grad; call it on gradients or inside noGrad()");
      ts[i].mul_(scales[i]);
    }
  }
  return info.Env().Undefined();
  MMB_CATCH
}

// drawSeed() -> [lo, hi]: the next noise seed from libtorch's default CPU generator (what a noise
// call would take now), for noise applied later.
MMB_FN(drawSeed) {
  MMB_TRY
  const Seed s = MakeSeed(NextSeed());
  auto arr = Napi::Array::New(info.Env(), 2);
  arr.Set(uint32_t{0}, static_cast<double>(s.a));
  arr.Set(uint32_t{1}, static_cast<double>(s.b));
  return arr;
  MMB_CATCH
}

namespace mmb {
void ScaleNoiseSeeded(at::Tensor& t, double a, double sigma, kernels::Seed seed) {
  ScaleNoiseWith(t, a, sigma, seed, "adamStep_");
}
kernels::Seed DrawSeed() { return MakeSeed(NextSeed()); }

void RegisterRandom(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(dropout);
  MMB_EXPORT(addGaussianNoise_);
  MMB_EXPORT(foreachScaleNoise_);
  MMB_EXPORT(drawSeed);
}
}  // namespace mmb
