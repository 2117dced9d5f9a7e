// c10d process groups for data-parallel training: rendezvous through a TCPStore (or a FileStore),
// Gloo for CPU tensors, NCCL for CUDA tensors when this libtorch has them. Every collective is
// synchronous (the training loop is), waits at most the group's timeout, and throws a JS error
// naming what failed: a peer that died closes its connections (an immediate error), a peer that
// hangs runs the timeout out.
//
// Built with MMB_WITH_GLOO when scripts/libtorch.mjs found c10d's Gloo headers and library, and
// MMB_WITH_NCCL when it also found NCCL with a CUDA libtorch; without them every entry point but
// distBackends throws, so the rest of the addon works on a libtorch without c10d.
#include "common.h"

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifdef MMB_WITH_GLOO
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef MMB_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace mmb {
namespace {

#ifdef MMB_WITH_GLOO
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::chrono::milliseconds timeout;
  int rank;
  int size;
};

std::map<int64_t, Group> groups;
int64_t nextId = 1;

Group& G(const Napi::CallbackInfo& info, size_t i) {
  auto it = groups.find(I(info, i));
  if (it == groups.end()) throw ArgError("this process group was destroyed (or never made)");
  return it->second;
}

// One contiguous buffer holding the tensors in order: one collective instead of one per tensor.
std::vector<at::Tensor> Flatten(const std::vector<at::Tensor>& ts) {
  std::vector<at::Tensor> flat;
  flat.reserve(ts.size());
  for (const auto& t : ts) flat.push_back(t.reshape({-1}));
  return {at::cat(flat)};
}

// Copies the buffer's pieces back into the tensors it was made from.
void Unflatten(const at::Tensor& buf, std::vector<at::Tensor>& ts) {
  int64_t off = 0;
  for (auto& t : ts) {
    const int64_t n = t.numel();
    t.copy_(buf.narrow(0, off, n).view(t.sizes()));
    off += n;
  }
}

void Wait(Group& g, c10::intrusive_ptr<c10d::Work> work, const char* what) {
  try {
    if (!work->wait(g.timeout)) throw std::runtime_error("timed out");
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(what) + " failed on rank " + std::to_string(g.rank) + ": " +
                             e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(what) + " failed on rank " + std::to_string(g.rank) + ": " + e.what());
  }
}
#endif

#ifdef MMB_WITH_GLOO
#define MMB_NEEDS_GLOO
#else
#define MMB_NEEDS_GLOO                                                                                           \
  throw std::runtime_error(                                                                                      \
      "this build of mmbalance has no c10d (libtorch without Gloo, or libgloo-dev missing when it was built); " \
      "install libgloo-dev (Debian/Ubuntu) and rebuild the addon: npm run build:native");
#endif

}  // namespace

// The backends this build has: an array of names ('gloo', 'nccl').
MMB_FN(distBackends) {
  MMB_TRY
  auto out = Napi::Array::New(info.Env());
  uint32_t n = 0;
#ifdef MMB_WITH_GLOO
  out.Set(n++, "gloo");
#endif
#ifdef MMB_WITH_NCCL
  out.Set(n++, "nccl");
#endif
  (void)n;
  return out;
  MMB_CATCH
}

// distInit(backend, rank, size, storeKind 'tcp'|'file', hostOrPath, port, timeoutMs, ifaceHost) -> id.
// With 'tcp', rank 0 runs the store's server on `port`; every rank waits (up to the timeout) for
// all `size` ranks to arrive. ifaceHost: the address Gloo binds its connections to.
MMB_FN(distInit) {
  MMB_TRY
  MMB_NEEDS_GLOO
#ifdef MMB_WITH_GLOO
  const std::string backend = Str(info, 0);
  const int rank = static_cast<int>(I(info, 1));
  const int size = static_cast<int>(I(info, 2));
  const std::string kind = Str(info, 3);
  const std::string where = Str(info, 4);
  const int64_t port = I(info, 5);
  const std::chrono::milliseconds timeout(I(info, 6));
  const std::string iface = Str(info, 7);
  if (size < 1 || rank < 0 || rank >= size) throw ArgError("rank must lie in [0, size)");
  c10::intrusive_ptr<c10d::Store> store;
  if (kind == "tcp") {
    if (port < 1 || port > 65535) throw ArgError("the store's port must lie in [1, 65535]");
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(port);
    o.isServer = rank == 0;
    o.numWorkers = static_cast<std::size_t>(size);
    o.waitWorkers = true;
    o.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(where, o);
  } else if (kind == "file") {
    store = c10::make_intrusive<c10d::FileStore>(where, size);
    store->setTimeout(timeout);
  } else {
    throw ArgError("the store must be 'tcp' or 'file'");
  }
  Group g{store, {}, timeout, rank, size};
  if (backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(iface.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                          : c10d::ProcessGroupGloo::createDeviceForHostname(iface));
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("gloo", store);
    g.pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank, size, opts);
  } else if (backend == "nccl") {
#ifdef MMB_WITH_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("nccl", store);
    g.pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, size, opts);
#else
    throw ArgError("this build has no NCCL (it needs a CUDA libtorch and NCCL's headers when the addon is built)");
#endif
  } else {
    throw ArgError("the backend must be 'gloo' or 'nccl'");
  }
  const int64_t id = nextId++;
  groups.emplace(id, std::move(g));
  return Napi::Number::New(info.Env(), static_cast<double>(id));
#endif
  MMB_CATCH
}

// distAllreduce(id, tensors, average): sums (or averages) the tensors across ranks in place. The
// tensors are flattened into one buffer (one collective, not one per tensor) and copied back.
MMB_FN(distAllreduce) {
  MMB_TRY
  MMB_NEEDS_GLOO
#ifdef MMB_WITH_GLOO
  Group& g = G(info, 0);
  auto ts = TL(info, 1);
  const bool average = B(info, 2);
  if (ts.empty()) return info.Env().Undefined();
  for (const auto& t : ts)
    if (t.scalar_type() != ts[0].scalar_type() || t.device() != ts[0].device())
      throw ArgError("all-reduced tensors must share one dtype and one device");
  at::NoGradGuard noGrad;
  auto buf = Flatten(ts);
  Wait(g, g.pg->allreduce(buf), "all-reduce");
  if (average) buf[0].div_(g.size);
  Unflatten(buf[0], ts);
  return info.Env().Undefined();
#endif
  MMB_CATCH
}

// distBroadcast(id, tensors, root): every rank's tensors become root's, in place.
MMB_FN(distBroadcast) {
  MMB_TRY
  MMB_NEEDS_GLOO
#ifdef MMB_WITH_GLOO
  Group& g = G(info, 0);
  auto ts = TL(info, 1);
  const int64_t root = I(info, 2);
  if (root < 0 || root >= g.size) throw ArgError("the root must be a rank of the group");
  if (ts.empty()) return info.Env().Undefined();
  at::NoGradGuard noGrad;
  auto buf = Flatten(ts);
  c10d::BroadcastOptions o;
  o.rootRank = root;
  Wait(g, g.pg->broadcast(buf, o), "broadcast");
  Unflatten(buf[0], ts);
  return info.Env().Undefined();
#endif
  MMB_CATCH
}

MMB_FN(distBarrier) {
  MMB_TRY
  MMB_NEEDS_GLOO
#ifdef MMB_WITH_GLOO
  Group& g = G(info, 0);
  Wait(g, g.pg->barrier(), "barrier");
  return info.Env().Undefined();
#endif
  MMB_CATCH
}

// distDestroy(id): closes the group's connections; destroying twice is harmless.
MMB_FN(distDestroy) {
  MMB_TRY
#ifdef MMB_WITH_GLOO
  groups.erase(I(info, 0));
#endif
  return info.Env().Undefined();
  MMB_CATCH
}

// distDieWithParent(): a worker is killed when the launcher that started it dies (even by
// SIGKILL), so no worker outlives its run. Linux only; returns whether it took effect.
MMB_FN(distDieWithParent) {
  MMB_TRY
#ifdef __linux__
  return Napi::Boolean::New(info.Env(), prctl(PR_SET_PDEATHSIG, SIGKILL) == 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
  MMB_CATCH
}

void RegisterDist(Napi::Env env, Napi::Object exports) {
  MMB_EXPORT(distDieWithParent);
  MMB_EXPORT(distBackends);
  MMB_EXPORT(distInit);
  MMB_EXPORT(distAllreduce);
  MMB_EXPORT(distBroadcast);
  MMB_EXPORT(distBarrier);
  MMB_EXPORT(distDestroy);
}

}  // namespace mmb
