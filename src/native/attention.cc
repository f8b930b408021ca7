// Multi-head scaled dot-product attention, forward and backward, over strided q/k/v views (so a fused
// qkv buffer needs no split) with causal and key-padding masks. No GEMM here: rows are short loops.
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"

namespace tlc {
namespace {

struct Attn {
  int64_t B, Tq, Tk, C, NH, hs;
  bool causal;
  int64_t qs, ks, vs;  // row strides of q, k, v (and of dq, dk, dv)
  const uint8_t* mask;  // (B, Tk) or null
  float scale;          // 1 / sqrt(hs)
};

// Reads the geometry from arguments first..first+8 and checks every view against it.
Attn readShape(const Napi::CallbackInfo& info, size_t first, const uint8_t* mask) {
  Attn s{};
  s.B = dimArg(info, first, "B");
  s.Tq = dimArg(info, first + 1, "Tq");
  s.Tk = dimArg(info, first + 2, "Tk");
  s.C = dimArg(info, first + 3, "C");
  s.NH = dimArg(info, first + 4, "NH");
  s.causal = boolArg(info, first + 5, "causal");
  s.qs = dimArg(info, first + 6, "qStride");
  s.ks = dimArg(info, first + 7, "kStride");
  s.vs = dimArg(info, first + 8, "vStride");
  s.mask = mask;
  if (s.NH == 0 || s.C % s.NH != 0) {
    throw rangeError(info, "attention: C must be a positive multiple of NH, got C=" + std::to_string(s.C) +
                               " NH=" + std::to_string(s.NH));
  }
  if (s.causal && s.Tq != s.Tk) {
    throw rangeError(info, "attention: causal needs Tq == Tk, got Tq=" + std::to_string(s.Tq) +
                               " Tk=" + std::to_string(s.Tk));
  }
  if (s.qs < s.C || s.ks < s.C || s.vs < s.C) throw rangeError(info, "attention: row strides must be >= C");
  s.hs = s.C / s.NH;
  s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.hs)));
  return s;
}

// Floats a strided (rows, C) view spans.
int64_t stridedLen(const Napi::CallbackInfo& info, int64_t rows, int64_t stride, int64_t C) {
  return rows == 0 ? 0 : mul(info, rows - 1, stride) + C;
}

inline bool allowed(const Attn& s, int64_t b, int64_t i, int64_t j) {
  return (!s.causal || j <= i) && (!s.mask || s.mask[b * s.Tk + j] != 0);
}

inline float dot(const float* a, const float* b, int64_t n) {
  float acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t d = 0; d < n; d++) acc += a[d] * b[d];
  return acc;
}

// One query row of one head: probs row (Tk) and output slice (hs).
void forwardRow(const Attn& s, float* out, float* probs, const float* q, const float* k, const float* v,
                int64_t b, int64_t h, int64_t i) {
  const int64_t hs = s.hs, Tk = s.Tk;
  const float* qi = q + (b * s.Tq + i) * s.qs + h * hs;
  float* p = probs + ((b * s.NH + h) * s.Tq + i) * Tk;
  float* o = out + (b * s.Tq + i) * s.C + h * hs;
  float mx = -std::numeric_limits<float>::infinity();
  bool any = false;
  for (int64_t j = 0; j < Tk; j++) {
    if (!allowed(s, b, i, j)) continue;
    p[j] = dot(qi, k + (b * Tk + j) * s.ks + h * hs, hs) * s.scale;
    mx = p[j] > mx ? p[j] : mx;
    any = true;
  }
  for (int64_t d = 0; d < hs; d++) o[d] = 0.0f;
  if (!any) {  // every key masked: zero probs and output
    for (int64_t j = 0; j < Tk; j++) p[j] = 0.0f;
    return;
  }
  double sum = 0;
  for (int64_t j = 0; j < Tk; j++) {
    p[j] = allowed(s, b, i, j) ? fastExp(p[j] - mx) : 0.0f;
    sum += p[j];
  }
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < Tk; j++) {
    if (p[j] == 0.0f) continue;
    p[j] *= inv;
    const float* vj = v + (b * Tk + j) * s.vs + h * hs;
    float pj = p[j];
#pragma omp simd
    for (int64_t d = 0; d < hs; d++) o[d] += pj * vj[d];
  }
}

// attentionForward(out, probs, q, k, v, keyMask, B, Tq, Tk, C, NH, causal, qStride, kStride, vStride)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), probs = f32Arg(info, 1, "probs");
  View<float> q = f32Arg(info, 2, "q"), k = f32Arg(info, 3, "k"), v = f32Arg(info, 4, "v");
  View<uint8_t> mask = u8Arg(info, 5, "keyMask", true);
  Attn s = readShape(info, 6, mask.p);
  int64_t units = mul(info, mul(info, s.B, s.NH), s.Tq);
  need(info, out, mul(info, mul(info, s.B, s.Tq), s.C), "attentionForward out");
  need(info, probs, mul(info, units, s.Tk), "attentionForward probs");
  need(info, q, stridedLen(info, s.B * s.Tq, s.qs, s.C), "attentionForward q");
  need(info, k, stridedLen(info, s.B * s.Tk, s.ks, s.C), "attentionForward k");
  need(info, v, stridedLen(info, s.B * s.Tk, s.vs, s.C), "attentionForward v");
  if (mask.p) need(info, mask, mul(info, s.B, s.Tk), "attentionForward keyMask");
  float *po = out.p, *pp = probs.p, *pq = q.p, *pk = k.p, *pv = v.p;
#pragma omp parallel for if (units * s.Tk * s.hs > kParMin) schedule(dynamic, 16)
  for (int64_t u = 0; u < units; u++) {
    int64_t i = u % s.Tq, bh = u / s.Tq;
    forwardRow(s, po, pp, pq, pk, pv, bh / s.NH, bh % s.NH, i);
  }
  return info.Env().Undefined();
}

struct AttnGrads {
  float *dq, *dk, *dv;
  const float *dout, *q, *k, *v, *probs;
};

// All gradients of one (b, h): it owns columns h*hs..(h+1)*hs of batch b's rows, so heads never race.
void backwardHead(const Attn& s, const AttnGrads& g, int64_t b, int64_t h, float* dp) {
  const int64_t hs = s.hs, Tk = s.Tk;
  for (int64_t j = 0; j < Tk; j++) {
    float* dkj = g.dk + (b * Tk + j) * s.ks + h * hs;
    float* dvj = g.dv + (b * Tk + j) * s.vs + h * hs;
    for (int64_t d = 0; d < hs; d++) dkj[d] = dvj[d] = 0.0f;
  }
  for (int64_t i = 0; i < s.Tq; i++) {
    const float* p = g.probs + ((b * s.NH + h) * s.Tq + i) * Tk;
    const float* doi = g.dout + (b * s.Tq + i) * s.C + h * hs;
    const float* qi = g.q + (b * s.Tq + i) * s.qs + h * hs;
    float* dqi = g.dq + (b * s.Tq + i) * s.qs + h * hs;
    for (int64_t d = 0; d < hs; d++) dqi[d] = 0.0f;
    int64_t jEnd = s.causal ? i + 1 : Tk;
    float pdp = 0;  // sum_j p_j dp_j
    for (int64_t j = 0; j < jEnd; j++) {
      if (p[j] == 0.0f) continue;  // masked keys (and fully masked rows) contribute nothing
      const float* vj = g.v + (b * Tk + j) * s.vs + h * hs;
      float* dvj = g.dv + (b * Tk + j) * s.vs + h * hs;
      dp[j] = dot(doi, vj, hs);
      pdp += p[j] * dp[j];
      float pj = p[j];
#pragma omp simd
      for (int64_t d = 0; d < hs; d++) dvj[d] += pj * doi[d];
    }
    for (int64_t j = 0; j < jEnd; j++) {
      if (p[j] == 0.0f) continue;
      float ds = p[j] * (dp[j] - pdp) * s.scale;
      const float* kj = g.k + (b * Tk + j) * s.ks + h * hs;
      float* dkj = g.dk + (b * Tk + j) * s.ks + h * hs;
#pragma omp simd
      for (int64_t d = 0; d < hs; d++) {
        dqi[d] += ds * kj[d];
        dkj[d] += ds * qi[d];
      }
    }
  }
}

// attentionBackward(dq, dk, dv, dout, q, k, v, probs, B, Tq, Tk, C, NH, causal, qStride, kStride, vStride)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  View<float> dq = f32Arg(info, 0, "dq"), dk = f32Arg(info, 1, "dk"), dv = f32Arg(info, 2, "dv");
  View<float> dout = f32Arg(info, 3, "dout"), q = f32Arg(info, 4, "q"), k = f32Arg(info, 5, "k");
  View<float> v = f32Arg(info, 6, "v"), probs = f32Arg(info, 7, "probs");
  Attn s = readShape(info, 8, nullptr);
  int64_t heads = mul(info, s.B, s.NH);
  int64_t qLen = stridedLen(info, s.B * s.Tq, s.qs, s.C);
  int64_t kLen = stridedLen(info, s.B * s.Tk, s.ks, s.C), vLen = stridedLen(info, s.B * s.Tk, s.vs, s.C);
  need(info, dq, qLen, "attentionBackward dq");
  need(info, q, qLen, "attentionBackward q");
  need(info, dk, kLen, "attentionBackward dk");
  need(info, k, kLen, "attentionBackward k");
  need(info, dv, vLen, "attentionBackward dv");
  need(info, v, vLen, "attentionBackward v");
  need(info, dout, mul(info, mul(info, s.B, s.Tq), s.C), "attentionBackward dout");
  need(info, probs, mul(info, mul(info, heads, s.Tq), s.Tk), "attentionBackward probs");
  AttnGrads g{dq.p, dk.p, dv.p, dout.p, q.p, k.p, v.p, probs.p};
#pragma omp parallel if (heads * s.Tq * s.Tk * s.hs > kParMin)
  {
    std::vector<float> dp(static_cast<size_t>(s.Tk));
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < heads; u++) backwardHead(s, g, u / s.NH, u % s.NH, dp.data());
  }
  return info.Env().Undefined();
}

}  // namespace

void registerAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}

}  // namespace tlc
