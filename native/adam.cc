// A fused Adam/AdamW step for CPU tensors.
//
// Written here rather than composed from libtorch ops for memory traffic: torch.optim.Adam's
// foreach form makes about 25 passes over parameter-sized buffers per step, this loop makes one
// (read param, grad, exp_avg, exp_avg_sq; write param, exp_avg, exp_avg_sq). On a model of 34M
// parameters that is ~150 ms of a ~1.5 s step on two cores (libtorch 1.13 fuses Adam on CUDA
// only). The arithmetic is torch.optim.Adam's single-tensor form, op for op, in the tensor's
// dtype; the loop runs on libtorch's threads through TensorIterator.
#include <ATen/TensorIterator.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>

#include "common.h"
#include "kernels.h"
#include "noise.h"

using namespace mmb;

namespace {

struct AdamHyper {
  double lr, beta1, beta2, eps, weightDecay;
  bool decoupled, amsgrad;
};

using kernels::AdamCoef;

// One element of torch.optim.Adam's single-tensor update, op for op. vmax is null without amsgrad.
template <typename T>
inline __attribute__((always_inline)) void AdamElement(T& p, T g, T& m, T& v, T* vmax, const AdamCoef<T>& k) {
  const T param = k.decoupledDecay ? p * k.decay : p;  // param.mul_(1 - lr * wd)
  const T grad = k.coupledDecay ? g + k.wd * param : g;  // grad.add(param, alpha=wd)
  const T m1 = m * k.b1 + k.c1 * grad;                   // exp_avg.mul_(b1).add_(grad, alpha=1-b1)
  const T v1 = v * k.b2 + k.c2 * grad * grad;            // exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1-b2)
  T second = v1;
  if (vmax) {
    second = *vmax > v1 ? *vmax : v1;  // torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    *vmax = second;
  }
  p = param + k.neg * (m1 / (std::sqrt(second) / k.bc2 + k.eps));  // param.addcdiv_(exp_avg, denom, -step_size)
  m = m1;
  v = v1;
}

// The gradient the update uses: a * g, plus sigma * z when noise is folded in (z drawn from seed as
// foreachScaleNoise_ draws it, so the result is the same as editing the gradient first).
struct GradEdit {
  double a = 1.0, sigma = 0.0;
  kernels::Seed seed{0, 0};
};

// One contiguous chunk starting at element `first` of its tensor. With noise, element i takes half
// of Box-Muller pair i / 2; a chunk's odd edges are done one element at a time.
#define MMB_ADAM_CHUNK(T, PLAIN, NOISE)                                                                              \
  void AdamChunk(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, uint32_t first, const GradEdit& e,                \
                 const AdamCoef<T>& k) {                                                                             \
    const auto& table = kernels::Active();                                                                           \
    const T a = static_cast<T>(e.a), sigma = static_cast<T>(e.sigma);                                                \
    if (e.sigma == 0.0) {                                                                                            \
      table.PLAIN(p, g, m, v, vmax, n, a, k);                                                                        \
      return;                                                                                                        \
    }                                                                                                                \
    auto one = [&](int64_t i, float z) {                                                                             \
      AdamElement<T>(p[i], a * g[i] + sigma * static_cast<T>(z), m[i], v[i], vmax ? vmax + i : nullptr, k);          \
    };                                                                                                               \
    int64_t i = 0;                                                                                                   \
    float z0, z1;                                                                                                    \
    if (first & 1u) {                                                                                                \
      kernels::NormalPair(first >> 1, e.seed, &z0, &z1);                                                             \
      one(0, z1);                                                                                                    \
      i = 1;                                                                                                         \
    }                                                                                                                \
    const int64_t pairs = (n - i) / 2;                                                                               \
    table.NOISE(p + i, g + i, m + i, v + i, vmax ? vmax + i : nullptr, (first + static_cast<uint32_t>(i)) >> 1, pairs, \
                e.seed, a, sigma, k);                                                                                \
    i += 2 * pairs;                                                                                                  \
    if (i < n) {                                                                                                     \
      kernels::NormalPair((first + static_cast<uint32_t>(i)) >> 1, e.seed, &z0, &z1);                                \
      one(i, z0);                                                                                                    \
    }                                                                                                                \
  }
MMB_ADAM_CHUNK(float, adamF, adamNoiseF)
MMB_ADAM_CHUNK(double, adamD, adamNoiseD)
#undef MMB_ADAM_CHUNK

void AdamOne(at::Tensor& p, const at::Tensor& gIn, at::Tensor& m, at::Tensor& v, at::Tensor* vmax, const AdamHyper& h,
             int64_t step, const GradEdit& edit) {
  TORCH_CHECK(p.device().is_cpu(), "adamStep_: fused Adam runs on CPU tensors; use the foreach form elsewhere");
  TORCH_CHECK(p.scalar_type() == at::kFloat || p.scalar_type() == at::kDouble,
              "adamStep_: fused Adam needs float32 or float64 parameters, got ", p.scalar_type());
  TORCH_CHECK(p.numel() < (int64_t{1} << 32), "adamStep_: fused Adam takes tensors of fewer than 2^32 elements");
  // The noise's element numbering needs every operand contiguous; otherwise edit the gradient first.
  const bool contiguous = p.is_contiguous() && gIn.is_contiguous() && m.is_contiguous() && v.is_contiguous() &&
                          (!vmax || vmax->is_contiguous()) && gIn.sizes() == p.sizes();
  at::Tensor g = gIn;
  GradEdit e = edit;
  if (!contiguous && (e.sigma != 0.0 || e.a != 1.0)) {
    g = gIn.contiguous().clone();
    ScaleNoiseSeeded(g, e.a, e.sigma, e.seed);
    e = GradEdit{};
  }
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(step));
  const double bc2Sqrt = std::sqrt(1.0 - std::pow(h.beta2, static_cast<double>(step)));
  auto cfg = at::TensorIteratorConfig();
  cfg.set_check_mem_overlap(false).check_all_same_dtype(true).resize_outputs(false);
  cfg.add_output(p).add_output(m).add_output(v);
  if (vmax) cfg.add_output(*vmax);
  cfg.add_input(g);
  auto iter = cfg.build();
  const int gi = vmax ? 4 : 3;  // operand index of the gradient
  AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "mmb_adam_step", [&] {
    using T = scalar_t;
    const AdamCoef<T> k{static_cast<T>(1.0 - h.lr * h.weightDecay),
                        static_cast<T>(h.weightDecay),
                        static_cast<T>(h.beta1),
                        static_cast<T>(1.0 - h.beta1),
                        static_cast<T>(h.beta2),
                        static_cast<T>(1.0 - h.beta2),
                        static_cast<T>(bc2Sqrt),
                        static_cast<T>(h.eps),
                        static_cast<T>(-h.lr / bc1),
                        !h.decoupled && h.weightDecay != 0.0,
                        h.decoupled && h.weightDecay != 0.0};
    const T* pBase = p.data_ptr<T>();
    iter.for_each([&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
      const int nops = gi + 1;
      bool dense = n1 == 1;
      for (int o = 0; o < nops; o++) dense = dense && strides[o] == static_cast<int64_t>(sizeof(T));
      if (dense) {
        T* pp = reinterpret_cast<T*>(data[0]);
        AdamChunk(pp, reinterpret_cast<const T*>(data[gi]), reinterpret_cast<T*>(data[1]), reinterpret_cast<T*>(data[2]),
                     vmax ? reinterpret_cast<T*>(data[3]) : nullptr, n0, static_cast<uint32_t>(pp - pBase), e, k);
        return;
      }
      // Only reached without an edit (see above): strided operands, element by element.
      for (int64_t j = 0; j < n1; j++) {
        char* ptr[5];
        for (int o = 0; o < nops; o++) ptr[o] = data[o] + j * strides[nops + o];
        auto at = [&](int o, int64_t i) { return reinterpret_cast<T*>(ptr[o] + i * strides[o]); };
        for (int64_t i = 0; i < n0; i++) AdamElement(*at(0, i), *at(gi, i), *at(1, i), *at(2, i), vmax ? at(3, i) : nullptr, k);
      }
    });
  });
}

}  // namespace

// adamStep_(params, grads, expAvgs, expAvgSqs, maxExpAvgSqs (empty unless amsgrad), steps,
//           lr, beta1, beta2, eps, weightDecay, decoupled)
MMB_FN(adamStep_) {
  MMB_TRY
  RECORD_FUNCTION("mmb::adam_step", std::vector<c10::IValue>());
  auto ps = TL(info, 0);
  auto gs = TL(info, 1);
  auto ms = TL(info, 2);
  auto vs = TL(info, 3);
  auto vmaxs = TL(info, 4);
  auto steps = IL(info, 5);
  AdamHyper h{D(info, 6), D(info, 7), D(info, 8), D(info, 9), D(info, 10), B(info, 11), !vmaxs.empty()};
  const size_t n = ps.size();
  TORCH_CHECK(gs.size() == n && ms.size() == n && vs.size() == n && steps.size() == n && (vmaxs.empty() || vmaxs.size() == n),
              "adamStep_: parameter, gradient, state and step lists differ in length");
  // Optional pending gradient edits: scales, sigmas and seeds ([lo, hi] per tensor), empty for none.
  std::vector<GradEdit> edits(n);
  if (info.Length() > 12 && !info[12].IsUndefined()) {
    const auto scales = SL(info, 12);
    const auto sigmas = SL(info, 13);
    const auto seeds = IL(info, 14);
    TORCH_CHECK(scales.size() == n && sigmas.size() == n && seeds.size() == 2 * n,
                "adamStep_: gradient edit lists differ in length from the parameters");
    for (size_t i = 0; i < n; i++) {
      edits[i].a = scales[i].toDouble();
      edits[i].sigma = sigmas[i].toDouble();
      TORCH_CHECK(std::isfinite(edits[i].a) && std::isfinite(edits[i].sigma) && edits[i].sigma >= 0,
                  "adamStep_: gradient edits need finite scales and finite sigmas >= 0");
      edits[i].seed = kernels::Seed{static_cast<uint32_t>(seeds[2 * i]), static_cast<uint32_t>(seeds[2 * i + 1])};
    }
  }
  for (size_t i = 0; i < n; i++) AdamOne(ps[i], gs[i], ms[i], vs[i], h.amsgrad ? &vmaxs[i] : nullptr, h, steps[i], edits[i]);
  return info.Env().Undefined();
  MMB_CATCH
}

namespace mmb {
void RegisterAdam(Napi::Env env, Napi::Object exports) { MMB_EXPORT(adamStep_); }
}  // namespace mmb
