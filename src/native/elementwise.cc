// Elementwise and per-column kernels: fill/copy/scale/add, sumSquares, bias, GELU, tanh, dropout and
// AdamW, as OpenMP loops that vectorize. Reductions use a fixed order, so results do not depend on threads.
#include <cmath>
#include <vector>

#include "common.h"

namespace tlc {
namespace {

Napi::Value Fill(const Napi::CallbackInfo& info) {
  View<float> x = f32Arg(info, 0, "x");
  float value = static_cast<float>(numArg(info, 1, "value"));
  int64_t n = dimArg(info, 2, "n");
  need(info, x, n, "fill x");
  float* p = x.p;
#pragma omp parallel for simd if (n > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) p[i] = value;
  return info.Env().Undefined();
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  View<float> dst = f32Arg(info, 0, "dst"), src = f32Arg(info, 1, "src");
  int64_t n = dimArg(info, 2, "n");
  need(info, dst, n, "copy dst");
  need(info, src, n, "copy src");
  if (dst.p == src.p || n == 0) return info.Env().Undefined();
  constexpr int64_t chunk = 1 << 16;
  int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for if (n > kParMin) schedule(static)
  for (int64_t k = 0; k < chunks; k++) {
    int64_t i0 = k * chunk, len = n - i0 < chunk ? n - i0 : chunk;
    std::memmove(dst.p + i0, src.p + i0, static_cast<size_t>(len) * sizeof(float));
  }
  return info.Env().Undefined();
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  View<float> x = f32Arg(info, 0, "x");
  float s = static_cast<float>(numArg(info, 1, "s"));
  int64_t n = dimArg(info, 2, "n");
  need(info, x, n, "scale x");
  float* p = x.p;
#pragma omp parallel for simd if (n > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) p[i] *= s;
  return info.Env().Undefined();
}

// out may alias a or b: each element is read before it is written.
Napi::Value Add(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), a = f32Arg(info, 1, "a"), b = f32Arg(info, 2, "b");
  int64_t n = dimArg(info, 3, "n");
  need(info, out, n, "add out");
  need(info, a, n, "add a");
  need(info, b, n, "add b");
  float *o = out.p, *pa = a.p, *pb = b.p;
#pragma omp parallel for simd if (n > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) o[i] = pa[i] + pb[i];
  return info.Env().Undefined();
}

// Sum of squares of one block in double, 32 lanes in a fixed order: four independent 8-wide
// accumulator vectors, so the adds are not one dependent chain (8 lanes ran at the add latency).
double sumSquaresBlock(const float* x, int64_t n) {
  double lane[32] = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int j = 0; j < 32; j++) {
      double v = x[i + j];
      lane[j] += v * v;
    }
  }
  double tail = 0;
  for (; i < n; i++) tail += static_cast<double>(x[i]) * x[i];
  for (int w = 16; w >= 1; w /= 2) {  // pairwise tree over the lanes
    for (int j = 0; j < w; j++) lane[j] += lane[j + w];
  }
  return lane[0] + tail;
}

// Fixed-size blocks summed in block order: the same bits for any thread count.
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  View<float> x = f32Arg(info, 0, "x");
  int64_t n = dimArg(info, 1, "n");
  need(info, x, n, "sumSquares x");
  constexpr int64_t block = 8192;
  int64_t blocks = (n + block - 1) / block;
  std::vector<double> part(static_cast<size_t>(blocks));
#pragma omp parallel for if (n > kParMin) schedule(static)
  for (int64_t k = 0; k < blocks; k++) {
    int64_t i0 = k * block;
    part[k] = sumSquaresBlock(x.p + i0, n - i0 < block ? n - i0 : block);
  }
  double s = 0;
  for (double v : part) s += v;
  return Napi::Number::New(info.Env(), s);
}

Napi::Value AddBias(const Napi::CallbackInfo& info) {
  View<float> x = f32Arg(info, 0, "x"), bias = f32Arg(info, 1, "bias");
  int64_t N = dimArg(info, 2, "N"), C = dimArg(info, 3, "C");
  need(info, x, mul(info, N, C), "addBias x");
  need(info, bias, C, "addBias bias");
  float *px = x.p, *pb = bias.p;
#pragma omp parallel for if (N * C > kParMin) schedule(static)
  for (int64_t n = 0; n < N; n++) {
    float* row = px + n * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) row[c] += pb[c];
  }
  return info.Env().Undefined();
}

// Columns split across threads; each column summed over rows in order (in double): deterministic.
Napi::Value BiasBackward(const Napi::CallbackInfo& info) {
  View<float> dbias = f32Arg(info, 0, "dbias"), dout = f32Arg(info, 1, "dout");
  int64_t N = dimArg(info, 2, "N"), C = dimArg(info, 3, "C");
  need(info, dbias, C, "biasBackward dbias");
  need(info, dout, mul(info, N, C), "biasBackward dout");
  float *db = dbias.p, *pd = dout.p;
#pragma omp parallel if (N * C > kParMin)
  {
    int64_t c0, c1;
    colRange(C, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
    colSumAdd(db, pd, N, C, c0, c1);
  }
  return info.Env().Undefined();
}

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

// gelu(x) = 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = k (x + c x^3); the sigmoid form keeps
// relative accuracy in the negative tail where 1 + tanh(u) cancels.
// d gelu / dx = s + 2 x s (1 - s) u', s = sigmoid(2u), u' = k (1 + 3 c x^2).
// With AVX-512 both run 16 lanes through fastExp16 (the auto-vectorized scalar fastExp took 1.7x
// (forward) and 1.45x (backward) as long on 2M elements); the tail and other CPUs use the scalar form.
inline float geluOne(float x) {
  const float u = kGeluK * (x + kGeluC * x * x * x);
  return x / (1.0f + fastExp(-2.0f * u));
}
inline float geluGradOne(float x, float d) {
  const float u = kGeluK * (x + kGeluC * x * x * x);
  const float du = kGeluK * (1.0f + 3.0f * kGeluC * x * x);
  const float s = 1.0f / (1.0f + fastExp(-2.0f * u));
  return (s + 2.0f * x * s * (1.0f - s) * du) * d;
}

#if defined(__AVX512F__)
// -2u = -2k x (1 + c x^2)
inline __m512 geluMinus2U(__m512 x, __m512 x2) {
  return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(-2.0f * kGeluK)),
                       _mm512_fmadd_ps(x2, _mm512_set1_ps(kGeluC), _mm512_set1_ps(1.0f)));
}
#endif

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp");
  int64_t n = dimArg(info, 2, "n");
  need(info, out, n, "geluForward out");
  need(info, inp, n, "geluForward inp");
  float *o = out.p, *x = inp.p;
#if defined(__AVX512F__)
  const int64_t nv = n / 16 * 16;
#pragma omp parallel for if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < nv; i += 16) {
    const __m512 xi = _mm512_loadu_ps(x + i);
    const __m512 e = fastExp16(geluMinus2U(xi, _mm512_mul_ps(xi, xi)));
    _mm512_storeu_ps(o + i, _mm512_div_ps(xi, _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
  }
  for (int64_t i = nv; i < n; i++) o[i] = geluOne(x[i]);
#else
#pragma omp parallel for simd if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < n; i++) o[i] = geluOne(x[i]);
#endif
  return info.Env().Undefined();
}

// dinp may alias dout.
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  View<float> dinp = f32Arg(info, 0, "dinp"), inp = f32Arg(info, 1, "inp"), dout = f32Arg(info, 2, "dout");
  int64_t n = dimArg(info, 3, "n");
  need(info, dinp, n, "geluBackward dinp");
  need(info, inp, n, "geluBackward inp");
  need(info, dout, n, "geluBackward dout");
  float *di = dinp.p, *x = inp.p, *d = dout.p;
#if defined(__AVX512F__)
  const int64_t nv = n / 16 * 16;
#pragma omp parallel for if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < nv; i += 16) {
    const __m512 xi = _mm512_loadu_ps(x + i), x2 = _mm512_mul_ps(xi, xi), one = _mm512_set1_ps(1.0f);
    const __m512 du = _mm512_fmadd_ps(x2, _mm512_set1_ps(3.0f * kGeluC * kGeluK), _mm512_set1_ps(kGeluK));
    const __m512 s = _mm512_div_ps(one, _mm512_add_ps(fastExp16(geluMinus2U(xi, x2)), one));
    const __m512 t = _mm512_mul_ps(_mm512_mul_ps(_mm512_add_ps(xi, xi), s), _mm512_mul_ps(_mm512_sub_ps(one, s), du));
    _mm512_storeu_ps(di + i, _mm512_mul_ps(_mm512_add_ps(s, t), _mm512_loadu_ps(d + i)));
  }
  for (int64_t i = nv; i < n; i++) di[i] = geluGradOne(x[i], d[i]);
#else
#pragma omp parallel for simd if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < n; i++) di[i] = geluGradOne(x[i], d[i]);
#endif
  return info.Env().Undefined();
}

Napi::Value TanhForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp");
  int64_t n = dimArg(info, 2, "n");
  need(info, out, n, "tanhForward out");
  need(info, inp, n, "tanhForward inp");
  float *o = out.p, *x = inp.p;
#pragma omp parallel for if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < n; i++) o[i] = std::tanh(x[i]);
  return info.Env().Undefined();
}

Napi::Value TanhBackward(const Napi::CallbackInfo& info) {
  View<float> dinp = f32Arg(info, 0, "dinp"), out = f32Arg(info, 1, "out"), dout = f32Arg(info, 2, "dout");
  int64_t n = dimArg(info, 3, "n");
  need(info, dinp, n, "tanhBackward dinp");
  need(info, out, n, "tanhBackward out");
  need(info, dout, n, "tanhBackward dout");
  float *di = dinp.p, *y = out.p, *d = dout.p;
#pragma omp parallel for simd if (n > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) di[i] = (1.0f - y[i] * y[i]) * d[i];
  return info.Env().Undefined();
}

// murmur3's 32-bit finalizer, as fmix32 in src/engine/rng.ts.
inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

double dropoutP(const Napi::CallbackInfo& info, size_t i) {
  double p = numArg(info, i, "p");
  if (!(p >= 0 && p < 1)) throw rangeError(info, "dropout probability must be in [0, 1), got " + std::to_string(p));
  return p;
}

// Keep element i iff hash32(seed, i) >= min(2^32 - 1, floor(p 2^32)), exactly as rng.ts.
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out");
  View<uint8_t> mask = u8Arg(info, 1, "mask");
  View<float> inp = f32Arg(info, 2, "inp");
  double p = dropoutP(info, 3);
  if (!info[4].IsNumber()) throw typeError(info, "seed: expected a number");
  uint32_t seed = info[4].As<Napi::Number>().Uint32Value();  // ToUint32, as `seed >>> 0`
  int64_t n = dimArg(info, 5, "n");
  need(info, out, n, "dropoutForward out");
  need(info, mask, n, "dropoutForward mask");
  need(info, inp, n, "dropoutForward inp");
  double th = std::floor(p * 4294967296.0);
  uint32_t threshold = th > 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(th);
  uint32_t hs = fmix32(seed);
  double scale = 1.0 / (1.0 - p);
  float *o = out.p, *x = inp.p;
  uint8_t* m = mask.p;
#pragma omp parallel for simd if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    bool keep = fmix32(static_cast<uint32_t>(i) ^ hs) >= threshold;
    m[i] = keep ? 1 : 0;
    o[i] = keep ? static_cast<float>(static_cast<double>(x[i]) * scale) : 0.0f;
  }
  return info.Env().Undefined();
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  View<float> dinp = f32Arg(info, 0, "dinp"), dout = f32Arg(info, 1, "dout");
  View<uint8_t> mask = u8Arg(info, 2, "mask");
  double p = dropoutP(info, 3);
  int64_t n = dimArg(info, 4, "n");
  need(info, dinp, n, "dropoutBackward dinp");
  need(info, dout, n, "dropoutBackward dout");
  need(info, mask, n, "dropoutBackward mask");
  double scale = 1.0 / (1.0 - p);
  float *di = dinp.p, *d = dout.p;
  uint8_t* m = mask.p;
#pragma omp parallel for simd if (n > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) di[i] = m[i] ? static_cast<float>(static_cast<double>(d[i]) * scale) : 0.0f;
  return info.Env().Undefined();
}

// AdamW, PyTorch semantics (see backend.ts); arithmetic in double, storage in float. Each gradient is
// first multiplied by gradScale (clipping folded in: one pass over the gradients fewer).
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  View<float> param = f32Arg(info, 0, "param"), grad = f32Arg(info, 1, "grad");
  View<float> m = f32Arg(info, 2, "m"), v = f32Arg(info, 3, "v");
  int64_t n = dimArg(info, 4, "n");
  double lr = numArg(info, 5, "lr"), b1 = numArg(info, 6, "beta1"), b2 = numArg(info, 7, "beta2");
  double eps = numArg(info, 8, "eps"), wd = numArg(info, 9, "weightDecay");
  int64_t step = dimArg(info, 10, "step");
  const double gs = numArg(info, 11, "gradScale");
  if (step < 1) throw rangeError(info, "adamw: step is 1-based, got 0");
  need(info, param, n, "adamw param");
  need(info, grad, n, "adamw grad");
  need(info, m, n, "adamw m");
  need(info, v, n, "adamw v");
  double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  double bc2 = 1.0 - std::pow(b2, static_cast<double>(step));
  // mhat / (sqrt(vhat) + eps) with the bias corrections as multipliers: one division and one square
  // root per element instead of three divisions and a root (double division bounded the kernel).
  const double ibc1 = 1.0 / bc1, ibc2 = 1.0 / bc2;
  float *pp = param.p, *pg = grad.p, *pm = m.p, *pv = v.p;
#pragma omp parallel for simd if (n > kParMin / 4) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    double g = pg[i] * gs;
    double mi = b1 * pm[i] + (1.0 - b1) * g;
    double vi = b2 * pv[i] + (1.0 - b2) * g * g;
    pm[i] = static_cast<float>(mi);
    pv[i] = static_cast<float>(vi);
    double p = pp[i];
    pp[i] = static_cast<float>(p - lr * ((mi * ibc1) / (std::sqrt(vi * ibc2) + eps) + wd * p));
  }
  return info.Env().Undefined();
}

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("fill", Napi::Function::New(env, Fill, "fill"));
  exports.Set("copy", Napi::Function::New(env, Copy, "copy"));
  exports.Set("scale", Napi::Function::New(env, Scale, "scale"));
  exports.Set("add", Napi::Function::New(env, Add, "add"));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares, "sumSquares"));
  exports.Set("addBias", Napi::Function::New(env, AddBias, "addBias"));
  exports.Set("biasBackward", Napi::Function::New(env, BiasBackward, "biasBackward"));
  exports.Set("geluForward", Napi::Function::New(env, GeluForward, "geluForward"));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward, "geluBackward"));
  exports.Set("tanhForward", Napi::Function::New(env, TanhForward, "tanhForward"));
  exports.Set("tanhBackward", Napi::Function::New(env, TanhBackward, "tanhBackward"));
  exports.Set("dropoutForward", Napi::Function::New(env, DropoutForward, "dropoutForward"));
  exports.Set("dropoutBackward", Napi::Function::New(env, DropoutBackward, "dropoutBackward"));
  exports.Set("adamw", Napi::Function::New(env, AdamW, "adamw"));
}

}  // namespace tlc
