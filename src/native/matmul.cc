// GEMM through oneDNN's fp32 matmul primitive: transposes as strided memory descriptors, alpha as an
// output scale, accumulation as a sum post-op, a bias as the primitive's bias. Primitives are cached
// per shape (or per shape with a runtime row count); each runs with a scratchpad owned here per task
// slot, so two can run at once (linear.cc's two-thread split). No model buffers are owned here.
#include "matmul.h"

#include <mutex>
#include <unordered_map>

namespace tlc {
namespace {

using dnnl::memory;

struct Key {
  int64_t M, N, K, lda, ldb, ldc;
  bool ta, tb, acc, bias, single, bf16;
  uint32_t alphaBits;
  bool operator==(const Key& o) const {
    return M == o.M && N == o.N && K == o.K && lda == o.lda && ldb == o.ldb && ldc == o.ldc && ta == o.ta && tb == o.tb && acc == o.acc && bias == o.bias &&
           single == o.single && bf16 == o.bf16 && alphaBits == o.alphaBits;
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](uint64_t x) { h = (h ^ x) * 1099511628211ull; };
    mix(k.M);
    mix(k.N);
    mix(k.K);
    mix(k.lda);
    mix(k.ldb);
    mix(k.ldc);
    mix(k.ta | (k.tb << 1) | (k.acc << 2) | (k.bias << 3) | (k.single << 4) | (k.bf16 << 5));
    mix(k.alphaBits);
    return static_cast<size_t>(h);
  }
};

// The one engine of the process, a stream and a scratchpad per task slot, and the primitive cache
// (bounded: cleared when full).
struct Context {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm[kGemmSlots] = {dnnl::stream(eng), dnnl::stream(eng)};
  std::vector<uint8_t> scratch[kGemmSlots];
  std::unordered_map<Key, Gemm, KeyHash> cache;
  std::mutex mu;
};

constexpr size_t kMaxCached = 512;

Context& context() {
  static Context ctx;
  return ctx;
}

struct Descs {
  memory::desc a, b, c;
};

// op(A) is (M,K): stored (M,K) row-major, or (K,M) row-major when transposed; rows lda apart.
// op(B) is (K,N): stored (K,N), or (N,K) when transposed. M or K may be DNNL_RUNTIME_DIM_VAL.
// A and B are f32 or bf16; C is always f32.
Descs descsOf(int64_t M, int64_t N, int64_t K, bool ta, bool tb, int64_t lda, int64_t ldb, int64_t ldc, bool bf16) {
  using dt = memory::data_type;
  const dt in = bf16 ? dt::bf16 : dt::f32;
  return {memory::desc({M, K}, in, ta ? memory::dims{1, lda} : memory::dims{lda, 1}),
          memory::desc({K, N}, in, tb ? memory::dims{1, ldb} : memory::dims{ldb, 1}),
          memory::desc({M, N}, dt::f32, memory::dims{ldc, 1})};
}

Gemm makeGemm(const Context& ctx, const Key& k, float alpha) {
  auto [a, b, c] = descsOf(k.M, k.N, k.K, k.ta, k.tb, k.lda, k.ldb, k.ldc, k.bf16);
  memory::desc bias = k.bias ? memory::desc({1, k.N}, memory::data_type::f32, memory::dims{k.N, 1}) : memory::desc();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (k.acc) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  dnnl::matmul::primitive_desc pd(k.bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c), attr,
                                  ctx.eng);
  const bool rt = k.M == DNNL_RUNTIME_DIM_VAL || k.K == DNNL_RUNTIME_DIM_VAL;
  return Gemm{dnnl::matmul(pd), a, b, c, bias, pd.scratchpad_desc(), rt, k.ta, k.tb, k.bf16, k.lda, k.ldb, k.ldc};
}

}  // namespace

Gemm gemmFor(const GemmShape& s, int slot, bool single) {
  Context& ctx = context();
  Key key{s.rtM ? DNNL_RUNTIME_DIM_VAL : s.M,
          s.N,
          s.rtK ? DNNL_RUNTIME_DIM_VAL : s.K,
          s.lda ? s.lda : (s.ta ? s.M : s.K),
          s.ldb ? s.ldb : (s.tb ? s.K : s.N),
          s.ldc ? s.ldc : s.N,
          s.ta,
          s.tb,
          s.acc,
          s.bias,
          single,
          s.bf16,
          0};
  std::memcpy(&key.alphaBits, &s.alpha, sizeof s.alpha);
  std::lock_guard<std::mutex> lock(ctx.mu);
  auto it = ctx.cache.find(key);
  if (it == ctx.cache.end()) {
    if (ctx.cache.size() >= kMaxCached) ctx.cache.clear();
    int nt = omp_get_max_threads();
    if (single) omp_set_num_threads(1);  // oneDNN plans its blocking for the threads it will have
    try {
      it = ctx.cache.emplace(key, makeGemm(ctx, key, s.alpha)).first;
    } catch (...) {
      omp_set_num_threads(nt);
      throw;
    }
    omp_set_num_threads(nt);
  }
  size_t need = it->second.scratch.get_size() + 64;  // + 64: room to align the start
  if (ctx.scratch[slot].size() < need) ctx.scratch[slot].resize(need);
  return it->second;  // a copy: primitives are shared handles, and a later clear() cannot free it
}

void runGemm(const Gemm& g, int slot, int64_t M, int64_t K, const void* a, const void* b, float* c,
             const float* bias) {
  Context& ctx = context();
  Descs d{g.a, g.b, g.c};
  if (g.rt) d = descsOf(M, g.c.dims()[1], K, g.ta, g.tb, g.lda, g.ldb, g.ldc, g.bf16);
  memory am(d.a, ctx.eng, const_cast<void*>(a)), bm(d.b, ctx.eng, const_cast<void*>(b));
  uintptr_t base = reinterpret_cast<uintptr_t>(ctx.scratch[slot].data());
  memory cm(d.c, ctx.eng, c), sm(g.scratch, ctx.eng, reinterpret_cast<void*>((base + 63) & ~uintptr_t{63}));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(g.bias, ctx.eng, const_cast<float*>(bias)));
  g.prim.execute(ctx.strm[slot], args);
  ctx.strm[slot].wait();
}

Napi::Error gemmError(const Napi::CallbackInfo& info, const dnnl::error& err, const GemmShape& s) {
  return Napi::Error::New(info.Env(), std::string("oneDNN matmul failed: ") + err.what() + " (M=" +
                                          std::to_string(s.M) + " N=" + std::to_string(s.N) +
                                          " K=" + std::to_string(s.K) + (s.bf16 ? ", bf16" : "") + ")");
}

void zeroOrKeep(float* c, int64_t mn, bool acc) {
  if (acc) return;
#pragma omp parallel for simd if (mn > kParMin) schedule(static)
  for (int64_t i = 0; i < mn; i++) c[i] = 0.0f;
}

void clearMatmulCache() {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mu);
  ctx.cache.clear();
}

namespace {

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  View<float> c = f32Arg(info, 0, "c"), a = f32Arg(info, 1, "a"), b = f32Arg(info, 2, "b");
  GemmShape s{};
  s.M = dimArg(info, 3, "M");
  s.N = dimArg(info, 4, "N");
  s.K = dimArg(info, 5, "K");
  s.ta = boolArg(info, 6, "transA");
  s.tb = boolArg(info, 7, "transB");
  s.alpha = static_cast<float>(numArg(info, 8, "alpha"));
  s.acc = boolArg(info, 9, "accumulate");
  need(info, c, mul(info, s.M, s.N), "matmul c");
  need(info, a, mul(info, s.M, s.K), "matmul a");
  need(info, b, mul(info, s.K, s.N), "matmul b");
  if (s.M == 0 || s.N == 0) return info.Env().Undefined();
  if (s.K == 0) {  // the product is zero, so C = accumulate ? C : 0
    zeroOrKeep(c.p, s.M * s.N, s.acc);
    return info.Env().Undefined();
  }
  try {
    runGemm(gemmFor(s, 0), 0, s.M, s.K, a.p, b.p, c.p, nullptr);
  } catch (const dnnl::error& err) {
    throw gemmError(info, err, s);
  }
  return info.Env().Undefined();
}

// Number of cached primitives (for tests of the cache).
Napi::Value MatmulCacheSize(const Napi::CallbackInfo& info) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mu);
  return Napi::Number::New(info.Env(), static_cast<double>(ctx.cache.size()));
}

// oneDNN's implementation name for a bf16 matmul (bf16 A and B, f32 C) on this CPU; throws if none.
Napi::Value Bf16MatmulImpl(const Napi::CallbackInfo& info) {
  try {
    auto [a, b, c] = descsOf(64, 64, 64, false, true, 64, 64, 64, true);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), context().eng);
    return Napi::String::New(info.Env(), pd.impl_info_str());
  } catch (const dnnl::error& err) {
    throw Napi::Error::New(info.Env(), std::string("no bf16 matmul implementation: ") + err.what());
  }
}

}  // namespace

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul, "matmul"));
  exports.Set("bf16MatmulImpl", Napi::Function::New(env, Bf16MatmulImpl, "bf16MatmulImpl"));
  exports.Set("matmulCacheSize", Napi::Function::New(env, MatmulCacheSize, "matmulCacheSize"));
}

}  // namespace tlc
