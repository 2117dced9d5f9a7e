// A fused Adam/AdamW step for CPU tensors.
//
// Written here rather than composed from libtorch ops for memory traffic: torch.optim.Adam's
// foreach form makes about 25 passes over parameter-sized buffers per step, this loop makes one
// (read param, grad, exp_avg, exp_avg_sq; write param, exp_avg, exp_avg_sq). On a model of 34M
// parameters that is ~150 ms of a ~1.5 s step on two cores (libtorch 1.13 fuses Adam on CUDA
// only). The arithmetic is torch.optim.Adam's single-tensor form, op for op, in the tensor's
// dtype; the loop runs on libtorch's threads through TensorIterator.
#include <ATen/TensorIterator.h>

#include <algorithm>
#include <cmath>

#include "common.h"

using namespace mmb;

namespace {

struct AdamHyper {
  double lr, beta1, beta2, eps, weightDecay;
  bool decoupled, amsgrad;
};

// Per-step coefficients in the parameter dtype, as torch.optim.Adam rounds its Python floats.
template <typename T>
struct AdamCoef {
  T decay, wd, b1, c1, b2, c2, bc2, eps, neg;
  bool coupledDecay, decoupledDecay;
};

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

// Contiguous chunks, in a form the compiler vectorises; built for AVX2 and for the baseline, the
// CPU picks at load time.
#define MMB_ADAM_CONTIG(T)                                                                                       \
  __attribute__((target_clones("avx2", "default"))) void AdamContig(T* __restrict p, const T* __restrict g,       \
                                                                     T* __restrict m, T* __restrict v,            \
                                                                     T* __restrict vmax, int64_t n,               \
                                                                     const AdamCoef<T>& k) {                      \
    if (vmax)                                                                                                    \
      for (int64_t i = 0; i < n; i++) AdamElement(p[i], g[i], m[i], v[i], vmax + i, k);                          \
    else                                                                                                         \
      for (int64_t i = 0; i < n; i++) AdamElement<T>(p[i], g[i], m[i], v[i], nullptr, k);                        \
  }
MMB_ADAM_CONTIG(float)
MMB_ADAM_CONTIG(double)
#undef MMB_ADAM_CONTIG

void AdamOne(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, at::Tensor* vmax, const AdamHyper& h,
             int64_t step) {
  TORCH_CHECK(p.device().is_cpu(), "adamStep_: fused Adam runs on CPU tensors; use the foreach form elsewhere");
  TORCH_CHECK(p.scalar_type() == at::kFloat || p.scalar_type() == at::kDouble,
              "adamStep_: fused Adam needs float32 or float64 parameters, got ", p.scalar_type());
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
    iter.for_each([&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
      const int nops = gi + 1;
      bool contiguous = n1 == 1;
      for (int o = 0; o < nops; o++) contiguous = contiguous && strides[o] == static_cast<int64_t>(sizeof(T));
      if (contiguous) {
        AdamContig(reinterpret_cast<T*>(data[0]), reinterpret_cast<const T*>(data[gi]), reinterpret_cast<T*>(data[1]),
                   reinterpret_cast<T*>(data[2]), vmax ? reinterpret_cast<T*>(data[3]) : nullptr, n0, k);
        return;
      }
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
  for (size_t i = 0; i < n; i++) AdamOne(ps[i], gs[i], ms[i], vs[i], h.amsgrad ? &vmaxs[i] : nullptr, h, steps[i]);
  return info.Env().Undefined();
  MMB_CATCH
}

namespace mmb {
void RegisterAdam(Napi::Env env, Napi::Object exports) { MMB_EXPORT(adamStep_); }
}  // namespace mmb
