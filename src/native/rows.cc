// Row kernels: embedding lookup and its backward, row gather/scatter-add, layernorm forward and
// backward. Scatters are race-free and deterministic by giving each thread its own column range.
#include <cmath>
#include <vector>

#include "common.h"

namespace tlc {
namespace {

// Every index must lie in [0, rows); checked before any parallel loop (kernels cannot throw inside).
void checkIndices(const Napi::CallbackInfo& info, const int32_t* idx, int64_t n, int64_t rows, const char* what) {
  for (int64_t i = 0; i < n; i++) {
    if (idx[i] < 0 || idx[i] >= rows) {
      throw rangeError(info, std::string(what) + ": index " + std::to_string(idx[i]) + " at position " +
                                 std::to_string(i) + " is outside [0, " + std::to_string(rows) + ")");
    }
  }
}

// out (B,T,C) = wte[tokens[b,t]] + (wpe ? wpe[t] : 0). V is wte.length / C.
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out");
  View<int32_t> tokens = i32Arg(info, 1, "tokens");
  View<float> wte = f32Arg(info, 2, "wte"), wpe = f32Arg(info, 3, "wpe", true);
  int64_t B = dimArg(info, 4, "B"), T = dimArg(info, 5, "T"), C = dimArg(info, 6, "C");
  int64_t BT = mul(info, B, T);
  need(info, out, mul(info, BT, C), "embeddingForward out");
  need(info, tokens, BT, "embeddingForward tokens");
  if (wpe.p) need(info, wpe, mul(info, T, C), "embeddingForward wpe");
  if (C == 0) return info.Env().Undefined();
  checkIndices(info, tokens.p, BT, wte.n / C, "embeddingForward token id");
  float *o = out.p, *te = wte.p, *pe = wpe.p;
  const int32_t* tok = tokens.p;
#pragma omp parallel for if (BT * C > kParMin) schedule(static)
  for (int64_t r = 0; r < BT; r++) {
    float* orow = o + r * C;
    const float* trow = te + static_cast<int64_t>(tok[r]) * C;
    if (pe) {
      const float* prow = pe + (r % T) * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) orow[c] = trow[c] + prow[c];
    } else {
#pragma omp simd
      for (int64_t c = 0; c < C; c++) orow[c] = trow[c];
    }
  }
  return info.Env().Undefined();
}

// dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]. Each thread owns a column range and walks
// positions in order, so repeated tokens never race and the sum order is fixed.
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  View<float> dwte = f32Arg(info, 0, "dwte"), dwpe = f32Arg(info, 1, "dwpe", true);
  View<float> dout = f32Arg(info, 2, "dout");
  View<int32_t> tokens = i32Arg(info, 3, "tokens");
  int64_t B = dimArg(info, 4, "B"), T = dimArg(info, 5, "T"), C = dimArg(info, 6, "C");
  int64_t BT = mul(info, B, T);
  need(info, dout, mul(info, BT, C), "embeddingBackward dout");
  need(info, tokens, BT, "embeddingBackward tokens");
  if (dwpe.p) need(info, dwpe, mul(info, T, C), "embeddingBackward dwpe");
  if (C == 0) return info.Env().Undefined();
  checkIndices(info, tokens.p, BT, dwte.n / C, "embeddingBackward token id");
  float *dte = dwte.p, *dpe = dwpe.p, *d = dout.p;
  const int32_t* tok = tokens.p;
#pragma omp parallel if (BT * C > kParMin)
  {
    int64_t c0, c1;
    colRange(C, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
    for (int64_t r = 0; r < BT; r++) {
      const float* drow = d + r * C;
      float* trow = dte + static_cast<int64_t>(tok[r]) * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; c++) trow[c] += drow[c];
      if (dpe) {
        float* prow = dpe + (r % T) * C;
#pragma omp simd
        for (int64_t c = c0; c < c1; c++) prow[c] += drow[c];
      }
    }
  }
  return info.Env().Undefined();
}

// out (n, C) = inp[idx[i]]; inp has inp.length / C rows.
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp");
  View<int32_t> idx = i32Arg(info, 2, "idx");
  int64_t n = dimArg(info, 3, "n"), C = dimArg(info, 4, "C");
  need(info, out, mul(info, n, C), "gatherRows out");
  need(info, idx, n, "gatherRows idx");
  if (C == 0) return info.Env().Undefined();
  checkIndices(info, idx.p, n, inp.n / C, "gatherRows idx");
  float *o = out.p, *x = inp.p;
  const int32_t* ix = idx.p;
#pragma omp parallel for if (n * C > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    std::memcpy(o + i * C, x + static_cast<int64_t>(ix[i]) * C, static_cast<size_t>(C) * sizeof(float));
  }
  return info.Env().Undefined();
}

// dinp[idx[i]] += dout[i]; column ranges per thread, rows in order: race-free and deterministic.
Napi::Value ScatterAddRows(const Napi::CallbackInfo& info) {
  View<float> dinp = f32Arg(info, 0, "dinp"), dout = f32Arg(info, 1, "dout");
  View<int32_t> idx = i32Arg(info, 2, "idx");
  int64_t n = dimArg(info, 3, "n"), C = dimArg(info, 4, "C");
  need(info, dout, mul(info, n, C), "scatterAddRows dout");
  need(info, idx, n, "scatterAddRows idx");
  if (C == 0) return info.Env().Undefined();
  checkIndices(info, idx.p, n, dinp.n / C, "scatterAddRows idx");
  float *di = dinp.p, *d = dout.p;
  const int32_t* ix = idx.p;
#pragma omp parallel if (n * C > kParMin)
  {
    int64_t c0, c1;
    colRange(C, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
    for (int64_t i = 0; i < n; i++) {
      float* dst = di + static_cast<int64_t>(ix[i]) * C;
      const float* src = d + i * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
    }
  }
  return info.Env().Undefined();
}

constexpr double kLnEps = 1e-5;

// out (N,C) = (inp - mean) * rstd * weight + bias, biased variance, statistics in double.
Napi::Value LayernormForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), mean = f32Arg(info, 1, "mean"), rstd = f32Arg(info, 2, "rstd");
  View<float> inp = f32Arg(info, 3, "inp"), weight = f32Arg(info, 4, "weight"), bias = f32Arg(info, 5, "bias");
  int64_t N = dimArg(info, 6, "N"), C = dimArg(info, 7, "C");
  int64_t NC = mul(info, N, C);
  need(info, out, NC, "layernormForward out");
  need(info, inp, NC, "layernormForward inp");
  need(info, mean, N, "layernormForward mean");
  need(info, rstd, N, "layernormForward rstd");
  need(info, weight, C, "layernormForward weight");
  need(info, bias, C, "layernormForward bias");
  if (C == 0) throw rangeError(info, "layernormForward: C must be positive");
  float *o = out.p, *mu = mean.p, *rs = rstd.p, *x = inp.p, *w = weight.p, *b = bias.p;
#pragma omp parallel for if (NC > kParMin / 4) schedule(static)
  for (int64_t n = 0; n < N; n++) {
    const float* xr = x + n * C;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; c++) s += xr[c];
    double m = s / static_cast<double>(C);
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int64_t c = 0; c < C; c++) v += (xr[c] - m) * (xr[c] - m);
    double r = 1.0 / std::sqrt(v / static_cast<double>(C) + kLnEps);
    float mf = static_cast<float>(m), rf = static_cast<float>(r);
    float* orow = o + n * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) orow[c] = (xr[c] - mf) * rf * w[c] + b[c];
    mu[n] = mf;
    rs[n] = rf;
  }
  return info.Env().Undefined();
}

struct LnBwd {
  float *dinp, *dweight, *dbias;
  const float *dout, *inp, *weight, *mean, *rstd;
  int64_t N, C;
};

// Rows per block of the backward: each block sums its own dweight/dbias partials, and blocks are
// added in order afterwards, so the result does not depend on how blocks are spread over threads.
constexpr int64_t kLnBlock = 64;

// One block of rows: dinp += (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) * rstd with
// dnorm = dout * weight, and the block's partial sums pw = sum norm * dout, pb = sum dout. The
// partials of a block's 64 rows are summed in float (fw, fb: 16 lanes, the second pass over the row
// that also writes dinp) and stored as double; blocks are then added in double. A first version
// summed every row into double partials: 20-25% slower standalone (a 64-term float sum loses at
// most 6 bits, and is the same whatever the thread count).
void layernormBlock(const LnBwd& a, int64_t n0, int64_t n1, double* pw, double* pb, float* fw, float* fb) {
  const int64_t C = a.C;
  const float* w = a.weight;
  for (int64_t c = 0; c < C; c++) fw[c] = fb[c] = 0.0f;
  for (int64_t n = n0; n < n1; n++) {
    const float *xr = a.inp + n * C, *dr = a.dout + n * C;
    const float m = a.mean[n], r = a.rstd[n];
    double s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
    for (int64_t c = 0; c < C; c++) {
      float norm = (xr[c] - m) * r;
      float dn = dr[c] * w[c];
      s1 += dn;
      s2 += dn * norm;
    }
    const float dm = static_cast<float>(s1 / static_cast<double>(C));
    const float dnm = static_cast<float>(s2 / static_cast<double>(C));
    float* di = a.dinp + n * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      float norm = (xr[c] - m) * r;
      di[c] += (dr[c] * w[c] - dm - norm * dnm) * r;
      fw[c] += norm * dr[c];
      fb[c] += dr[c];
    }
  }
  for (int64_t c = 0; c < C; c++) {
    pw[c] = fw[c];
    pb[c] = fb[c];
  }
}

// One pass over the rows (blocks in parallel), then the block partials added in block order.
void layernormBackwardAll(const LnBwd& a) {
  const int64_t C = a.C, blocks = (a.N + kLnBlock - 1) / kLnBlock;
  std::vector<double> part(static_cast<size_t>(blocks * 2 * C));
  double* pp = part.data();
#pragma omp parallel if (a.N * C > kParMin / 4)
  {
    float* fw = threadScratch(0, static_cast<size_t>(2 * C));
#pragma omp for schedule(static)
    for (int64_t k = 0; k < blocks; k++) {
      int64_t n1 = (k + 1) * kLnBlock < a.N ? (k + 1) * kLnBlock : a.N;
      layernormBlock(a, k * kLnBlock, n1, pp + k * 2 * C, pp + k * 2 * C + C, fw, fw + C);
    }
#pragma omp for schedule(static)
    for (int64_t c = 0; c < C; c++) {
      double sw = 0, sb = 0;
      for (int64_t k = 0; k < blocks; k++) {
        sw += pp[k * 2 * C + c];
        sb += pp[k * 2 * C + C + c];
      }
      a.dweight[c] = static_cast<float>(a.dweight[c] + sw);
      a.dbias[c] = static_cast<float>(a.dbias[c] + sb);
    }
  }
}

Napi::Value LayernormBackward(const Napi::CallbackInfo& info) {
  View<float> dinp = f32Arg(info, 0, "dinp"), dweight = f32Arg(info, 1, "dweight");
  View<float> dbias = f32Arg(info, 2, "dbias"), dout = f32Arg(info, 3, "dout"), inp = f32Arg(info, 4, "inp");
  View<float> weight = f32Arg(info, 5, "weight"), mean = f32Arg(info, 6, "mean"), rstd = f32Arg(info, 7, "rstd");
  int64_t N = dimArg(info, 8, "N"), C = dimArg(info, 9, "C");
  int64_t NC = mul(info, N, C);
  need(info, dinp, NC, "layernormBackward dinp");
  need(info, dout, NC, "layernormBackward dout");
  need(info, inp, NC, "layernormBackward inp");
  need(info, dweight, C, "layernormBackward dweight");
  need(info, dbias, C, "layernormBackward dbias");
  need(info, weight, C, "layernormBackward weight");
  need(info, mean, N, "layernormBackward mean");
  need(info, rstd, N, "layernormBackward rstd");
  LnBwd a{dinp.p, dweight.p, dbias.p, dout.p, inp.p, weight.p, mean.p, rstd.p, N, C};
  layernormBackwardAll(a);
  return info.Env().Undefined();
}

}  // namespace

void registerRows(Napi::Env env, Napi::Object exports) {
  exports.Set("embeddingForward", Napi::Function::New(env, EmbeddingForward, "embeddingForward"));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward, "embeddingBackward"));
  exports.Set("gatherRows", Napi::Function::New(env, GatherRows, "gatherRows"));
  exports.Set("scatterAddRows", Napi::Function::New(env, ScatterAddRows, "scatterAddRows"));
  exports.Set("layernormForward", Napi::Function::New(env, LayernormForward, "layernormForward"));
  exports.Set("layernormBackward", Napi::Function::New(env, LayernormBackward, "layernormBackward"));
}

}  // namespace tlc
