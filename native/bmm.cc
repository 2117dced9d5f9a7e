// Batched products of small matrices (attention's per-head products, AFW's per-dialogue
// contractions) with the batch split across two threads.
//
// libtorch 1.13 runs a CPU bmm as one BLAS call per batch element, in sequence. Debian's OpenBLAS
// then splits each of those small products across its own threads (it does so above 2^18
// multiply-adds), and for a 110 x 128 x 110 product the hand-off costs more than it saves: measured
// on 2 cores, a (80, 110, 128) @ (80, 128, 110) bmm ran at ~40 GFLOP/s on two threads and ~47 on
// one. Here OpenBLAS is held to one thread for the call and the batch is cut in two halves, one on
// the calling thread and one on libtorch's inter-op pool: each element's product is the same BLAS
// call as before (same numbers), two run at a time. Used where a split can pay: CPU float tensors,
// at least two batch elements and two threads, products of at most 2^22 multiply-adds each, and an
// OpenBLAS whose thread count can be set; otherwise it is at::bmm. An autograd function, so the
// backward's two products are split the same way.
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <dlfcn.h>
#include <torch/csrc/autograd/custom_function.h>

#include <exception>
#include <future>

#include "common.h"

using namespace mmb;

namespace {

// OpenBLAS's thread-count controls, found in the BLAS library libtorch loaded (null if it is not OpenBLAS).
struct Blas {
  void (*set)(int) = nullptr;
  int (*get)() = nullptr;
  Blas() {
    for (const char* name : {"libblas.so.3", "libopenblas.so.0", "libopenblasp.so.0", "libopenblas.so"}) {
      void* h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
      if (h == nullptr) continue;
      set = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
      get = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads"));
      if (set != nullptr && get != nullptr) return;
      set = nullptr;
      get = nullptr;
    }
  }
};

const Blas& TheBlas() {
  static const Blas blas;
  return blas;
}

// Holds OpenBLAS to one thread for its lifetime.
struct OneBlasThread {
  int before;
  OneBlasThread() : before(TheBlas().get()) { TheBlas().set(1); }
  ~OneBlasThread() { TheBlas().set(before); }
};

bool Splits(const at::Tensor& a, const at::Tensor& b) {
  if (!a.device().is_cpu() || (a.scalar_type() != at::kFloat && a.scalar_type() != at::kDouble)) return false;
  if (a.dim() != 3 || b.dim() != 3 || a.size(0) < 2 || at::get_num_threads() < 2 || TheBlas().set == nullptr) return false;
  return a.size(1) * a.size(2) * b.size(2) <= (int64_t{1} << 22);
}

at::Tensor SplitBmm(const at::Tensor& a, const at::Tensor& b) {
  if (!Splits(a, b) || a.scalar_type() != b.scalar_type() || b.size(0) != a.size(0) || b.size(1) != a.size(2))
    return at::bmm(a, b);
  RECORD_FUNCTION("mmb::bmm_split", std::vector<c10::IValue>());
  at::NoGradGuard noGrad;
  const int64_t n = a.size(0), half = n / 2;
  at::Tensor out = at::empty({n, a.size(1), b.size(2)}, a.options());
  OneBlasThread one;
  std::promise<void> done;
  std::exception_ptr error;
  at::launch([&] {
    try {
      at::NoGradGuard g;
      at::Tensor o = out.narrow(0, half, n - half);
      at::bmm_out(o, a.narrow(0, half, n - half), b.narrow(0, half, n - half));
    } catch (...) {
      error = std::current_exception();
    }
    done.set_value();
  });
  std::exception_ptr mine;
  try {
    at::Tensor o = out.narrow(0, 0, half);
    at::bmm_out(o, a.narrow(0, 0, half), b.narrow(0, 0, half));
  } catch (...) {
    mine = std::current_exception();
  }
  done.get_future().wait();  // never leave with the other half still writing
  if (mine) std::rethrow_exception(mine);
  if (error) std::rethrow_exception(error);
  return out;
}

struct SplitBmmFn : public torch::autograd::Function<SplitBmmFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    return SplitBmm(a, b);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& g = grads[0];
    at::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = SplitBmm(g, saved[1].transpose(1, 2));
    if (ctx->needs_input_grad(1)) gb = SplitBmm(saved[0].transpose(1, 2), g);
    return {ga, gb};
  }
};

}  // namespace

// bmmSplit(a, b): a @ b for (B, m, k) and (B, k, n), as at::bmm (checks and errors included).
MMB_FN(bmmSplit) {
  MMB_TRY
  const at::Tensor& a = T(info, 0);
  const at::Tensor& b = T(info, 1);
  if (!Splits(a, b) || a.scalar_type() != b.scalar_type() || b.dim() != 3 || b.size(0) != a.size(0) || b.size(1) != a.size(2))
    return Wrap(info.Env(), at::bmm(a, b));
  return Wrap(info.Env(), SplitBmmFn::apply(a, b));
  MMB_CATCH
}

namespace mmb {
void RegisterBmm(Napi::Env env, Napi::Object exports) { MMB_EXPORT(bmmSplit); }
}  // namespace mmb
