// Shared helpers for the native kernels: argument checking on N-API values (typed-array views are
// used in place, never copied), a vectorizable expf, and the registration hooks of each kernel file.
#pragma once

#include <napi.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__AVX512F__)
// GCC 12 reports the "undefined" pass-through operand inside AVX-512 intrinsics as maybe used
// uninitialized wherever they are inlined (a false positive, GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace tlc {

// Loops shorter than this run on one thread: an OpenMP fork costs about as much as this much work.
constexpr int64_t kParMin = 1 << 15;

template <typename T>
struct View {
  T* p;
  int64_t n;  // length in elements
};

inline Napi::Error typeError(const Napi::CallbackInfo& info, const std::string& msg) {
  return Napi::TypeError::New(info.Env(), msg);
}
inline Napi::Error rangeError(const Napi::CallbackInfo& info, const std::string& msg) {
  return Napi::RangeError::New(info.Env(), msg);
}

// A typed-array argument of the given kind; its data pointer already includes the byteOffset.
template <typename T>
View<T> arrayArg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type want,
                 const char* wantName, bool nullable) {
  Napi::Value v = info[i];
  if (nullable && (v.IsNull() || v.IsUndefined())) return {nullptr, 0};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want) {
    throw typeError(info, std::string(name) + ": expected a " + wantName + (nullable ? " or null" : "") +
                              ", got another value");
  }
  void* data = nullptr;
  size_t len = 0;
  napi_status st = napi_get_typedarray_info(info.Env(), v, nullptr, &len, &data, nullptr, nullptr);
  if (st != napi_ok) throw typeError(info, std::string(name) + ": could not read the typed array");
  return {static_cast<T*>(data), static_cast<int64_t>(len)};
}

inline View<float> f32Arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool nullable = false) {
  return arrayArg<float>(info, i, name, napi_float32_array, "Float32Array", nullable);
}
inline View<int32_t> i32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return arrayArg<int32_t>(info, i, name, napi_int32_array, "Int32Array", false);
}
inline View<uint8_t> u8Arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool nullable = false) {
  return arrayArg<uint8_t>(info, i, name, napi_uint8_array, "Uint8Array", nullable);
}

inline double numArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw typeError(info, std::string(name) + ": expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline bool boolArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsBoolean()) throw typeError(info, std::string(name) + ": expected a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// A size or count: an integer in [0, 2^40] (larger would not fit in memory anyway).
inline int64_t dimArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = numArg(info, i, name);
  if (!(d >= 0 && d <= 1099511627776.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw rangeError(info, std::string(name) + ": expected an integer in [0, 2^40], got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

// a*b with an overflow check (dimensions multiply into element counts).
inline int64_t mul(const Napi::CallbackInfo& info, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw rangeError(info, "tensor size overflows int64");
  return r;
}

template <typename T>
inline void need(const Napi::CallbackInfo& info, const View<T>& v, int64_t required, const char* name) {
  if (v.n < required) {
    throw rangeError(info, std::string(name) + ": expected at least " + std::to_string(required) +
                               " elements, the view has " + std::to_string(v.n));
  }
}

// Channel range [c0, c1) owned by thread `tid` of `nt` when columns are split across threads
// (blocks of 16 floats = one cache line, so threads never share a line of the output).
inline void colRange(int64_t C, int tid, int nt, int64_t* c0, int64_t* c1) {
  int64_t blocks = (C + 15) / 16;
  int64_t b0 = blocks * tid / nt, b1 = blocks * (tid + 1) / nt;
  *c0 = b0 * 16 < C ? b0 * 16 : C;
  *c1 = b1 * 16 < C ? b1 * 16 : C;
}

// exp(x) for float within 1.5 ulp (Cephes polynomial), written so loops using it vectorize (needs
// -fno-trapping-math for the clamps). Inputs are clamped to [-87, 88]: below, the result is exp(-87), never 0.
inline float fastExp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  float t = x * 1.44269504088896341f;
  int32_t ni = static_cast<int32_t>(t + __builtin_copysignf(0.5f, t));  // round to nearest
  float fx = static_cast<float>(ni);
  float r = x - fx * 0.693359375f;
  r = r + fx * 2.12194440e-4f;
  float r2 = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r2 + r + 1.0f;
  int32_t e = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &e, sizeof scale);
  return y * scale;
}

#if defined(__AVX512F__)
// fastExp on 16 lanes: the same clamps, reduction and polynomial, with the rounding and the 2^n
// scaling done by one instruction each (vrndscaleps, vscalefps) instead of integer tricks. Ties in
// the rounding go to even (fastExp: away from zero); either way the result is within 1.5 ulp.
inline __m512 fastExp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fmadd_ps(fx, _mm512_set1_ps(2.12194440e-4f), r);
  const __m512 r2 = _mm512_mul_ps(r, r);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_add_ps(_mm512_fmadd_ps(y, r2, r), _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, fx);
}

// Lanes [0, n) of a 16-lane mask (all 16 for n >= 16, none for n <= 0).
inline __mmask16 firstLanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}
#endif

// A per-thread scratch buffer of at least n floats (contents unspecified), kept across calls:
// OpenMP's pool threads persist, so a kernel's scratch is allocated (and zeroed) once, not per call.
inline float* threadScratch(int slot, size_t n) {
  thread_local std::vector<float> bufs[4];
  std::vector<float>& b = bufs[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

// Each kernel file adds its functions to the exports object.
void registerMatmul(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerRows(Napi::Env env, Napi::Object exports);
void registerAttention(Napi::Env env, Napi::Object exports);
void registerLoss(Napi::Env env, Napi::Object exports);
void registerProbe(Napi::Env env, Napi::Object exports);
void registerLinear(Napi::Env env, Napi::Object exports);
void registerLinearInt8(Napi::Env env, Napi::Object exports);
void registerLinearKbit(Napi::Env env, Napi::Object exports);
void registerLinearSparse(Napi::Env env, Napi::Object exports);
void registerDecode(Napi::Env env, Napi::Object exports);
// db[c] += sum over rows n of dout[n, c] for c in [c0, c1), in double, rows in order (linear.cc).
void colSumAdd(float* db, const float* dout, int64_t N, int64_t C, int64_t c0, int64_t c1);
// Called when the thread count changes: cached GEMM primitives were planned for the old count.
void clearMatmulCache();
// The same for the int8 inference primitives (linear_int8.cc).
void clearInt8Cache();

}  // namespace tlc
