// The addon's own element loops (dropout, gradient noise, moments, Adam), each built for
// three instruction sets: AVX-512 (F, BW, VL, DQ), AVX2 with FMA, and the x86-64 baseline.
// kernels.cc compiles kernels.inc once per set and picks one table when the addon loads, from the
// CPU's features (MMBALANCE_SIMD=avx512|avx2|baseline overrides, for tests and comparisons).
// Every path computes the same numbers, bit for bit: the addon builds with -ffp-contract=off (no
// fused multiply-add where the source has a multiply and an add), and sqrt and division are exact.
#pragma once
#include <cstdint>

namespace mmb::kernels {

// The two 32-bit halves of a counter-based generator's key: element (or pair) i's bits are
// H(H(i ^ a) + b) with H a 32-bit integer hash, so any slice of a tensor can be drawn alone.
struct Seed {
  uint32_t a, b;
};

// Per-step Adam coefficients in the parameter dtype, as torch.optim.Adam rounds its Python floats.
template <typename T>
struct AdamCoef {
  T decay, wd, b1, c1, b2, c2, bc2, eps, neg;
  bool coupledDecay, decoupledDecay;
};

struct Table {
  const char* name;
  // out[k] = x[k] * m, m = scale where 24 random bits of element first + k are >= threshold, else 0:
  // dropout without its mask in memory.
  void (*dropoutF)(const float* x, float* out, uint32_t first, int64_t n, Seed s, int32_t threshold, float scale);
  void (*dropoutD)(const double* x, double* out, uint32_t first, int64_t n, Seed s, int32_t threshold, double scale);
  // Over element pairs (2j, 2j + 1) from an even element: p = a * p + sigma * z, z ~ N(0, 1) by
  // Box-Muller from pair firstPair + j.
  void (*noiseF)(float* p, uint32_t firstPair, int64_t npairs, Seed s, float a, float sigma);
  void (*noiseD)(double* p, uint32_t firstPair, int64_t npairs, Seed s, double a, double sigma);
  // sum and sum of squares of n elements, accumulated in double.
  void (*momentsF)(const float* p, int64_t n, double* sum, double* sumSq);
  void (*momentsD)(const double* p, int64_t n, double* sum, double* sumSq);
  // torch.optim.Adam's single-tensor update over n contiguous elements with gradient a * g (vmax
  // null without amsgrad).
  void (*adamF)(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float a, const AdamCoef<float>& k);
  void (*adamD)(double* p, const double* g, double* m, double* v, double* vmax, int64_t n, double a,
                const AdamCoef<double>& k);
  // The same over element pairs from an even element with gradient a * g + sigma * z, z as noiseF/D draw it.
  void (*adamNoiseF)(float* p, const float* g, float* m, float* v, float* vmax, uint32_t firstPair, int64_t npairs, Seed s,
                     float a, float sigma, const AdamCoef<float>& k);
  void (*adamNoiseD)(double* p, const double* g, double* m, double* v, double* vmax, uint32_t firstPair, int64_t npairs,
                     Seed s, double a, double sigma, const AdamCoef<double>& k);
};

// The table chosen at load.
const Table& Active();

// One Box-Muller pair, scalar (for the odd elements at a chunk's edges): the same numbers as the tables'.
void NormalPair(uint32_t pair, Seed s, float* z0, float* z1);

}  // namespace mmb::kernels
