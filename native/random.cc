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
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorIterator.h>

#include <cmath>
#include <cstdint>
#include <mutex>

#include "common.h"

using namespace mmb;

namespace {

constexpr int64_t kGrain = 1 << 14;

// One draw from libtorch's default generator: the per-call seed.
uint64_t NextSeed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// A 32-bit integer hash with good avalanche (Wellons' "lowbias32"); applied twice with the two
// halves of the seed it is the generator: bits(i) = H(H(i ^ s0) + s1). 32-bit so it vectorises.
inline uint32_t Hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct Seed {
  uint32_t a, b;
  explicit Seed(uint64_t s) : a(static_cast<uint32_t>(s)), b(static_cast<uint32_t>(s >> 32)) {}
};

inline float AsFloat(uint32_t u) { return __builtin_bit_cast(float, u); }
inline uint32_t AsUint(float f) { return __builtin_bit_cast(uint32_t, f); }

// ln(u) for u in (0, 1], to ~1e-7: exponent and mantissa in [sqrt(1/2), sqrt(2)), then the atanh
// series of the mantissa. Branch-free so the caller's loop vectorises.
inline float LogUnit(float u) {
  const uint32_t bits = AsUint(u);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;
  float m = AsFloat((bits & 0x7fffffu) | 0x3f800000u);
  const int32_t big = m > 1.41421356f;
  m = m * (1.0f - 0.5f * static_cast<float>(big));
  e = e + big;
  const float f = m - 1.0f;
  const float s = f / (2.0f + f);
  const float s2 = s * s;
  const float poly = 2.0f + s2 * (0.666666667f + s2 * (0.4f + s2 * (0.285714286f + s2 * 0.222222222f)));
  return static_cast<float>(e) * 0.693147181f + s * poly;
}

// cos and sin of 2 pi u for u in [0, 1), to ~2e-7: Taylor series on [-pi/4, pi/4) about the
// centre of u's quadrant, then a rotation by that centre. Branch-free.
inline void SinCos2Pi(float u, float* c, float* sn) {
  const float t = u * 4.0f;
  const int32_t q = static_cast<int32_t>(t);
  const float th = (t - static_cast<float>(q) - 0.5f) * 1.57079633f;
  const float t2 = th * th;
  const float st = th * (1.0f + t2 * (-0.166666667f + t2 * (0.00833333333f + t2 * (-0.000198412698f + t2 * 2.75573192e-6f))));
  const float ct = 1.0f + t2 * (-0.5f + t2 * (0.0416666667f + t2 * (-0.00138888889f + t2 * 2.48015873e-5f)));
  // The centre (q + 1/2) pi/2 has cos = +-1/sqrt2 (+ for q = 0, 3) and sin = +-1/sqrt2 (+ for q = 0, 1).
  const float cb = 0.707106781f * static_cast<float>(1 - 2 * (((q + 1) >> 1) & 1));
  const float sb = 0.707106781f * static_cast<float>(1 - 2 * ((q >> 1) & 1));
  *c = cb * ct - sb * st;
  *sn = sb * ct + cb * st;
}

// The loops below are built for AVX2 and for the baseline; the CPU picks at load time.

// mask[i] = scale where 24 random bits >= threshold, else 0. P(keep) = 1 - threshold / 2^24.
#define MMB_MASK_BLOCK(T)                                                                                 \
  __attribute__((target_clones("avx2", "default"))) void MaskBlock(T* __restrict out, uint32_t first,     \
                                                                    int64_t n, Seed s, int32_t threshold, \
                                                                    T scale) {                            \
    for (int64_t k = 0; k < n; k++) {                                                                     \
      const uint32_t i = first + static_cast<uint32_t>(k);                                                \
      const int32_t u = static_cast<int32_t>(Hash32(Hash32(i ^ s.a) + s.b) >> 8);                         \
      out[k] = u >= threshold ? scale : T(0);                                                             \
    }                                                                                                     \
  }
MMB_MASK_BLOCK(float)
MMB_MASK_BLOCK(double)
#undef MMB_MASK_BLOCK

// Box-Muller over element pairs (2j, 2j+1) of a contiguous run starting at an even element:
// p[2j] += sigma r cos(2 pi u2), p[2j+1] += sigma r sin(2 pi u2), r = sqrt(-2 ln u1), with u1 in
// (0, 1] and u2 in [0, 1) from 24 bits each (so |noise| <= 5.8 sigma; P(|N(0,1)| > 5.8) ~ 7e-9).
inline void BoxMuller(uint32_t pair, Seed s, float* z0, float* z1) {
  const uint32_t a = Hash32(Hash32(pair ^ s.a) + s.b);
  const uint32_t b = Hash32(Hash32(pair ^ s.b) + s.a);
  const float u1 = static_cast<float>((a >> 8) + 1) * 0x1p-24f;
  const float u2 = static_cast<float>(b >> 8) * 0x1p-24f;
  const float r = std::sqrt(-2.0f * LogUnit(u1));
  float c, sn;
  SinCos2Pi(u2, &c, &sn);
  *z0 = r * c;
  *z1 = r * sn;
}
#define MMB_NOISE_PAIRS(T)                                                                              \
  __attribute__((target_clones("avx2", "default"))) void NoisePairs(T* __restrict p, uint32_t firstPair, \
                                                                     int64_t npairs, Seed s, T sigma) { \
    for (int64_t j = 0; j < npairs; j++) {                                                              \
      float z0, z1;                                                                                     \
      BoxMuller(firstPair + static_cast<uint32_t>(j), s, &z0, &z1);                                     \
      p[2 * j] += sigma * static_cast<T>(z0);                                                           \
      p[2 * j + 1] += sigma * static_cast<T>(z1);                                                       \
    }                                                                                                   \
  }
MMB_NOISE_PAIRS(float)
MMB_NOISE_PAIRS(double)
#undef MMB_NOISE_PAIRS

// Calls f(chunk pointer, index of its first element, length) over the contiguous tensor t's
// elements, in chunks on libtorch's threads.
template <typename scalar_t, typename F>
void ForEachChunk(at::Tensor& t, const F& f) {
  scalar_t* base = t.data_ptr<scalar_t>();
  auto iter = at::TensorIteratorConfig()
                  .set_check_mem_overlap(false)
                  .check_all_same_dtype(false)
                  .resize_outputs(false)
                  .add_output(t)
                  .build();
  iter.for_each(
      [&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
        for (int64_t j = 0; j < n1; j++) {
          scalar_t* p = reinterpret_cast<scalar_t*>(data[0] + j * strides[1]);
          TORCH_CHECK(strides[0] == static_cast<int64_t>(sizeof(scalar_t)), "random kernels need contiguous chunks");
          f(p, static_cast<uint32_t>(p - base), n0);
        }
      },
      kGrain);
}

bool FastPath(const at::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble) &&
         t.numel() < (int64_t{1} << 32);
}

// x * mask, mask = 1/(1-p) where a uniform draw >= p, else 0; autograd records the multiply,
// exactly as at::dropout does.
at::Tensor Dropout(const at::Tensor& x, double p, bool train) {
  if (!train || p <= 0.0 || p >= 1.0 || !FastPath(x)) return at::dropout(x, p, train);
  auto mask = at::empty(x.sizes(), x.options().requires_grad(false).memory_format(at::MemoryFormat::Contiguous));
  const Seed seed(NextSeed());
  const auto threshold = static_cast<int32_t>(std::ceil(p * 16777216.0));
  AT_DISPATCH_FLOATING_TYPES(mask.scalar_type(), "mmb_dropout", [&] {
    const auto scale = static_cast<scalar_t>(1.0 / (1.0 - p));
    ForEachChunk<scalar_t>(mask, [&](scalar_t* out, uint32_t first, int64_t n) { MaskBlock(out, first, n, seed, threshold, scale); });
  });
  return x * mask;
}

// t += sigma * N(0, 1) elementwise, in place, outside autograd (gradient noise).
void AddGaussianNoise(at::Tensor& t, const at::Tensor& sigma) {
  if (!FastPath(t) || !t.is_contiguous()) {
    t.add_(at::randn_like(t).mul_(sigma));
    return;
  }
  TORCH_CHECK(!(t.requires_grad() && at::GradMode::is_enabled()),
              "addGaussianNoise_: the tensor requires grad; call it on gradients or inside noGrad()");
  const double s = sigma.item<double>();
  const Seed seed(NextSeed());
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "mmb_add_gaussian_noise", [&] {
    const auto sc = static_cast<scalar_t>(s);
    ForEachChunk<scalar_t>(t, [&](scalar_t* p, uint32_t first, int64_t n) {
      // Element i takes one half of pair i/2; a chunk may start or end in the middle of a pair.
      int64_t k = 0;
      float z0, z1;
      if (first & 1u) {
        BoxMuller(first >> 1, seed, &z0, &z1);
        p[0] += sc * static_cast<scalar_t>(z1);
        k = 1;
      }
      const int64_t pairs = (n - k) / 2;
      NoisePairs(p + k, (first + static_cast<uint32_t>(k)) >> 1, pairs, seed, sc);
      k += 2 * pairs;
      if (k < n) {
        BoxMuller((first + static_cast<uint32_t>(k)) >> 1, seed, &z0, &z1);
        p[k] += sc * static_cast<scalar_t>(z0);
      }
    });
  });
}

}  // namespace

MMB_TENSOR_FN(dropout, Dropout(T(info, 0), D(info, 1), B(info, 2)))
MMB_FN(addGaussianNoise_) {
  MMB_TRY
  at::Tensor t = T(info, 0);
  AddGaussianNoise(t, T(info, 1));
  return info.Env().Undefined();
  MMB_CATCH
}

namespace mmb {
void RegisterRandom(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(dropout);
  MMB_EXPORT(addGaussianNoise_);
}
}  // namespace mmb
