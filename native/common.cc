#include "common.h"

#include <cmath>

namespace mmb {

static Napi::FunctionReference* errorClass = nullptr;

void SetErrorClass(Napi::Env env, Napi::Function ctor) {
  if (errorClass == nullptr) errorClass = new Napi::FunctionReference();
  *errorClass = Napi::Persistent(ctor);
}

Napi::Value ThrowTorch(Napi::Env env, const std::string& message) {
  if (env.IsExceptionPending()) return env.Undefined();
  if (errorClass != nullptr && !errorClass->IsEmpty()) {
    Napi::Value err = errorClass->New({Napi::String::New(env, message)});
    if (!env.IsExceptionPending()) {
      napi_throw(env, err);
      return env.Undefined();
    }
    return env.Undefined();
  }
  Napi::Error::New(env, message).ThrowAsJavaScriptException();
  return env.Undefined();
}

static int64_t FreshBytes(const at::Tensor& t) {
  // Only storage this handle created is reported; views share it with their base.
  if (!t.defined() || !t.has_storage()) return 0;
  const c10::Storage& s = t.storage();
  if (s.use_count() != 1) return 0;
  return static_cast<int64_t>(s.nbytes());
}

// A "basic" finalizer (it calls no JavaScript): Node runs these during garbage collection
// itself. Finalizers that may call JavaScript are deferred to the event loop, which never turns
// during a synchronous training loop, so tensors left to the collector would pile up. The
// generic lambda takes whichever env type this Node's headers give finalizers.
static const auto Finalize = [](auto env, void* data, void* /*hint*/) {
  auto* h = static_cast<Handle*>(data);
  if (h->reported != 0) {
    int64_t ignored = 0;
    napi_adjust_external_memory(env, -h->reported, &ignored);
  }
  delete h;
};

static Napi::Value WrapWith(Napi::Env env, at::Tensor t, bool report) {
  auto* h = new Handle{std::move(t), 0};
  h->reported = report ? FreshBytes(h->t) : 0;
  if (h->reported != 0) Napi::MemoryManagement::AdjustExternalMemory(env, h->reported);
  napi_value result = nullptr;
  if (napi_create_external(env, h, Finalize, nullptr, &result) != napi_ok) {
    delete h;
    throw ArgError("could not create a tensor handle");
  }
  return Napi::Value(env, result);
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) { return WrapWith(env, std::move(t), true); }
Napi::Value WrapBorrowed(Napi::Env env, at::Tensor t) { return WrapWith(env, std::move(t), false); }

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) arr.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return arr;
}

void Release(Napi::Env env, Handle* h) {
  if (h->reported != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -h->reported);
  h->reported = 0;
  h->t = at::Tensor();
}

Handle* H(const Napi::CallbackInfo& info, size_t i) {
  Napi::Value v = info[i];
  if (!v.IsExternal()) throw ArgError("argument " + std::to_string(i) + " is not a tensor handle");
  return v.As<Napi::External<Handle>>().Data();
}

const at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  Handle* h = H(info, i);
  if (!h->t.defined()) throw ArgError("tensor was disposed; it cannot be used after dispose() or after its scope ended (keep() it or return it from the scope)");
  return h->t;
}

c10::optional<at::Tensor> OT(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return T(info, i);
}

std::vector<at::Tensor> TL(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " is not a tensor list");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsExternal()) throw ArgError("tensor list element " + std::to_string(k) + " is not a tensor");
    Handle* h = v.As<Napi::External<Handle>>().Data();
    if (!h->t.defined()) throw ArgError("tensor list element " + std::to_string(k) + " was disposed");
    out.push_back(h->t);
  }
  return out;
}

static at::Scalar ToScalar(const Napi::Value& v) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless = true;
    return at::Scalar(static_cast<int64_t>(v.As<Napi::BigInt>().Int64Value(&lossless)));
  }
  if (!v.IsNumber()) throw ArgError("expected a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // JavaScript has one number type: integral values act as Python ints (keeping integer
  // tensors integral), others as Python floats.
  if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
    return at::Scalar(static_cast<int64_t>(d));
  }
  return at::Scalar(d);
}

at::Scalar S(const Napi::CallbackInfo& info, size_t i) { return ToScalar(info[i]); }

c10::optional<at::Scalar> OS(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return ToScalar(info[i]);
}

std::vector<at::Scalar> SL(const Napi::CallbackInfo& info, size_t i) {
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Scalar> out;
  for (uint32_t k = 0; k < arr.Length(); ++k) out.push_back(ToScalar(arr.Get(k)));
  return out;
}

double D(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw ArgError("argument " + std::to_string(i) + " is not a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

c10::optional<double> OD(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return D(info, i);
}

int64_t I(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw ArgError("argument " + std::to_string(i) + " is not an integer");
  return info[i].As<Napi::Number>().Int64Value();
}

c10::optional<int64_t> OI(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return I(info, i);
}

bool B(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length()) return false;
  return info[i].ToBoolean().Value();
}

std::string Str(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw ArgError("argument " + std::to_string(i) + " is not a string");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> IL(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw ArgError("argument " + std::to_string(i) + " is not an integer list");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) out[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

c10::optional<std::vector<int64_t>> OIL(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return IL(info, i);
}

// Codes shared with src/engine/dtype.ts.
static const at::ScalarType kTypes[] = {
    at::kFloat, at::kDouble, at::kLong, at::kInt, at::kBool,
    at::kHalf,  at::kBFloat16, at::kByte, at::kChar, at::kShort,
};

at::ScalarType DT(const Napi::CallbackInfo& info, size_t i) {
  int64_t c = I(info, i);
  if (c < 0 || c >= static_cast<int64_t>(sizeof(kTypes) / sizeof(kTypes[0]))) throw ArgError("unknown dtype code");
  return kTypes[c];
}

c10::optional<at::ScalarType> ODT(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return DT(info, i);
}

int DtypeCode(at::ScalarType t) {
  for (int k = 0; k < static_cast<int>(sizeof(kTypes) / sizeof(kTypes[0])); ++k) {
    if (kTypes[k] == t) return k;
  }
  return -1;
}

at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t deviceIdx) {
  at::TensorOptions o = at::TensorOptions().dtype(DT(info, dtypeIdx));
  if (deviceIdx < info.Length() && info[deviceIdx].IsString()) o = o.device(c10::Device(Str(info, deviceIdx)));
  return o;
}

}  // namespace mmb
