// Shared plumbing for the libtorch shim: tensor handles, argument conversion and the one
// exception boundary every entry point goes through. No numerical logic lives here or in the
// op files, except the two kernels random.cc and adam.cc (their headers say why); argument
// validation with friendly messages happens in TypeScript first.
#pragma once

#include <napi.h>
#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace mmb {

// A tensor handle owned by JavaScript. `reported` is what we told V8 about through
// AdjustExternalMemory, so the garbage collector sees native allocations.
struct Handle {
  at::Tensor t;
  int64_t reported = 0;
};

Napi::Value ThrowTorch(Napi::Env env, const std::string& message);
void SetErrorClass(Napi::Env env, Napi::Function ctor);

Napi::Value Wrap(Napi::Env env, at::Tensor t);
// A handle to a tensor something else owns (a parameter's gradient): its bytes are not reported to
// V8, which would otherwise count every step's gradients as new memory and collect more often.
Napi::Value WrapBorrowed(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
void Release(Napi::Env env, Handle* h);

Handle* H(const Napi::CallbackInfo& info, size_t i);
const at::Tensor& T(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Tensor> OT(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i);
at::Scalar S(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::Scalar> OS(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Scalar> SL(const Napi::CallbackInfo& info, size_t i);
double D(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> OD(const Napi::CallbackInfo& info, size_t i);
int64_t I(const Napi::CallbackInfo& info, size_t i);
c10::optional<int64_t> OI(const Napi::CallbackInfo& info, size_t i);
bool B(const Napi::CallbackInfo& info, size_t i);
std::string Str(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> IL(const Napi::CallbackInfo& info, size_t i);
c10::optional<std::vector<int64_t>> OIL(const Napi::CallbackInfo& info, size_t i);
at::ScalarType DT(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> ODT(const Napi::CallbackInfo& info, size_t i);
at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t deviceIdx);
int DtypeCode(at::ScalarType t);

// A thrown argument error from the converters above; caught like any other.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace mmb

// Every entry point: C++ exceptions (c10::Error included) become a JS TorchError with
// libtorch's message, never a process abort.
#define MMB_FN(name) static Napi::Value fn_##name(const Napi::CallbackInfo& info)
#define MMB_TRY try {
#define MMB_CATCH                                                        \
  }                                                                      \
  catch (const c10::Error& e) {                                          \
    return mmb::ThrowTorch(info.Env(), e.what_without_backtrace());      \
  }                                                                      \
  catch (const std::exception& e) {                                      \
    return mmb::ThrowTorch(info.Env(), e.what());                        \
  }                                                                      \
  catch (...) {                                                          \
    return mmb::ThrowTorch(info.Env(), "unknown native error");         \
  }

// One-expression entry points returning a tensor.
#define MMB_TENSOR_FN(name, expr) \
  MMB_FN(name) { MMB_TRY return mmb::Wrap(info.Env(), (expr)); MMB_CATCH }
#define MMB_LIST_FN(name, expr) \
  MMB_FN(name) { MMB_TRY return mmb::WrapList(info.Env(), (expr)); MMB_CATCH }
#define MMB_VOID_FN(name, stmt) \
  MMB_FN(name) { MMB_TRY stmt; return info.Env().Undefined(); MMB_CATCH }
#define MMB_EXPORT(name) exports.Set(#name, Napi::Function::New(env, fn_##name, #name))
