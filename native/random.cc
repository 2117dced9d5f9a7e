// Random draws for training: dropout masks and Gaussian gradient noise.
//
// The one place where the addon computes numbers itself rather than calling libtorch. libtorch
// 1.13's CPU bernoulli_/normal_ are serial loops over a Mersenne Twister (measured here: ~18 ns
// per element for dropout, ~7 ns for randn), and a training step of the Ada2I preset draws ~60M
// of them, so on CPU they cost as much as the matmuls they sit between. These kernels use a
// counter-based generator instead: element i's bits are SplitMix64 of (seed, i), so the work is
// split across libtorch's own threads (TensorIterator::for_each; a parallel_for compiled here
// would need this addon built with OpenMP) and the result does not depend on how many threads
// ran it. The seed of each call is one draw from libtorch's default CPU generator, so
// manual_seed still fixes every mask and every noise tensor. Other devices and dtypes, and the
// edge cases p = 0 and p = 1, go to libtorch.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorIterator.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>

#include "common.h"

using namespace mmb;

namespace {

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
constexpr int64_t kGrain = 1 << 14;

inline uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// One draw from libtorch's default generator: the per-call seed.
uint64_t NextSeed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

// The stream of one element's rare extra draws: SplitMix64 outputs at counters base+1, base+2, ...
struct Stream {
  uint64_t seed, ctr;
  uint64_t Next() { return Mix(seed + (++ctr) * kGolden); }
  // Uniform on (0, 1), never 0 (it goes into log).
  double Open01() { return (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53; }
};

// Marsaglia & Tsang's ziggurat for N(0, 1) with 128 layers, fed 32 random bits per attempt: a
// 7-bit layer index and, from the other 25 bits, a signed 24-bit magnitude (plenty for float
// noise, and the layer and the magnitude do not share bits as they do in the original). Most
// samples end at the first comparison; the rest finish in Slow() with draws from their own stream.
struct Ziggurat {
  static constexpr double kR = 3.442619855899;
  static constexpr double kM = 16777216.0;  // 2^24: magnitudes are in [-2^24, 2^24)
  uint32_t kn[128];
  double wn[128], fn[128];
  float wnf[128];
  Ziggurat() {
    const double vn = 9.91256303526217e-3;
    double dn = kR, tn = dn;
    const double q = vn / std::exp(-0.5 * dn * dn);
    kn[0] = static_cast<uint32_t>((dn / q) * kM);
    kn[1] = 0;
    wn[0] = q / kM;
    wn[127] = dn / kM;
    fn[0] = 1.0;
    fn[127] = std::exp(-0.5 * dn * dn);
    for (int i = 126; i >= 1; i--) {
      dn = std::sqrt(-2.0 * std::log(vn / dn + std::exp(-0.5 * dn * dn)));
      kn[i + 1] = static_cast<uint32_t>((dn / tn) * kM);
      tn = dn;
      fn[i] = std::exp(-0.5 * dn * dn);
      wn[i] = dn / kM;
    }
    for (int i = 0; i < 128; i++) wnf[i] = static_cast<float>(wn[i]);
  }
  const float* Widths(float) const { return wnf; }
  const double* Widths(double) const { return wn; }
  // One attempt from 32 bits; true with *x set when it lands in a layer's inner rectangle.
  bool Fast(uint32_t bits, int32_t* hz, uint32_t* iz, double* x) const {
    *iz = bits & 127u;
    *hz = static_cast<int32_t>(bits) >> 7;
    const uint32_t mag = static_cast<uint32_t>(*hz < 0 ? -*hz : *hz);
    *x = *hz * wn[*iz];
    return mag < kn[*iz];
  }
  // Finishes an attempt that missed the inner rectangle, then retries until one is accepted.
  double Slow(int32_t hz, uint32_t iz, double x, Stream& s) const {
    for (;;) {
      if (iz == 0) {  // the tail beyond kR
        double t, y;
        do {
          t = -std::log(s.Open01()) / kR;
          y = -std::log(s.Open01());
        } while (y + y < t * t);
        return hz > 0 ? kR + t : -kR - t;
      }
      if (fn[iz] + s.Open01() * (fn[iz - 1] - fn[iz]) < std::exp(-0.5 * x * x)) return x;
      if (Fast(static_cast<uint32_t>(s.Next() >> 32), &hz, &iz, &x)) return x;
    }
  }
};

const Ziggurat& Zig() {
  static const Ziggurat z;
  return z;
}

// 32 random bits of element i: one SplitMix64 output serves two neighbouring elements.
inline uint32_t Bits32(uint64_t seed, uint64_t i) {
  const uint64_t r = Mix(seed + ((i >> 1) + 1) * kGolden);
  return static_cast<uint32_t>(r >> ((i & 1) << 5));
}

// Calls f(pointer, index) for every element of the contiguous tensor t, on libtorch's threads;
// index is the element's position in t, which keys its random bits.
template <typename scalar_t, typename F>
void ForEachIndexed(at::Tensor& t, const F& f) {
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
          char* row = data[0] + j * strides[1];
          for (int64_t k = 0; k < n0; k++) {
            scalar_t* p = reinterpret_cast<scalar_t*>(row + k * strides[0]);
            f(p, static_cast<uint64_t>(p - base));
          }
        }
      },
      kGrain);
}

constexpr int64_t kBlock = 2048;

// The ziggurat's first attempt for a block of contiguous elements, in a form the compiler
// vectorises (built for AVX2 and for the baseline; the CPU picks at load time): p += s * x where
// the attempt lands in its layer's inner rectangle, else rejected[i] = 1 and p is left alone.
#define MMB_NOISE_BLOCK(T)                                                                              \
  __attribute__((target_clones("avx2", "default"))) void NoiseBlock(                                    \
      T* __restrict p, uint64_t first, int64_t n, uint64_t seed, T s, const uint32_t* __restrict kn,    \
      const T* __restrict wn, uint8_t* __restrict rejected) {                                           \
    for (int64_t i = 0; i < n; i++) {                                                                   \
      const uint32_t bits = Bits32(seed, first + static_cast<uint64_t>(i));                             \
      const uint32_t iz = bits & 127u;                                                                  \
      const int32_t hz = static_cast<int32_t>(bits) >> 7;                                               \
      const uint32_t mag = static_cast<uint32_t>(hz < 0 ? -hz : hz);                                    \
      const bool ok = mag < kn[iz];                                                                     \
      p[i] += ok ? s * (static_cast<T>(hz) * wn[iz]) : T(0);                                            \
      rejected[i] = !ok;                                                                                \
    }                                                                                                   \
  }
MMB_NOISE_BLOCK(float)
MMB_NOISE_BLOCK(double)
#undef MMB_NOISE_BLOCK

bool FastPath(const at::Tensor& t) {
  return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble);
}

// x * mask, mask = 1/(1-p) where a uniform draw >= p, else 0; autograd records the multiply,
// exactly as at::dropout does.
at::Tensor Dropout(const at::Tensor& x, double p, bool train) {
  if (!train || p <= 0.0 || p >= 1.0 || !FastPath(x)) return at::dropout(x, p, train);
  auto mask = at::empty(x.sizes(), x.options().requires_grad(false).memory_format(at::MemoryFormat::Contiguous));
  const uint64_t seed = NextSeed();
  AT_DISPATCH_FLOATING_TYPES(mask.scalar_type(), "mmb_dropout", [&] {
    const scalar_t scale = static_cast<scalar_t>(1.0 / (1.0 - p));
    // 24 random bits per element: P(keep) = 1 - ceil(p * 2^24) / 2^24. Branch-free: a kept or
    // dropped element is a coin flip the branch predictor cannot learn (measured: 4x slower).
    const int64_t threshold = static_cast<int64_t>(std::ceil(p * 16777216.0));
    ForEachIndexed<scalar_t>(mask, [&](scalar_t* out, uint64_t i) {
      const int64_t u = static_cast<int64_t>(Bits32(seed, i) >> 8);
      // 1 when u >= threshold, by arithmetic (a comparison compiles to a branch here).
      const uint64_t keep = static_cast<uint64_t>(threshold - 1 - u) >> 63;
      *out = scale * static_cast<scalar_t>(keep);
    });
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
  const uint64_t seed = NextSeed();
  const Ziggurat& z = Zig();
  AT_DISPATCH_FLOATING_TYPES(t.scalar_type(), "mmb_add_gaussian_noise", [&] {
    scalar_t* base = t.data_ptr<scalar_t>();
    const scalar_t sc = static_cast<scalar_t>(s);
    auto iter = at::TensorIteratorConfig()
                    .set_check_mem_overlap(false)
                    .check_all_same_dtype(false)
                    .resize_outputs(false)
                    .add_output(t)
                    .build();
    iter.for_each(
        [&](char** data, const int64_t* strides, int64_t n0, int64_t n1) {
          TORCH_CHECK(n1 == 1 && strides[0] == static_cast<int64_t>(sizeof(scalar_t)), "addGaussianNoise_: non-contiguous chunk");
          scalar_t* p = reinterpret_cast<scalar_t*>(data[0]);
          const uint64_t first = static_cast<uint64_t>(p - base);
          uint8_t rejected[kBlock];
          for (int64_t b = 0; b < n0; b += kBlock) {
            const int64_t len = std::min<int64_t>(kBlock, n0 - b);
            NoiseBlock(p + b, first + b, len, seed, sc, z.kn, z.Widths(scalar_t()), rejected);
            // ~1.2% of elements missed their layer's inner rectangle: finish them one by one,
            // with extra draws from their own stream, far from the counters the block used.
            for (int64_t i = 0; i < len; i++) {
              if (!rejected[i]) continue;
              const uint64_t idx = first + b + i;
              int32_t hz;
              uint32_t iz;
              double x;
              z.Fast(Bits32(seed, idx), &hz, &iz, &x);
              Stream st{seed ^ 0xD1B54A32D192ED03ULL, idx << 8};
              p[b + i] += static_cast<scalar_t>(s * z.Slow(hz, iz, x, st));
            }
          }
        },
        kGrain);
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
