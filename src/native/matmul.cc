// GEMM through oneDNN's fp32 matmul primitive: transposes as strided memory descriptors, alpha as an
// output scale, accumulation as a sum post-op. Primitives are cached per shape; no buffers are owned.
#include <dnnl.hpp>

#include <mutex>
#include <unordered_map>

#include "common.h"

namespace tlc {
namespace {

using dnnl::memory;

struct Key {
  int64_t M, N, K;
  bool ta, tb, acc;
  uint32_t alphaBits;
  bool operator==(const Key& o) const {
    return M == o.M && N == o.N && K == o.K && ta == o.ta && tb == o.tb && acc == o.acc &&
           alphaBits == o.alphaBits;
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](uint64_t x) { h = (h ^ x) * 1099511628211ull; };
    mix(k.M);
    mix(k.N);
    mix(k.K);
    mix(k.ta | (k.tb << 1) | (k.acc << 2));
    mix(k.alphaBits);
    return static_cast<size_t>(h);
  }
};

struct Entry {
  dnnl::matmul prim;
  memory::desc a, b, c;
};

// The one engine and stream of the process, and the primitive cache (bounded: cleared when full).
struct Context {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::unordered_map<Key, Entry, KeyHash> cache;
  std::mutex mu;
};

constexpr size_t kMaxCached = 512;

Context& context() {
  static Context ctx;
  return ctx;
}

Entry makeEntry(const Context& ctx, const Key& k, float alpha) {
  // op(A) is (M,K): stored (M,K) row-major, or (K,M) row-major when transposed.
  memory::desc a({k.M, k.K}, memory::data_type::f32, k.ta ? memory::dims{1, k.M} : memory::dims{k.K, 1});
  // op(B) is (K,N): stored (K,N), or (N,K) when transposed.
  memory::desc b({k.K, k.N}, memory::data_type::f32, k.tb ? memory::dims{1, k.K} : memory::dims{k.N, 1});
  memory::desc c({k.M, k.N}, memory::data_type::f32, memory::dims{k.N, 1});
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (k.acc) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, ctx.eng);
  return Entry{dnnl::matmul(pd), a, b, c};
}

// K == 0: the product is zero, so C = accumulate ? C : 0.
void emptyProduct(float* c, int64_t mn, bool acc) {
  if (acc) return;
#pragma omp parallel for simd if (mn > kParMin) schedule(static)
  for (int64_t i = 0; i < mn; i++) c[i] = 0.0f;
}

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  View<float> c = f32Arg(info, 0, "c"), a = f32Arg(info, 1, "a"), b = f32Arg(info, 2, "b");
  int64_t M = dimArg(info, 3, "M"), N = dimArg(info, 4, "N"), K = dimArg(info, 5, "K");
  bool ta = boolArg(info, 6, "transA"), tb = boolArg(info, 7, "transB");
  float alpha = static_cast<float>(numArg(info, 8, "alpha"));
  bool acc = boolArg(info, 9, "accumulate");
  need(info, c, mul(info, M, N), "matmul c");
  need(info, a, mul(info, M, K), "matmul a");
  need(info, b, mul(info, K, N), "matmul b");
  if (M == 0 || N == 0) return info.Env().Undefined();
  if (K == 0) {
    emptyProduct(c.p, M * N, acc);
    return info.Env().Undefined();
  }
  Context& ctx = context();
  Key key{M, N, K, ta, tb, acc, 0};
  std::memcpy(&key.alphaBits, &alpha, sizeof alpha);
  std::lock_guard<std::mutex> lock(ctx.mu);
  auto it = ctx.cache.find(key);
  try {
    if (it == ctx.cache.end()) {
      if (ctx.cache.size() >= kMaxCached) ctx.cache.clear();
      it = ctx.cache.emplace(key, makeEntry(ctx, key, alpha)).first;
    }
    const Entry& e = it->second;
    memory am(e.a, ctx.eng, a.p), bm(e.b, ctx.eng, b.p), cm(e.c, ctx.eng, c.p);
    e.prim.execute(ctx.strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    ctx.strm.wait();
  } catch (const dnnl::error& err) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN matmul failed: ") + err.what() + " (M=" +
                                           std::to_string(M) + " N=" + std::to_string(N) +
                                           " K=" + std::to_string(K) + ")");
  }
  return info.Env().Undefined();
}

// Number of cached primitives (for tests of the cache).
Napi::Value MatmulCacheSize(const Napi::CallbackInfo& info) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mu);
  return Napi::Number::New(info.Env(), static_cast<double>(ctx.cache.size()));
}

}  // namespace

void clearMatmulCache() {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mu);
  ctx.cache.clear();
}

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("matmulCacheSize", Napi::Function::New(env, MatmulCacheSize, "matmulCacheSize"));
}

}  // namespace tlc
