// A small single-threaded GEMM for blocks that fit in cache (attention's per-head products): the
// caller parallelizes over blocks, so results never depend on the thread count. A is read through
// two strides (so a transposed A costs nothing), B and C are row-major with row strides.
// Not a general GEMM: no packing, no K blocking; large products go to oneDNN (matmul.cc).
#pragma once

#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tlc {

// A(i, k) = p[i * si + k * sk]
struct MatA {
  const float* p;
  int64_t si, sk;
};

#if defined(__AVX512F__)

// C[MR rows, NV*16 cols (last vector masked by `last`)] = alpha * sum_k A(i,k) B(k,:) (+ C if acc).
template <int MR, int NV>
inline void microTile(int64_t K, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb, float* c,
                      int64_t ldc, float alpha, bool acc, __mmask16 last) {
  __m512 r[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) r[i][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k++) {
    const float* bk = b + k * ldb;
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++)
      bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, bk + 16 * v) : _mm512_loadu_ps(bk + 16 * v);
    const float* ak = a + k * sk;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(ak[i * si]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) r[i][v] = _mm512_fmadd_ps(ai, bv[v], r[i][v]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) {
      __mmask16 m = v == NV - 1 ? last : static_cast<__mmask16>(0xffff);
      __m512 x = _mm512_mul_ps(r[i][v], al);
      if (acc) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, ci + 16 * v));
      _mm512_mask_storeu_ps(ci + 16 * v, m, x);
    }
  }
}

template <int MR>
inline void microRow(int64_t N, int64_t K, const float* a, int64_t si, int64_t sk, const float* b, int64_t ldb,
                     float* c, int64_t ldc, float alpha, bool acc) {
  int64_t j = 0;
  for (; j + 64 <= N; j += 64) microTile<MR, 4>(K, a, si, sk, b + j, ldb, c + j, ldc, alpha, acc, 0xffff);
  int64_t rest = N - j;
  if (rest == 0) return;
  int nv = static_cast<int>((rest + 15) / 16);
  __mmask16 last = static_cast<__mmask16>((1u << (rest - 16 * (nv - 1))) - 1u);
  if (rest % 16 == 0) last = 0xffff;
  switch (nv) {
    case 1: microTile<MR, 1>(K, a, si, sk, b + j, ldb, c + j, ldc, alpha, acc, last); break;
    case 2: microTile<MR, 2>(K, a, si, sk, b + j, ldb, c + j, ldc, alpha, acc, last); break;
    case 3: microTile<MR, 3>(K, a, si, sk, b + j, ldb, c + j, ldc, alpha, acc, last); break;
    default: microTile<MR, 4>(K, a, si, sk, b + j, ldb, c + j, ldc, alpha, acc, last); break;
  }
}

// Which part of a product a causal (lower-triangular) attention block needs, per tile of rows
// [i0, i1): kNLower computes only columns j < i1; kKLower sums only k < i1 (A(i, k) = 0 for k > i);
// kKUpper sums only k >= i0 (A(i, k) = 0 for k < i). Entries outside the computed part are either
// left unwritten (kNLower) or known to be zero, so callers must not read them.
enum class Tri { kNone, kNLower, kKLower, kKUpper };

template <int MR>
inline void smallRows(int64_t i0, int64_t N, int64_t K, MatA A, const float* b, int64_t ldb, float* c, int64_t ldc,
                      float alpha, bool acc, Tri tri) {
  const int64_t i1 = i0 + MR;
  int64_t k0 = 0, n = N, k1 = K;
  if (tri == Tri::kNLower) n = i1 < N ? i1 : N;
  if (tri == Tri::kKLower) k1 = i1 < K ? i1 : K;
  if (tri == Tri::kKUpper) k0 = i0 < K ? i0 : K;
  microRow<MR>(n, k1 - k0, A.p + i0 * A.si + k0 * A.sk, A.si, A.sk, b + k0 * ldb, ldb, c + i0 * ldc, ldc, alpha, acc);
}


// C (M, N) = alpha * A (M, K) B (K, N) (+ C if acc), restricted as `tri` says. Rows in tiles of 6.
inline void smallGemm(int64_t M, int64_t N, int64_t K, MatA A, const float* b, int64_t ldb, float* c, int64_t ldc,
                      float alpha, bool acc, Tri tri = Tri::kNone) {
  int64_t i = 0;
  for (; i + 6 <= M; i += 6) smallRows<6>(i, N, K, A, b, ldb, c, ldc, alpha, acc, tri);
  switch (M - i) {
    case 1: smallRows<1>(i, N, K, A, b, ldb, c, ldc, alpha, acc, tri); break;
    case 2: smallRows<2>(i, N, K, A, b, ldb, c, ldc, alpha, acc, tri); break;
    case 3: smallRows<3>(i, N, K, A, b, ldb, c, ldc, alpha, acc, tri); break;
    case 4: smallRows<4>(i, N, K, A, b, ldb, c, ldc, alpha, acc, tri); break;
    case 5: smallRows<5>(i, N, K, A, b, ldb, c, ldc, alpha, acc, tri); break;
    default: break;
  }
}

#else  // portable fallback: the same contract, plain loops (computes every entry; `tri` only saves work)

enum class Tri { kNone, kNLower, kKLower, kKUpper };

inline void smallGemm(int64_t M, int64_t N, int64_t K, MatA A, const float* b, int64_t ldb, float* c, int64_t ldc,
                      float alpha, bool acc, Tri = Tri::kNone) {
  for (int64_t i = 0; i < M; i++) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < N; j++) {
      float s = 0;
      for (int64_t k = 0; k < K; k++) s += A.p[i * A.si + k * A.sk] * b[k * ldb + j];
      ci[j] = alpha * s + (acc ? ci[j] : 0.0f);
    }
  }
}

#endif

}  // namespace tlc
