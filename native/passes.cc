// Whole-gradient passes: the sums and sums of squares of many tensors in one call (clipping's norm
// and the modulation's standard deviations read each gradient once instead of two or three times,
// and the numbers cross to JavaScript in one array), and which instruction set the loops use.
#include <ATen/record_function.h>

#include <algorithm>
#include <mutex>
#include <tuple>
#include <vector>

#include "chunks.h"
#include "common.h"
#include "kernels.h"

using namespace mmb;

namespace {

constexpr int64_t kGrain = 1 << 15;

void Moments(const float* p, int64_t n, double* s, double* q) { kernels::Active().momentsF(p, n, s, q); }
void Moments(const double* p, int64_t n, double* s, double* q) { kernels::Active().momentsD(p, n, s, q); }

// Sum and sum of squares of t's elements in double. CPU float/double tensors go through the
// vectorised loop on libtorch's threads; the pieces are added in element order, so the result
// depends only on how many threads split the tensor. Others go through libtorch.
std::pair<double, double> TensorMoments(const at::Tensor& t) {
  if (t.numel() == 0) return {0.0, 0.0};
  const bool fast = t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble) && t.is_contiguous();
  if (!fast) {
    at::NoGradGuard guard;
    const at::Tensor d = t.to(at::kDouble);
    return {d.sum().item<double>(), d.square().sum().item<double>()};
  }
  std::vector<std::tuple<int64_t, double, double>> pieces;
  std::mutex lock;
  at::Tensor view = t.detach();
  AT_DISPATCH_FLOATING_TYPES(view.scalar_type(), "mmb_moments", [&] {
    ForEachChunk<scalar_t>(view, kGrain, [&](const scalar_t* p, int64_t first, int64_t n) {
      double s = 0, q = 0;
      Moments(p, n, &s, &q);
      std::lock_guard<std::mutex> g(lock);
      pieces.emplace_back(first, s, q);
    });
  });
  std::sort(pieces.begin(), pieces.end());
  double s = 0, q = 0;
  for (const auto& [offset, ps, pq] : pieces) {
    s += ps;
    q += pq;
  }
  return {s, q};
}

}  // namespace

// foreachMoments(tensors) -> Float64Array [sum_0, sumSq_0, sum_1, sumSq_1, ...], in double.
MMB_FN(foreachMoments) {
  MMB_TRY
  RECORD_FUNCTION("mmb::moments", std::vector<c10::IValue>());
  auto ts = TL(info, 0);
  std::vector<double> out(2 * ts.size());
  for (size_t i = 0; i < ts.size(); i++) std::tie(out[2 * i], out[2 * i + 1]) = TensorMoments(ts[i]);
  auto arr = Napi::Float64Array::New(info.Env(), out.size());
  std::copy(out.begin(), out.end(), arr.Data());
  return arr;
  MMB_CATCH
}

// simdLevel() -> "avx512" | "avx2" | "baseline": the instruction set of the addon's own loops.
MMB_FN(simdLevel) {
  MMB_TRY
  return Napi::String::New(info.Env(), kernels::Active().name);
  MMB_CATCH
}

namespace mmb {
void RegisterPasses(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(foreachMoments);
  MMB_EXPORT(simdLevel);
}
}  // namespace mmb
