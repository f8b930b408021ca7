// Kernels of incremental decoding (src/engine/decode-kernels.ts; ts twins in src/engine/ts/decode.ts):
// one-query attention over per-row key/value blocks (the decoder's cache; cross keys/values read
// through a row -> source index instead of being copied per row), strided row copies (appending to
// and reordering the cache), and the fused log-softmax + top-k of next-token logits (one pass over
// the logits instead of three in JS). Each row (and head) is one task: results do not depend on threads.
#include <cmath>
#include <limits>

#include "common.h"

namespace tlc {
namespace {

View<int32_t> i32OrNull(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return arrayArg<int32_t>(info, i, name, napi_int32_array, "Int32Array", true);
}

// Largest idx[i] + 1 over i < n (0 when n = 0), after checking every idx[i] >= 0.
int64_t indexRows(const Napi::CallbackInfo& info, const int32_t* idx, int64_t n, const char* what) {
  int64_t rows = 0;
  for (int64_t i = 0; i < n; i++) {
    if (idx[i] < 0) throw rangeError(info, std::string(what) + ": negative index at position " + std::to_string(i));
    rows = idx[i] + 1 > rows ? idx[i] + 1 : rows;
  }
  return rows;
}

struct One {
  int64_t n, Tk, C, NH, hs, qs, kvs, bs;
  int64_t irs, iks;  // strides of the block index table
  float scale;
};

// One (row, head): scores over the row's allowed keys, softmax, weighted sum of values.
void attendHead(const One& s, float* out, const float* q, const float* k, const float* v, const uint8_t* mask,
                const int32_t* blocks, int64_t r, int64_t h, float* p, float* acc) {
  const int64_t hs = s.hs, Tk = s.Tk;
  const float* qr = q + r * s.qs + h * hs;
  const int32_t* bi = blocks ? blocks + r * s.irs : nullptr;
  auto block = [&](int64_t j) { return bi ? static_cast<int64_t>(bi[j * s.iks]) : r; };
  auto allowed = [&](int64_t j) { return !mask || mask[block(j) * Tk + j]; };
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < Tk; j++) {
    if (!allowed(j)) continue;
    const float* kj = k + block(j) * s.bs + j * s.kvs + h * hs;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t d = 0; d < hs; d++) dot += qr[d] * kj[d];
    p[j] = dot * s.scale;
    mx = p[j] > mx ? p[j] : mx;
  }
  float* o = out + r * s.C + h * hs;
  for (int64_t d = 0; d < hs; d++) acc[d] = 0.0f;
  if (mx == -std::numeric_limits<float>::infinity()) {  // every key masked (or none)
    for (int64_t d = 0; d < hs; d++) o[d] = 0.0f;
    return;
  }
  float sum = 0;
  for (int64_t j = 0; j < Tk; j++) {
    if (!allowed(j)) continue;
    const float e = fastExp(p[j] - mx);
    sum += e;
    const float* vj = v + block(j) * s.bs + j * s.kvs + h * hs;
#pragma omp simd
    for (int64_t d = 0; d < hs; d++) acc[d] += e * vj[d];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t d = 0; d < hs; d++) o[d] = acc[d] * inv;
}

// attendOne(out, q, k, v, keyMask, blocks, n, Tk, C, NH, qStride, kvStride, blockStride, idxRowStride, idxKeyStride)
Napi::Value AttendOne(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), q = f32Arg(info, 1, "q");
  View<float> k = f32Arg(info, 2, "k"), v = f32Arg(info, 3, "v");
  View<uint8_t> mask = u8Arg(info, 4, "keyMask", true);
  View<int32_t> blocks = i32OrNull(info, 5, "blocks");
  One s{};
  s.n = dimArg(info, 6, "n");
  s.Tk = dimArg(info, 7, "Tk");
  s.C = dimArg(info, 8, "C");
  s.NH = dimArg(info, 9, "NH");
  s.qs = dimArg(info, 10, "qStride");
  s.kvs = dimArg(info, 11, "kvStride");
  s.bs = dimArg(info, 12, "blockStride");
  s.irs = dimArg(info, 13, "idxRowStride");
  s.iks = dimArg(info, 14, "idxKeyStride");
  if (s.NH == 0 || s.C % s.NH != 0)
    throw rangeError(info, "attendOne: C must be a positive multiple of NH, got C=" + std::to_string(s.C) +
                               " NH=" + std::to_string(s.NH));
  if (s.qs < s.C || s.kvs < s.C) throw rangeError(info, "attendOne: qStride and kvStride must be >= C");
  s.hs = s.C / s.NH;
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.hs)));
  need(info, out, mul(info, s.n, s.C), "attendOne out");
  if (s.n > 0) need(info, q, mul(info, s.n - 1, s.qs) + s.C, "attendOne q");
  int64_t nb = s.n;
  if (blocks.p && s.n > 0 && s.Tk > 0) {
    need(info, blocks, mul(info, s.n - 1, s.irs) + mul(info, s.Tk - 1, s.iks) + 1, "attendOne blocks");
    nb = 0;
    for (int64_t r = 0; r < s.n; r++)
      for (int64_t j = 0; j < s.Tk; j++) {
        const int32_t b = blocks.p[r * s.irs + j * s.iks];
        if (b < 0) throw rangeError(info, "attendOne blocks: negative block index " + std::to_string(b));
        nb = b + 1 > nb ? b + 1 : nb;
      }
  }
  if (nb > 0 && s.Tk > 0) {
    const int64_t span = mul(info, nb - 1, s.bs) + mul(info, s.Tk - 1, s.kvs) + s.C;
    need(info, k, span, "attendOne k");
    need(info, v, span, "attendOne v");
  }
  if (mask.p) need(info, mask, mul(info, nb, s.Tk), "attendOne keyMask");
  const int64_t tasks = s.n * s.NH;
  // a decoding step's attention is a few microseconds of work: fork only when there is much more
  // (waking the second thread costs more than the work itself on a busy machine)
#pragma omp parallel if (tasks * s.Tk * s.hs > 16 * kParMin)
  {
    float* p = threadScratch(0, static_cast<size_t>(s.Tk));
    float* acc = threadScratch(1, static_cast<size_t>(s.hs));
#pragma omp for schedule(static)
    for (int64_t u = 0; u < tasks; u++)
      attendHead(s, out.p, q.p, k.p, v.p, mask.p, blocks.p, u / s.NH, u % s.NH, p, acc);
  }
  return info.Env().Undefined();
}

// copyRows(out, outStride, inp, inStride, idx, n, len)
Napi::Value CopyRows(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out");
  int64_t os = dimArg(info, 1, "outStride");
  View<float> inp = f32Arg(info, 2, "inp");
  int64_t is = dimArg(info, 3, "inStride");
  View<int32_t> idx = i32OrNull(info, 4, "idx");
  int64_t n = dimArg(info, 5, "n"), len = dimArg(info, 6, "len");
  if (n > 1 && (os < len || is < len)) throw rangeError(info, "copyRows: strides must be >= len");
  if (n == 0 || len == 0) return info.Env().Undefined();
  need(info, out, mul(info, n - 1, os) + len, "copyRows out");
  int64_t rows = n;
  if (idx.p) {
    need(info, idx, n, "copyRows idx");
    rows = indexRows(info, idx.p, n, "copyRows idx");
  }
  if (rows > 0) need(info, inp, mul(info, rows - 1, is) + len, "copyRows inp");
  float *o = out.p, *x = inp.p;
  const int32_t* ix = idx.p;
#pragma omp parallel for if (n * len > 4 * kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++)
    std::memcpy(o + i * os, x + (ix ? ix[i] : i) * is, static_cast<size_t>(len) * sizeof(float));
  return info.Env().Undefined();
}

// Row r of logits: its max, then logsumexp (exp in float, summed in double), then the top k.
void topKRow(const float* x, int64_t V, int64_t k, int32_t* top, double* lp) {
  float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
  for (int64_t v = 0; v < V; v++) mx = x[v] > mx ? x[v] : mx;
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t v = 0; v < V; v++) sum += static_cast<double>(fastExp(x[v] - mx));
  const double lse = static_cast<double>(mx) + std::log(sum);
  int64_t m = 0;
  auto insert = [&](int64_t v) {
    const float xv = x[v];
    int64_t i = m < k ? m++ : k - 1;
    while (i > 0 && x[top[i - 1]] < xv) {
      top[i] = top[i - 1];
      i--;
    }
    top[i] = static_cast<int32_t>(v);
  };
  int64_t v = 0;
  for (; v < V && m < k; v++) insert(v);
#if defined(__AVX512F__)
  for (; v + 16 <= V; v += 16) {  // 16 at a time against the current k-th value: inserts are rare
    __mmask16 gt = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + v), _mm512_set1_ps(x[top[k - 1]]), _CMP_GT_OQ);
    while (gt) {
      const int l = __builtin_ctz(gt);
      gt &= static_cast<__mmask16>(gt - 1);
      if (x[v + l] > x[top[k - 1]]) insert(v + l);
    }
  }
#endif
  for (; v < V; v++)
    if (x[v] > x[top[k - 1]]) insert(v);
  for (int64_t i = 0; i < k; i++) lp[i] = static_cast<double>(x[top[i]]) - lse;
}

// logSoftmaxTopK(logits, n, V, k, idx, logprobs)
Napi::Value LogSoftmaxTopK(const Napi::CallbackInfo& info) {
  View<float> logits = f32Arg(info, 0, "logits");
  int64_t n = dimArg(info, 1, "n"), V = dimArg(info, 2, "V"), k = dimArg(info, 3, "k");
  View<int32_t> idx = i32Arg(info, 4, "idx");
  View<double> lp = arrayArg<double>(info, 5, "logprobs", napi_float64_array, "Float64Array", false);
  if (k < 1 || k > V)
    throw rangeError(info, "logSoftmaxTopK: expected 1 <= k <= V, got k=" + std::to_string(k) + " V=" + std::to_string(V));
  need(info, logits, mul(info, n, V), "logSoftmaxTopK logits");
  need(info, idx, mul(info, n, k), "logSoftmaxTopK idx");
  need(info, lp, mul(info, n, k), "logSoftmaxTopK logprobs");
  const float* x = logits.p;
  int32_t* ix = idx.p;
  double* l = lp.p;
#pragma omp parallel for if (n * V > kParMin) schedule(static)
  for (int64_t r = 0; r < n; r++) topKRow(x + r * V, V, k, ix + r * k, l + r * k);
  return info.Env().Undefined();
}

}  // namespace

void registerDecode(Napi::Env env, Napi::Object exports) {
  exports.Set("attendOne", Napi::Function::New(env, AttendOne, "attendOne"));
  exports.Set("copyRows", Napi::Function::New(env, CopyRows, "copyRows"));
  exports.Set("logSoftmaxTopK", Napi::Function::New(env, LogSoftmaxTopK, "logSoftmaxTopK"));
}

}  // namespace tlc
