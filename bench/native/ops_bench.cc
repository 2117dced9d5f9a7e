// libtorch called from C++ directly: the baseline the addon is compared with.
// Prints JSON: matmul GFLOP/s per size and nanoseconds per tiny add.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  at::set_num_threads(threads);
  at::manual_seed(0);
  std::printf("{\"threads\": %d, \"matmul\": [", threads);
  const int sizes[][3] = {{512, 1024, 1024}, {1024, 1024, 1024}, {600, 768, 2048}};
  for (int s = 0; s < 3; ++s) {
    int m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
    at::Tensor a = at::randn({m, k}), b = at::randn({k, n});
    // Warm the BLAS thread pool and caches first; report the best round, as bench/run.ts does.
    for (int i = 0; i < 20; ++i) at::matmul(a, b);
    std::vector<double> ts;
    for (int r = 0; r < 7; ++r) {
      int reps = 10;
      double t0 = now();
      for (int i = 0; i < reps; ++i) at::matmul(a, b);
      ts.push_back((now() - t0) / reps);
    }
    std::sort(ts.begin(), ts.end());
    double gflops = 2.0 * m * k * n / ts[0] / 1e9;
    std::printf("%s{\"m\": %d, \"k\": %d, \"n\": %d, \"gflops\": %.2f}", s ? ", " : "", m, k, n, gflops);
  }
  at::Tensor x = at::ones({1});
  const int reps = 200000;
  for (int i = 0; i < 1000; ++i) at::add(x, 1);
  std::vector<double> ts;
  for (int r = 0; r < 5; ++r) {
    double t0 = now();
    for (int i = 0; i < reps; ++i) at::add(x, 1);
    ts.push_back((now() - t0) / reps * 1e9);
  }
  std::sort(ts.begin(), ts.end());
  std::printf("], \"tinyAddNs\": %.1f}\n", ts[ts.size() / 2]);
  return 0;
}
