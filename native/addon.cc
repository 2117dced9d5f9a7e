// Entry point of the mmbalance native addon: registers every flat libtorch entry point.
#include "common.h"

namespace mmb {
void RegisterCore(Napi::Env env, Napi::Object exports);
void RegisterMath(Napi::Env env, Napi::Object exports);
void RegisterNN(Napi::Env env, Napi::Object exports);
void RegisterRandom(Napi::Env env, Napi::Object exports);
void RegisterAdam(Napi::Env env, Napi::Object exports);
void RegisterDist(Napi::Env env, Napi::Object exports);
void RegisterPasses(Napi::Env env, Napi::Object exports);
void RegisterProfiler(Napi::Env env, Napi::Object exports);
void RegisterBmm(Napi::Env env, Napi::Object exports);
}  // namespace mmb

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mmb::RegisterCore(env, exports);
  mmb::RegisterMath(env, exports);
  mmb::RegisterNN(env, exports);
  mmb::RegisterRandom(env, exports);
  mmb::RegisterAdam(env, exports);
  mmb::RegisterDist(env, exports);
  mmb::RegisterPasses(env, exports);
  mmb::RegisterProfiler(env, exports);
  mmb::RegisterBmm(env, exports);
  return exports;
}

NODE_API_MODULE(mmbalance, Init)
