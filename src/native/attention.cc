// Multi-head scaled dot-product attention, forward and backward, over strided q/k/v views (so a fused
// qkv buffer needs no split) with causal and key-padding masks. Each (batch, head) is one task whose
// products run through the cache-sized microgemm on one thread: results do not depend on threads.
#include <cmath>
#include <limits>

#include "common.h"
#include "microgemm.h"

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

#if defined(__AVX512F__)
// In-register transpose of a 16x16 float block: r[i] holds row i on entry and column i on return.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {  // interleave pairs of rows: 2x2 blocks
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // pairs of 2x2 blocks: 4x4 blocks within each 128-bit lane
    for (int h = 0; h < 2; h++) {
      __m512d a = _mm512_castps_pd(t[i + h]), b = _mm512_castps_pd(t[i + h + 2]);
      r[i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  }
  for (int i = 0; i < 16; i += 8) {  // 128-bit lanes across groups of 4 rows
    for (int h = 0; h < 4; h++) {
      t[i + h] = _mm512_shuffle_f32x4(r[i + h], r[i + h + 4], 0x88);
      t[i + h + 4] = _mm512_shuffle_f32x4(r[i + h], r[i + h + 4], 0xdd);
    }
  }
  for (int h = 0; h < 8; h++) {  // and across the two groups of 8 rows
    r[h] = _mm512_shuffle_f32x4(t[h], t[h + 8], 0x88);
    r[h + 8] = _mm512_shuffle_f32x4(t[h], t[h + 8], 0xdd);
  }
}
#endif

// dst (hs, T) = src rows (T, hs) with row stride `stride`: the transposed K or V block of one head.
// With AVX-512 it moves 16x16 blocks through registers (edges masked): element by element, every
// store lands T floats from the last and the transpose cost a fifth of the head's time.
void transposeHead(float* dst, const float* src, int64_t T, int64_t hs, int64_t stride) {
#if defined(__AVX512F__)
  for (int64_t j0 = 0; j0 < T; j0 += 16) {
    const int64_t nj = T - j0 < 16 ? T - j0 : 16;
    const __mmask16 jm = firstLanes(nj);
    for (int64_t d0 = 0; d0 < hs; d0 += 16) {
      const int64_t nd = hs - d0 < 16 ? hs - d0 : 16;
      const __mmask16 dm = firstLanes(nd);
      __m512 r[16];
      for (int64_t i = 0; i < 16; i++) {
        r[i] = i < nj ? _mm512_maskz_loadu_ps(dm, src + (j0 + i) * stride + d0) : _mm512_setzero_ps();
      }
      transpose16(r);
      for (int64_t i = 0; i < nd; i++) _mm512_mask_storeu_ps(dst + (d0 + i) * T + j0, jm, r[i]);
    }
  }
#else
  for (int64_t j = 0; j < T; j++) {
    const float* row = src + j * stride;
    for (int64_t d = 0; d < hs; d++) dst[d * T + j] = row[d];
  }
#endif
}

// dst (T, hs) contiguous = src rows (T, hs) with row stride `stride`. GEMM operands read row by row
// from a strided view hit few L1 sets (a 3C or C float stride is a multiple of 1 KB): packed, they
// stay in L1.
void packHead(float* dst, const float* src, int64_t T, int64_t hs, int64_t stride) {
  for (int64_t j = 0; j < T; j++) std::memcpy(dst + j * hs, src + j * stride, static_cast<size_t>(hs) * sizeof(float));
}

// Softmax of one row of scaled scores in place; disallowed keys (and every key of a row with no
// allowed key) become exactly 0. Only the keys the row may see are read.
void softmaxRow(const Attn& s, float* p, int64_t b, int64_t i) {
  const int64_t Tk = s.Tk, jEnd = s.causal ? i + 1 : Tk;
  const uint8_t* m = s.mask ? s.mask + b * Tk : nullptr;
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  // 16 keys at a time; lanes past jEnd or masked out are never read (masked loads).
  auto allowed = [&](int64_t j) {
    __mmask16 k = firstLanes(jEnd - j);
    if (m) {
      const __m128i mk = _mm_maskz_loadu_epi8(k, m + j);
      k = _mm_test_epi8_mask(mk, mk);
    }
    return k;
  };
  __m512 vmx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < jEnd; j += 16) {
    const __mmask16 k = allowed(j);
    vmx = _mm512_mask_max_ps(vmx, k, vmx, _mm512_maskz_loadu_ps(k, p + j));
  }
  const float mx = _mm512_reduce_max_ps(vmx);
  if (mx == -std::numeric_limits<float>::infinity()) {  // every key masked
    for (int64_t j = 0; j < Tk; j++) p[j] = 0.0f;
    return;
  }
  const __m512 vm = _mm512_set1_ps(mx);
  __m512 vsum = _mm512_setzero_ps();
  for (int64_t j = 0; j < jEnd; j += 16) {
    const __mmask16 k = allowed(j);
    const __m512 e = _mm512_maskz_mov_ps(k, fastExp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + j), vm)));
    _mm512_mask_storeu_ps(p + j, firstLanes(jEnd - j), e);
    vsum = _mm512_add_ps(vsum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
  for (int64_t j = 0; j < jEnd; j += 16) {
    const __mmask16 k = firstLanes(jEnd - j);
    _mm512_mask_storeu_ps(p + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), inv));
  }
#else
  float mx = -std::numeric_limits<float>::infinity();
  if (m) {
    for (int64_t j = 0; j < jEnd; j++) {
      if (m[j]) mx = p[j] > mx ? p[j] : mx;
    }
  } else {
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < jEnd; j++) mx = p[j] > mx ? p[j] : mx;
  }
  if (mx == -std::numeric_limits<float>::infinity()) {  // every key masked
    for (int64_t j = 0; j < Tk; j++) p[j] = 0.0f;
    return;
  }
  float sum = 0;
  if (m) {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < jEnd; j++) {
      float e = m[j] ? fastExp(p[j] - mx) : 0.0f;
      p[j] = e;
      sum += e;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < jEnd; j++) {
      float e = fastExp(p[j] - mx);
      p[j] = e;
      sum += e;
    }
  }
  float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t j = 0; j < jEnd; j++) p[j] *= inv;
#endif
  for (int64_t j = jEnd; j < Tk; j++) p[j] = 0.0f;
}

// One (b, h): S = scale Q K^T into its probs block, softmax in place, out = P V. `kt` and `vp` hold
// hs*Tk floats each (K transposed, V packed). Whole-block phases, not row tiles: with K^T and V both
// live, row tiles thrashed L1 and ran 20% slower.
void forwardHead(const Attn& s, float* out, float* probs, const float* q, const float* k, const float* v, int64_t b,
                 int64_t h, float* kt, float* vp) {
  const int64_t hs = s.hs, Tq = s.Tq, Tk = s.Tk;
  transposeHead(kt, k + b * Tk * s.ks + h * hs, Tk, hs, s.ks);
  float* P = probs + (b * s.NH + h) * Tq * Tk;
  smallGemm(Tq, Tk, hs, MatA{q + b * Tq * s.qs + h * hs, s.qs, 1}, kt, Tk, P, Tk, s.scale, false,
            s.causal ? Tri::kNLower : Tri::kNone);
  for (int64_t i = 0; i < Tq; i++) softmaxRow(s, P + i * Tk, b, i);
  packHead(vp, v + b * Tk * s.vs + h * hs, Tk, hs, s.vs);
  smallGemm(Tq, hs, Tk, MatA{P, Tk, 1}, vp, hs, out + b * Tq * s.C + h * hs, s.C, 1.0f, false,
            s.causal ? Tri::kKLower : Tri::kNone);
}

// Prefetches (into L2) `rows` rows of `n` floats, `stride` floats apart. Each thread runs a contiguous
// range of heads and fetches the next head's operands while computing this one: inside the training
// step they come from memory, and a head ran 2x slower there than standalone (large config, per step:
// forward 24.6 -> 21.9 ms, backward 39.7 -> 32.1 ms).
// Heads whose operands exceed this many floats (~512 KB, half an L2 here) are not prefetched: they
// would be evicted before use.
constexpr int64_t kPrefetchMax = 128 * 1024;
inline void prefetchRows(const float* p, int64_t rows, int64_t n, int64_t stride) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < n; c += 16) __builtin_prefetch(p + r * stride + c, 0, 2);
}

// Every (b, h) of the forward, contiguous ranges of heads per thread.
void forwardAll(const Attn& s, float* out, float* probs, const float* q, const float* k, const float* v) {
  const int64_t heads = s.B * s.NH;
#pragma omp parallel if (heads * s.Tq * s.Tk * s.hs > kParMin)
  {
    float* kt = threadScratch(0, static_cast<size_t>(s.hs * s.Tk));
    float* vp = threadScratch(1, static_cast<size_t>(s.hs * s.Tk));
#pragma omp for schedule(static)
    for (int64_t u = 0; u < heads; u++) {
      if (u + 1 < heads && (s.Tq + 2 * s.Tk) * s.hs <= kPrefetchMax) {
        const int64_t b = (u + 1) / s.NH, h = (u + 1) % s.NH;
        prefetchRows(q + b * s.Tq * s.qs + h * s.hs, s.Tq, s.hs, s.qs);
        prefetchRows(k + b * s.Tk * s.ks + h * s.hs, s.Tk, s.hs, s.ks);
        prefetchRows(v + b * s.Tk * s.vs + h * s.hs, s.Tk, s.hs, s.vs);
      }
      forwardHead(s, out, probs, q, k, v, u / s.NH, u % s.NH, kt, vp);
    }
  }
}

// attentionForward(out, probs, q, k, v, keyMask, B, Tq, Tk, C, NH, causal, qStride, kStride, vStride)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), probs = f32Arg(info, 1, "probs");
  View<float> q = f32Arg(info, 2, "q"), k = f32Arg(info, 3, "k"), v = f32Arg(info, 4, "v");
  View<uint8_t> mask = u8Arg(info, 5, "keyMask", true);
  Attn s = readShape(info, 6, mask.p);
  int64_t heads = mul(info, s.B, s.NH);
  need(info, out, mul(info, mul(info, s.B, s.Tq), s.C), "attentionForward out");
  need(info, probs, mul(info, mul(info, heads, s.Tq), s.Tk), "attentionForward probs");
  need(info, q, stridedLen(info, s.B * s.Tq, s.qs, s.C), "attentionForward q");
  need(info, k, stridedLen(info, s.B * s.Tk, s.ks, s.C), "attentionForward k");
  need(info, v, stridedLen(info, s.B * s.Tk, s.vs, s.C), "attentionForward v");
  if (mask.p) need(info, mask, mul(info, s.B, s.Tk), "attentionForward keyMask");
  if (s.Tq == 0 || s.C == 0) return info.Env().Undefined();
  forwardAll(s, out.p, probs.p, q.p, k.p, v.p);
  return info.Env().Undefined();
}

struct AttnGrads {
  float *dq, *dk, *dv;
  const float *dout, *q, *k, *v, *probs;
};

// dS = P * (dP - rowsum(P * dP)) * scale in place over dP (Tq, Tk); entries a row may not see become 0.
void softmaxBackward(const Attn& s, float* dP, const float* P) {
  const int64_t Tk = s.Tk;
  for (int64_t i = 0; i < s.Tq; i++) {
    float* d = dP + i * Tk;
    const float* p = P + i * Tk;
    const int64_t jEnd = s.causal ? i + 1 : Tk;
    float pdp = 0;
#pragma omp simd reduction(+ : pdp)
    for (int64_t j = 0; j < jEnd; j++) pdp += p[j] * d[j];
#pragma omp simd
    for (int64_t j = 0; j < jEnd; j++) d[j] = p[j] * (d[j] - pdp) * s.scale;
    for (int64_t j = jEnd; j < Tk; j++) d[j] = 0.0f;
  }
}

// Per-thread scratch of the backward: dP (Tq*Tk), and one (T, hs) block for transposed/packed operands.
struct BwdScratch {
  float *dP, *blk;
};

// All gradients of one (b, h): it owns columns h*hs..(h+1)*hs of batch b's rows, so heads never race.
void backwardHead(const Attn& s, const AttnGrads& g, int64_t b, int64_t h, BwdScratch& w) {
  const int64_t hs = s.hs, Tq = s.Tq, Tk = s.Tk;
  const float* P = g.probs + (b * s.NH + h) * Tq * Tk;
  const float* dO = g.dout + b * Tq * s.C + h * hs;
  float *dP = w.dP, *blk = w.blk;
  const Tri nLower = s.causal ? Tri::kNLower : Tri::kNone, kLower = s.causal ? Tri::kKLower : Tri::kNone;
  const Tri kUpper = s.causal ? Tri::kKUpper : Tri::kNone;
  transposeHead(blk, g.v + b * Tk * s.vs + h * hs, Tk, hs, s.vs);
  smallGemm(Tq, Tk, hs, MatA{dO, s.C, 1}, blk, Tk, dP, Tk, 1.0f, false, nLower);  // dP = dO V^T
  packHead(blk, dO, Tq, hs, s.C);
  smallGemm(Tk, hs, Tq, MatA{P, 1, Tk}, blk, hs, g.dv + b * Tk * s.vs + h * hs, s.vs, 1.0f, false,
            kUpper);  // dV = P^T dO
  softmaxBackward(s, dP, P);  // dP -> dS
  packHead(blk, g.k + b * Tk * s.ks + h * hs, Tk, hs, s.ks);
  smallGemm(Tq, hs, Tk, MatA{dP, Tk, 1}, blk, hs, g.dq + b * Tq * s.qs + h * hs, s.qs, 1.0f, false,
            kLower);  // dQ = dS K
  packHead(blk, g.q + b * Tq * s.qs + h * hs, Tq, hs, s.qs);
  smallGemm(Tk, hs, Tq, MatA{dP, 1, Tk}, blk, hs, g.dk + b * Tk * s.ks + h * hs, s.ks, 1.0f, false,
            kUpper);  // dK = dS^T Q
}

// Every (b, h) of the backward, contiguous ranges of heads per thread (prefetching as the forward).
void backwardAll(const Attn& s, const AttnGrads& g) {
  const int64_t heads = s.B * s.NH;
#pragma omp parallel if (heads * s.Tq * s.Tk * s.hs > kParMin)
  {
    BwdScratch w{threadScratch(0, static_cast<size_t>(s.Tq * s.Tk)),
                 threadScratch(1, static_cast<size_t>(s.hs * (s.Tq > s.Tk ? s.Tq : s.Tk)))};
#pragma omp for schedule(static)
    for (int64_t u = 0; u < heads; u++) {
      if (u + 1 < heads && s.Tq * s.Tk + (2 * s.Tq + 2 * s.Tk) * s.hs <= kPrefetchMax) {
        const int64_t b = (u + 1) / s.NH, h = (u + 1) % s.NH;
        prefetchRows(g.probs + (b * s.NH + h) * s.Tq * s.Tk, 1, s.Tq * s.Tk, 0);
        prefetchRows(g.dout + b * s.Tq * s.C + h * s.hs, s.Tq, s.hs, s.C);
        prefetchRows(g.q + b * s.Tq * s.qs + h * s.hs, s.Tq, s.hs, s.qs);
        prefetchRows(g.k + b * s.Tk * s.ks + h * s.hs, s.Tk, s.hs, s.ks);
        prefetchRows(g.v + b * s.Tk * s.vs + h * s.hs, s.Tk, s.hs, s.vs);
      }
      backwardHead(s, g, u / s.NH, u % s.NH, w);
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
  if (s.C == 0) return info.Env().Undefined();
  backwardAll(s, AttnGrads{dq.p, dk.p, dv.p, dout.p, q.p, k.p, v.p, probs.p});
  return info.Env().Undefined();
}

}  // namespace

void registerAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}

}  // namespace tlc
