// Creation, read-back, conversion, autograd and runtime settings.
#include "common.h"

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cstring>

using namespace mmb;

// ---- creation: (shape, dtype, device) ----
MMB_TENSOR_FN(empty, at::empty(IL(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(zeros, at::zeros(IL(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(ones, at::ones(IL(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(full, at::full(IL(info, 0), S(info, 3), Opts(info, 1, 2)))
MMB_TENSOR_FN(randn, at::randn(IL(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(rand, at::rand(IL(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(randint, at::randint(I(info, 3), I(info, 4), IL(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(randperm, at::randperm(I(info, 0), Opts(info, 1, 2)))
MMB_TENSOR_FN(arange, at::arange(S(info, 3), S(info, 4), S(info, 5), Opts(info, 1, 2)))
MMB_TENSOR_FN(linspace, at::linspace(S(info, 3), S(info, 4), I(info, 5), Opts(info, 1, 2)))
MMB_TENSOR_FN(eye, at::eye(I(info, 3), I(info, 4), Opts(info, 1, 2)))
MMB_TENSOR_FN(zerosLike, at::zeros_like(T(info, 0)))
MMB_TENSOR_FN(onesLike, at::ones_like(T(info, 0)))
MMB_TENSOR_FN(randnLike, at::randn_like(T(info, 0)))
MMB_TENSOR_FN(fullLike, at::full_like(T(info, 0), S(info, 1)))

// fromBuffer(arrayBuffer, byteOffset, shape, dtype, device): copies the bytes.
MMB_FN(fromBuffer) {
  MMB_TRY
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  int64_t offset = I(info, 1);
  std::vector<int64_t> shape = IL(info, 2);
  at::ScalarType dt = DT(info, 3);
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  size_t nbytes = t.nbytes();
  if (static_cast<size_t>(offset) + nbytes > ab.ByteLength()) throw ArgError("buffer is smaller than shape x dtype size");
  if (nbytes > 0) std::memcpy(t.data_ptr(), static_cast<uint8_t*>(ab.Data()) + offset, nbytes);
  if (info.Length() > 4 && info[4].IsString()) {
    c10::Device dev(Str(info, 4));
    if (dev != t.device()) t = t.to(dev);
  }
  return Wrap(info.Env(), t);
  MMB_CATCH
}

// toBuffer(t): a new ArrayBuffer with the tensor's values, row-major, on the CPU.
MMB_FN(toBuffer) {
  MMB_TRY
  at::Tensor t = T(info, 0).detach().to(at::kCPU).contiguous();
  size_t nbytes = t.nbytes();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), nbytes);
  if (nbytes > 0) std::memcpy(ab.Data(), t.data_ptr(), nbytes);
  return ab;
  MMB_CATCH
}

MMB_FN(item) {
  MMB_TRY
  const at::Tensor& t = T(info, 0);
  at::Scalar s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  return Napi::Number::New(info.Env(), s.toDouble());
  MMB_CATCH
}

MMB_FN(shape) {
  MMB_TRY
  const at::Tensor& t = T(info, 0);
  auto sizes = t.sizes();
  Napi::Array arr = Napi::Array::New(info.Env(), sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), static_cast<double>(sizes[k])));
  return arr;
  MMB_CATCH
}

MMB_FN(dtype) { MMB_TRY return Napi::Number::New(info.Env(), DtypeCode(T(info, 0).scalar_type())); MMB_CATCH }
MMB_FN(device) { MMB_TRY return Napi::String::New(info.Env(), T(info, 0).device().str()); MMB_CATCH }
MMB_FN(dim) { MMB_TRY return Napi::Number::New(info.Env(), static_cast<double>(T(info, 0).dim())); MMB_CATCH }
MMB_FN(numel) { MMB_TRY return Napi::Number::New(info.Env(), static_cast<double>(T(info, 0).numel())); MMB_CATCH }
MMB_FN(isContiguous) { MMB_TRY return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous()); MMB_CATCH }
MMB_FN(isDisposed) { MMB_TRY return Napi::Boolean::New(info.Env(), !H(info, 0)->t.defined()); MMB_CATCH }
MMB_FN(dispose) { MMB_TRY Release(info.Env(), H(info, 0)); return info.Env().Undefined(); MMB_CATCH }

// to(t, dtype|null, device|null, copy)
MMB_FN(to) {
  MMB_TRY
  const at::Tensor& t = T(info, 0);
  at::TensorOptions o = t.options();
  if (!info[1].IsNull() && !info[1].IsUndefined()) o = o.dtype(DT(info, 1));
  if (info[2].IsString()) o = o.device(c10::Device(Str(info, 2)));
  return Wrap(info.Env(), t.to(o, false, B(info, 3)));
  MMB_CATCH
}
MMB_TENSOR_FN(clone, T(info, 0).clone())
MMB_TENSOR_FN(contiguous, T(info, 0).contiguous())
MMB_TENSOR_FN(alias, T(info, 0))

// ---- autograd ----
MMB_TENSOR_FN(detach, T(info, 0).detach())
MMB_FN(requiresGrad) { MMB_TRY return Napi::Boolean::New(info.Env(), T(info, 0).requires_grad()); MMB_CATCH }
MMB_VOID_FN(setRequiresGrad, T(info, 0).set_requires_grad(B(info, 1)))
MMB_FN(isLeaf) { MMB_TRY return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf()); MMB_CATCH }
MMB_VOID_FN(retainGrad, T(info, 0).retain_grad())
MMB_FN(grad) {
  MMB_TRY
  const at::Tensor& g = T(info, 0).grad();
  if (!g.defined()) return info.Env().Null();
  return WrapBorrowed(info.Env(), g);
  MMB_CATCH
}
MMB_FN(setGrad) {
  MMB_TRY
  at::Tensor t = T(info, 0);
  c10::optional<at::Tensor> g = OT(info, 1);
  t.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
  MMB_CATCH
}
// backward(t, grad|null, retainGraph, createGraph)
MMB_VOID_FN(backward, T(info, 0).backward(OT(info, 1).value_or(at::Tensor()), B(info, 2), B(info, 3)))
MMB_FN(isGradEnabled) { MMB_TRY return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); MMB_CATCH }
MMB_VOID_FN(setGradEnabled, at::GradMode::set_enabled(B(info, 0)))

// ---- runtime ----
MMB_VOID_FN(manualSeed, at::manual_seed(static_cast<uint64_t>(I(info, 0))))
MMB_VOID_FN(setNumThreads, at::set_num_threads(static_cast<int>(I(info, 0))))
MMB_FN(getNumThreads) { MMB_TRY return Napi::Number::New(info.Env(), at::get_num_threads()); MMB_CATCH }
MMB_FN(cudaAvailable) { MMB_TRY return Napi::Boolean::New(info.Env(), at::hasCUDA()); MMB_CATCH }
MMB_FN(cudaDeviceCount) {
  MMB_TRY
  return Napi::Number::New(info.Env(), at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0);
  MMB_CATCH
}
MMB_FN(version) { MMB_TRY return Napi::String::New(info.Env(), TORCH_VERSION); MMB_CATCH }
MMB_FN(parallelInfo) { MMB_TRY return Napi::String::New(info.Env(), at::get_parallel_info()); MMB_CATCH }
MMB_FN(setErrorClass) {
  MMB_TRY
  SetErrorClass(info.Env(), info[0].As<Napi::Function>());
  return info.Env().Undefined();
  MMB_CATCH
}
// Exists so tests can prove a C++ exception of an unexpected type is still caught.
MMB_FN(throwStd) { MMB_TRY throw std::out_of_range("test: std exception from native code"); MMB_CATCH }
// A no-op round trip, for measuring the cost of crossing into native code.
MMB_FN(noop) { return info.Env().Undefined(); }

namespace mmb {
void RegisterCore(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(empty); MMB_EXPORT(zeros); MMB_EXPORT(ones); MMB_EXPORT(full); MMB_EXPORT(randn);
  MMB_EXPORT(rand); MMB_EXPORT(randint); MMB_EXPORT(randperm); MMB_EXPORT(arange);
  MMB_EXPORT(linspace); MMB_EXPORT(eye); MMB_EXPORT(zerosLike); MMB_EXPORT(onesLike);
  MMB_EXPORT(randnLike); MMB_EXPORT(fullLike); MMB_EXPORT(fromBuffer); MMB_EXPORT(toBuffer);
  MMB_EXPORT(item); MMB_EXPORT(shape); MMB_EXPORT(dtype); MMB_EXPORT(device); MMB_EXPORT(dim);
  MMB_EXPORT(numel); MMB_EXPORT(isContiguous); MMB_EXPORT(isDisposed); MMB_EXPORT(dispose);
  MMB_EXPORT(to); MMB_EXPORT(clone); MMB_EXPORT(contiguous); MMB_EXPORT(alias); MMB_EXPORT(detach);
  MMB_EXPORT(requiresGrad); MMB_EXPORT(setRequiresGrad); MMB_EXPORT(isLeaf); MMB_EXPORT(retainGrad);
  MMB_EXPORT(grad); MMB_EXPORT(setGrad); MMB_EXPORT(backward);
  MMB_EXPORT(isGradEnabled); MMB_EXPORT(setGradEnabled); MMB_EXPORT(manualSeed);
  MMB_EXPORT(setNumThreads); MMB_EXPORT(getNumThreads); MMB_EXPORT(cudaAvailable);
  MMB_EXPORT(cudaDeviceCount); MMB_EXPORT(version); MMB_EXPORT(parallelInfo);
  MMB_EXPORT(setErrorClass); MMB_EXPORT(throwStd); MMB_EXPORT(noop);
}
}  // namespace mmb
