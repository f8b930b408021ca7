// The int8 x int8 inference linear kernel (Backend.linearInt8Forward): each input row is quantized to
// u8 with its own scale and zero point (in float, exactly as the ts twin; the pass also finds the
// outlier channels), multiplied u8 x s8 into s32 by oneDNN's matmul (VNNI; up to 4 rows by a VNNI
// dot-product loop over the stored weight rows), the products written into the output's own bytes,
// and one pass dequantizes them in place: the zero-point compensation exact in int32, the scales
// in float (in double with outlier channels, which are added from the int8 weight), and the bias.
// The u8s8s32 primitive is cached per shape (rows as a runtime dimension when not a multiple of 64).
#include <dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#define TLC_INT8_GEMV 1
#endif

namespace tlc {
namespace {

using dnnl::memory;

constexpr int64_t kRegularRows = 64;
constexpr size_t kMaxCached = 256;

struct Int8Gemm {
  dnnl::matmul prim;
  memory::desc a, b, c, scratch;
  bool rt;
};

struct Int8Context {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::unordered_map<std::string, Int8Gemm> cache;
  std::mutex mu;
  // one scratchpad for every cached primitive (user mode), as matmul.cc's: oneDNN's default gives
  // each primitive its own for its lifetime, a few MB held per cached shape
  std::vector<uint8_t> scratch;
};

Int8Context& int8Context() {
  static Int8Context ctx;
  return ctx;
}

// src u8 (M, K) row-major; weights s8 stored (N, K) row-major, read as (K, N); dst s32 (M, N).
void int8Descs(int64_t M, int64_t K, int64_t N, memory::desc* a, memory::desc* b, memory::desc* c) {
  using dt = memory::data_type;
  *a = memory::desc({M, K}, dt::u8, memory::dims{K, 1});
  *b = memory::desc({K, N}, dt::s8, memory::dims{1, K});
  *c = memory::desc({M, N}, dt::s32, memory::dims{N, 1});
}

Int8Gemm int8GemmFor(int64_t M, int64_t K, int64_t N) {
  Int8Context& ctx = int8Context();
  const bool rt = M % kRegularRows != 0;
  const int64_t m = rt ? DNNL_RUNTIME_DIM_VAL : M;
  const std::string key = std::to_string(m) + "x" + std::to_string(K) + "x" + std::to_string(N);
  std::lock_guard<std::mutex> lock(ctx.mu);
  auto it = ctx.cache.find(key);
  if (it != ctx.cache.end()) return it->second;
  if (ctx.cache.size() >= kMaxCached) ctx.cache.clear();
  Int8Gemm g{};
  int8Descs(m, K, N, &g.a, &g.b, &g.c);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(g.a, g.b, g.c), attr, ctx.eng);
  g.prim = dnnl::matmul(pd);
  g.scratch = pd.scratchpad_desc();
  g.rt = rt;
  return ctx.cache.emplace(key, g).first->second;
}

void runInt8Gemm(const Int8Gemm& g, int64_t M, int64_t K, int64_t N, const uint8_t* a, const int8_t* b,
                 int32_t* c) {
  Int8Context& ctx = int8Context();
  memory::desc da = g.a, db = g.b, dc = g.c;
  if (g.rt) int8Descs(M, K, N, &da, &db, &dc);
  memory am(da, ctx.eng, const_cast<uint8_t*>(a)), bm(db, ctx.eng, const_cast<int8_t*>(b)), cm(dc, ctx.eng, c);
  const size_t need = g.scratch.get_size() + 64;  // + 64: room to align the start
  if (ctx.scratch.size() < need) ctx.scratch.resize(need);
  const uintptr_t base = reinterpret_cast<uintptr_t>(ctx.scratch.data());
  memory sm(g.scratch, ctx.eng, reinterpret_cast<void*>((base + 63) & ~uintptr_t{63}));
  g.prim.execute(ctx.strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}, {DNNL_ARG_SCRATCHPAD, sm}});
  ctx.strm.wait();
}

#if TLC_INT8_GEMV
// Few rows (decoding): acc (N, Out) = codes (N, In) u8 x q (Out, In) s8, four weight rows at a time,
// each 64 codes one VNNI u8 x s8 dot product; the weight rows are read in their stored layout, so
// nothing is copied or reordered (oneDNN's matmul reorders the weight on every call). Exact in int32,
// as the GEMM is.
constexpr int64_t kGemvRows = 4;

void int8Gemv(const uint8_t* codes, const int8_t* q, int64_t N, int64_t In, int64_t Out, int32_t* acc) {
#pragma omp parallel for schedule(static) if (Out * In > kParMin)
  for (int64_t o0 = 0; o0 < Out; o0 += 4) {
    const int r = static_cast<int>(std::min<int64_t>(4, Out - o0));
    for (int64_t n = 0; n < N; n++) {
      __m512i a[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                      _mm512_setzero_si512()};
      for (int64_t k = 0; k < In; k += 64) {
        const __mmask64 m = In - k >= 64 ? ~__mmask64{0} : (__mmask64{1} << (In - k)) - 1;
        const __m512i x = _mm512_maskz_loadu_epi8(m, codes + n * In + k);
        for (int i = 0; i < r; i++)
          a[i] = _mm512_dpbusd_epi32(a[i], x, _mm512_maskz_loadu_epi8(m, q + (o0 + i) * In + k));
      }
      for (int i = 0; i < r; i++) acc[n * Out + o0 + i] = _mm512_reduce_add_epi32(a[i]);
    }
  }
}
#endif

// A row's scale s = (max - min) / 255, its inverse and zero point round(-min / s), all in float, each
// one IEEE operation (so the ts twin reproduces them with Math.fround); rounding is to nearest, ties
// to even (std::rint in the default mode), as ONNX's DynamicQuantizeLinear.
struct RowScale {
  float s, inv, z;
};

// v clamped to [0, 255] (compares, not fmin/fmax, so the loop vectorizes; v is never NaN here).
inline float clamp255f(float v) { return v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v; }

inline RowScale rowScale(float mn, float mx) {
  const float s = mx > mn ? (mx - mn) / 255.0f : 1.0f;
  const float inv = 1.0f / s;
  return {s, inv, clamp255f(std::rint(-mn * inv))};
}


// Row n of x into u8 codes (outlier channels get the zero point, so they add nothing); its scale and
// zero point. In float, as the ts twin: code = clamp(rint(x * (1 / sa)) + zp, 0, 255).
void quantizeRow(const float* x, int64_t In, const uint8_t* outlier, uint8_t* codes, double* sa, int32_t* zp) {
  float mn = 0.0f, mx = 0.0f;
#pragma omp simd reduction(min : mn) reduction(max : mx)
  for (int64_t j = 0; j < In; j++) {
    const float v = outlier[j] ? 0.0f : x[j];
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  const RowScale r = rowScale(mn, mx);
#pragma omp simd
  for (int64_t j = 0; j < In; j++) {
    const float c = clamp255f(std::rint(x[j] * r.inv) + r.z);
    codes[j] = static_cast<uint8_t>(static_cast<int32_t>(outlier[j] ? r.z : c));
  }
  *sa = r.s;
  *zp = static_cast<int32_t>(r.z);
}

// Quantizes row x into codes assuming no outlier channel (the common case) and raises colMax[j] to
// |x[j]|: one read of the row for both, so the outlier search costs no pass of its own.
void quantizeRowNoOutliers(const float* x, int64_t In, float* colMax, uint8_t* codes, double* sa,
                           int32_t* zp) {
  float mn = 0.0f, mx = 0.0f;
#pragma omp simd reduction(min : mn) reduction(max : mx)
  for (int64_t j = 0; j < In; j++) {
    const float v = x[j];
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
    const float a = std::fabs(v);
    colMax[j] = a > colMax[j] ? a : colMax[j];
  }
  const RowScale r = rowScale(mn, mx);
#pragma omp simd
  for (int64_t j = 0; j < In; j++)
    codes[j] = static_cast<uint8_t>(static_cast<int32_t>(clamp255f(std::rint(x[j] * r.inv) + r.z)));
  *sa = r.s;
  *zp = static_cast<int32_t>(r.z);
}

struct Int8Args {
  float* out;
  const float* inp;
  const int8_t* q;
  const float* scales;
  const int32_t* rowSums;
  const float* bias;
  int64_t N, In, Out;
};

// out[n, o] = (acc - zp_n rowSum_o) sa_n scale_o + outlier channels in double + bias_o. acc may be
// out's own memory: each element is read before the same element is written.
void dequantize(const Int8Args& a, const int32_t* acc, const double* sa, const int32_t* zp,
                const std::vector<int64_t>& cols) {
#pragma omp parallel for schedule(static) if (a.N * a.Out > kParMin)
  for (int64_t n = 0; n < a.N; n++) {
    const float* x = a.inp + n * a.In;
    const int32_t* r = acc + n * a.Out;
    float* y = a.out + n * a.Out;
    const double z = zp[n], san = sa[n];
    if (cols.empty() && a.In <= 32768) {
      // in float, 16 lanes: the compensation acc - zp rowSum is exact in int32 (|acc| <= 255 * 127 * In
      // and |zp rowSum| <= 255 * 127 * In, In <= 32768), then one rounding per operation
      const int32_t zi = zp[n];
      const float sf = static_cast<float>(san);
      const int32_t* rs = a.rowSums;
      const float* sc = a.scales;
      if (a.bias) {
        const float* b = a.bias;
#pragma omp simd
        for (int64_t o = 0; o < a.Out; o++) y[o] = static_cast<float>(r[o] - zi * rs[o]) * (sf * sc[o]) + b[o];
      } else {
#pragma omp simd
        for (int64_t o = 0; o < a.Out; o++) y[o] = static_cast<float>(r[o] - zi * rs[o]) * (sf * sc[o]);
      }
      continue;
    }
    // outlier channels (or a very wide input): in double
    for (int64_t o = 0; o < a.Out; o++) {
      const double s = a.scales[o];
      double v = (static_cast<double>(r[o]) - z * a.rowSums[o]) * san * s;
      double f = 0.0;
      for (int64_t j : cols) f += static_cast<double>(x[j]) * a.q[o * a.In + j] * s;
      v += f;
      y[o] = static_cast<float>(a.bias ? v + a.bias[o] : v);
    }
  }
}

// Quantizes every row: first as if no channel were an outlier, finding each channel's largest |x| on
// the way; only when some channel exceeds thr (outliers are channels over thr in any row) are the
// rows quantized again with those channels left out. Returns the outlier channels.
std::vector<int64_t> quantizeRows(const Int8Args& a, double thr, uint8_t* cp, double* sa, int32_t* zp) {
  const int64_t In = a.In;
  const int nt = (a.N * In > kParMin) ? omp_get_max_threads() : 1;
  std::vector<float> colMax(static_cast<size_t>(nt * In), 0.0f);
  float* cm = colMax.data();
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t n = 0; n < a.N; n++)
    quantizeRowNoOutliers(a.inp + n * In, In, cm + omp_get_thread_num() * In, cp + n * In, &sa[n], &zp[n]);
  std::vector<int64_t> cols;
  if (!(thr < INFINITY)) return cols;
  for (int64_t j = 0; j < In; j++) {
    float m = cm[j];
    for (int t = 1; t < nt; t++) m = cm[t * In + j] > m ? cm[t * In + j] : m;
    if (m > thr) cols.push_back(j);
  }
  if (cols.empty()) return cols;
  std::vector<uint8_t> outlier(static_cast<size_t>(In), 0);
  for (int64_t j : cols) outlier[j] = 1;
  const uint8_t* isOut = outlier.data();
#pragma omp parallel for schedule(static) if (a.N * In > kParMin)
  for (int64_t n = 0; n < a.N; n++) quantizeRow(a.inp + n * In, In, isOut, cp + n * In, &sa[n], &zp[n]);
  return cols;
}

void linearInt8(const Int8Args& a, double thr) {
  thread_local std::vector<uint8_t> codes;
  codes.resize(static_cast<size_t>(a.N * a.In));
  std::vector<double> sa(static_cast<size_t>(a.N));
  std::vector<int32_t> zp(static_cast<size_t>(a.N));
  uint8_t* cp = codes.data();  // this thread's buffers: the pool threads must not name their own
  const std::vector<int64_t> cols = quantizeRows(a, thr, cp, sa.data(), zp.data());
  // the int32 products go into the output's own bytes (an int32 and a float are both 4 bytes) and
  // are dequantized in place: no (N, Out) accumulator is held (at batch 32 x 128 the tied head's
  // would be 0.5 GB)
  int32_t* acc = reinterpret_cast<int32_t*>(a.out);
#if TLC_INT8_GEMV
  if (a.N <= kGemvRows) int8Gemv(cp, a.q, a.N, a.In, a.Out, acc);
  else
#endif
    runInt8Gemm(int8GemmFor(a.N, a.In, a.Out), a.N, a.In, a.Out, cp, a.q, acc);
  dequantize(a, acc, sa.data(), zp.data(), cols);
}

View<int8_t> i8Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return arrayArg<int8_t>(info, i, name, napi_int8_array, "Int8Array", false);
}

// linearInt8Forward(out, inp, q, scales, rowSums, bias|null, N, In, Out, outlierThreshold)
Napi::Value LinearInt8Forward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp");
  View<int8_t> q = i8Arg(info, 2, "weight codes");
  View<float> scales = f32Arg(info, 3, "weight scales");
  View<int32_t> sums = i32Arg(info, 4, "weight row sums");
  View<float> bias = f32Arg(info, 5, "bias", true);
  int64_t N = dimArg(info, 6, "N"), In = dimArg(info, 7, "In"), Out = dimArg(info, 8, "Out");
  const double thr = numArg(info, 9, "outlierThreshold");
  need(info, out, mul(info, N, Out), "linearInt8Forward out");
  need(info, inp, mul(info, N, In), "linearInt8Forward inp");
  need(info, q, mul(info, Out, In), "linearInt8Forward weight codes");
  need(info, scales, Out, "linearInt8Forward weight scales");
  need(info, sums, Out, "linearInt8Forward weight row sums");
  if (bias.p) need(info, bias, Out, "linearInt8Forward bias");
  if (N == 0 || Out == 0) return info.Env().Undefined();
  Int8Args a{out.p, inp.p, q.p, scales.p, sums.p, bias.p, N, In, Out};
  if (In == 0) {  // empty product: out = bias (or 0) in every row
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < Out; o++) out.p[n * Out + o] = bias.p ? bias.p[o] : 0.0f;
    return info.Env().Undefined();
  }
  try {
    linearInt8(a, thr);
  } catch (const dnnl::error& err) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN int8 matmul failed: ") + err.what() + " (N=" +
                                           std::to_string(N) + " In=" + std::to_string(In) +
                                           " Out=" + std::to_string(Out) + ")");
  }
  return info.Env().Undefined();
}

// oneDNN's implementation name for the u8s8s32 matmul of a (128, 256) x (256, 256) product here.
Napi::Value Int8MatmulImpl(const Napi::CallbackInfo& info) {
  memory::desc a, b, c;
  int8Descs(128, 256, 256, &a, &b, &c);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), int8Context().eng);
  return Napi::String::New(info.Env(), pd.impl_info_str());
}

}  // namespace

void clearInt8Cache() {
  Int8Context& ctx = int8Context();
  std::lock_guard<std::mutex> lock(ctx.mu);
  ctx.cache.clear();
}

void registerLinearInt8(Napi::Env env, Napi::Object exports) {
  exports.Set("linearInt8Forward", Napi::Function::New(env, LinearInt8Forward, "linearInt8Forward"));
  exports.Set("int8MatmulImpl", Napi::Function::New(env, Int8MatmulImpl, "int8MatmulImpl"));
}

}  // namespace tlc
