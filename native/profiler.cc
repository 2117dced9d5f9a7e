// libtorch's own operator profiler (the legacy, CPU-only one torch.autograd.profiler wraps), for
// benchmarks that need to say where a step's time goes: every ATen operator and autograd node run
// on the calling thread between profilerStart() and profilerStop(), aggregated by name.
#include <torch/csrc/autograd/profiler_legacy.h>

#include <map>
#include <string>
#include <vector>

#include "common.h"

using namespace mmb;
namespace prof = torch::autograd::profiler;

namespace {

struct Totals {
  int64_t calls = 0;
  double totalUs = 0, selfUs = 0;
};

struct Open {
  const prof::LegacyEvent* push;
  double childUs;
};

// Pairs each thread's push and pop events (nested ranges, matched by handle) into per-name totals:
// total = wall time inside the range, self = total minus the ranges nested in it.
// With shapes, each operator's totals are split by its inputs' shapes ("aten::mm [473, 1024] [1024, 3072]").
std::string Key(const prof::LegacyEvent& e, bool shapes) {
  std::string k = e.name();
  if (!shapes) return k;
  for (const auto& s : e.shapes()) {
    if (s.empty()) continue;
    k += " [";
    for (size_t i = 0; i < s.size(); i++) k += (i ? ", " : "") + std::to_string(s[i]);
    k += "]";
  }
  return k;
}

bool gShapes = false;

std::map<std::string, Totals> Aggregate(const prof::thread_event_lists& lists) {
  std::map<std::string, Totals> out;
  for (const auto& events : lists) {
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kindStr() == "push") {
        stack.push_back({&e, 0.0});
      } else if (e.kindStr() == "pop") {
        size_t k = stack.size();
        while (k > 0 && stack[k - 1].push->handle() != e.handle()) k--;
        if (k == 0) continue;  // a pop whose push came before profilerStart
        const Open o = stack[k - 1];
        stack.resize(k - 1);
        const double us = o.push->cpuElapsedUs(e);
        Totals& t = out[Key(*o.push, gShapes)];
        t.calls++;
        t.totalUs += us;
        t.selfUs += us - o.childUs;
        if (!stack.empty()) stack.back().childUs += us;
      }
    }
  }
  return out;
}

}  // namespace

// profilerStart(shapes?): shapes true also records every operator's input shapes (slower).
MMB_FN(profilerStart) {
  MMB_TRY
  gShapes = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU, gShapes));
  return info.Env().Undefined();
  MMB_CATCH
}

// profilerStop() -> [{name, calls, totalMs, selfMs}], one entry per operator name.
MMB_FN(profilerStop) {
  MMB_TRY
  const auto totals = Aggregate(prof::disableProfilerLegacy());
  Napi::Env env = info.Env();
  auto arr = Napi::Array::New(env, totals.size());
  uint32_t i = 0;
  for (const auto& [name, t] : totals) {
    auto o = Napi::Object::New(env);
    o.Set("name", name);
    o.Set("calls", static_cast<double>(t.calls));
    o.Set("totalMs", t.totalUs / 1e3);
    o.Set("selfMs", t.selfUs / 1e3);
    arr.Set(i++, o);
  }
  return arr;
  MMB_CATCH
}

namespace mmb {
void RegisterProfiler(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(profilerStart);
  MMB_EXPORT(profilerStop);
}
}  // namespace mmb
