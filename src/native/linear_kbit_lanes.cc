// The k-bit linear kernel's lane path (few input rows; entry points in kbit.h, the rest of the kernel
// in linear_kbit.cc).
// Fast path for bits that divide 32 (2, 4, 8) on rows of whole 64-byte blocks: a block of codes is
// one 512-bit load whose 16 32-bit lanes each hold P = 32/bits consecutive codes; shifting all lanes
// by j*bits gives codes {l*P + j}, multiplied with the input permuted once per call to match
// (xp[block][j][l] = x[block][l*P + j]). Each lane lies in one scale group, so scales and zero
// points apply as vectors per block, with the zero term from per-lane input sums (xsl).
#include <algorithm>
#include <vector>

#include "common.h"
#include "kbit.h"

#if TLC_KBIT_SIMD
namespace tlc {
namespace kbit {

bool laneFriendly(const KbitArgs& a) {
  if (a.bits != 2 && a.bits != 4 && a.bits != 8) return false;
  const int64_t P = 32 / a.bits, BS = 16 * P;
  return a.In % BS == 0 && (a.gpr == 0 || a.G % BS == 0 || BS % a.G == 0) && a.G % P == 0;
}

namespace {

// xp and xsl of one input row (see above).
void permuteRow(const float* x, int64_t In, int bits, float* xp, float* xsl) {
  const int64_t P = 32 / bits, BS = 16 * P;
  for (int64_t b = 0; b < In / BS; b++)
    for (int64_t l = 0; l < 16; l++) {
      float s = 0;
      for (int64_t j = 0; j < P; j++) {
        const float v = x[b * BS + l * P + j];
        xp[b * BS + j * 16 + l] = v;
        s += v;
      }
      xsl[b * 16 + l] = s;
    }
}

// SYM4: 4-bit codes with the one zero point 8 (symmetric formats): a code becomes code - 8 as a float
// by one permute of a 16-entry table.
template <int BITS, int NB, bool SYM4 = false>
void laneRow(const KbitArgs& a, int64_t n0, int64_t o, const float* xp, const float* xsl) {
  constexpr int P = 32 / BITS, BS = 16 * P;
  const int64_t nblk = a.In / BS;
  const uint8_t* codes = a.codes + o * a.In * BITS / 8;
  const __m512i mask = _mm512_set1_epi32((1 << BITS) - 1);
  const __m512 centered = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  // lane l's group within its block, and how many groups a block spans
  alignas(64) int32_t lg[16];
  for (int l = 0; l < 16; l++) lg[l] = a.G < BS ? static_cast<int32_t>(l * P / a.G) : 0;
  const __m512i laneGroup = _mm512_load_si512(lg);
  const __mmask16 gm = firstLanes(a.G < BS ? BS / a.G : 1);
  __m512 scalev = _mm512_set1_ps(a.scales[0]), zerov = _mm512_set1_ps(zeroOf(a, 0));
  __m512 tot[NB];
  for (int n = 0; n < NB; n++) tot[n] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nblk; b++) {
    const __m512i v = _mm512_loadu_si512(codes + b * 64);
    __m512 acc0[NB], acc1[NB];
    for (int n = 0; n < NB; n++) acc0[n] = acc1[n] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int j = 0; j < P; j += 2) {
      __m512 c0, c1;
      if constexpr (SYM4) {  // the low 4 bits index the table: no mask, no convert, no zero term
        c0 = _mm512_permutexvar_ps(_mm512_srli_epi32(v, j * BITS), centered);
        c1 = _mm512_permutexvar_ps(_mm512_srli_epi32(v, (j + 1) * BITS), centered);
      } else {
        c0 = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v, j * BITS), mask));
        c1 = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v, (j + 1) * BITS), mask));
      }
      for (int n = 0; n < NB; n++) {
        const float* x = xp + (n0 + n) * a.In + b * BS + j * 16;
        acc0[n] = _mm512_fmadd_ps(c0, _mm512_loadu_ps(x), acc0[n]);
        acc1[n] = _mm512_fmadd_ps(c1, _mm512_loadu_ps(x + 16), acc1[n]);
      }
    }
    if (a.gpr != 0) {
      const int64_t s0 = o * a.gpr + b * BS / a.G;
      scalev = _mm512_permutexvar_ps(laneGroup, _mm512_maskz_loadu_ps(gm, a.scales + s0));
      if (a.zeros)
        zerov = _mm512_cvtepi32_ps(
            _mm512_permutexvar_epi32(laneGroup, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(gm, a.zeros + s0))));
    }
    for (int n = 0; n < NB; n++) {
      const __m512 sum = _mm512_add_ps(acc0[n], acc1[n]);
      const __m512 t =
          SYM4 ? sum : _mm512_fnmadd_ps(zerov, _mm512_loadu_ps(xsl + (n0 + n) * (a.In / P) + b * 16), sum);
      tot[n] = _mm512_fmadd_ps(scalev, t, tot[n]);
    }
  }
  for (int n = 0; n < NB; n++)
    a.out[(n0 + n) * a.Out + o] = _mm512_reduce_add_ps(tot[n]) + (a.bias ? a.bias[o] : 0.0f);
}

// One input row against R output rows at once (batch-1 decoding): each permuted input vector is
// loaded once for the R rows, and the per-row costs (group table, final reduction) are shared, which
// matters on short rows (768 inputs are 6 blocks of 4-bit codes).
template <int BITS, bool SYM4, int R>
void laneRowsOne(const KbitArgs& a, int64_t n0, int64_t o, const float* xp, const float* xsl, __m512i laneGroup,
                 __mmask16 gm) {
  constexpr int P = 32 / BITS, BS = 16 * P;
  const int64_t nblk = a.In / BS;
  const __m512i mask = _mm512_set1_epi32((1 << BITS) - 1);
  const __m512 centered = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  const float* x = xp + n0 * a.In;
  const float* xs = xsl + n0 * (a.In / P);
  __m512 tot[R];
  for (int r = 0; r < R; r++) tot[r] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nblk; b++) {
    __m512i v[R];
    __m512 acc0[R], acc1[R];
    for (int r = 0; r < R; r++) {
      v[r] = _mm512_loadu_si512(a.codes + (o + r) * a.In * BITS / 8 + b * 64);
      acc0[r] = acc1[r] = _mm512_setzero_ps();
    }
#pragma GCC unroll 16
    for (int j = 0; j < P; j += 2) {
      const __m512 x0 = _mm512_loadu_ps(x + b * BS + j * 16), x1 = _mm512_loadu_ps(x + b * BS + j * 16 + 16);
      for (int r = 0; r < R; r++) {
        __m512 c0, c1;
        if constexpr (SYM4) {
          c0 = _mm512_permutexvar_ps(_mm512_srli_epi32(v[r], j * BITS), centered);
          c1 = _mm512_permutexvar_ps(_mm512_srli_epi32(v[r], (j + 1) * BITS), centered);
        } else {
          c0 = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v[r], j * BITS), mask));
          c1 = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v[r], (j + 1) * BITS), mask));
        }
        acc0[r] = _mm512_fmadd_ps(c0, x0, acc0[r]);
        acc1[r] = _mm512_fmadd_ps(c1, x1, acc1[r]);
      }
    }
    const __m512 xsum = SYM4 ? _mm512_setzero_ps() : _mm512_loadu_ps(xs + b * 16);
    for (int r = 0; r < R; r++) {
      __m512 scalev = _mm512_set1_ps(a.scales[0]), zerov = _mm512_set1_ps(zeroOf(a, 0));
      if (a.gpr != 0) {
        const int64_t s0 = (o + r) * a.gpr + b * BS / a.G;
        scalev = _mm512_permutexvar_ps(laneGroup, _mm512_maskz_loadu_ps(gm, a.scales + s0));
        if (a.zeros)
          zerov = _mm512_cvtepi32_ps(
              _mm512_permutexvar_epi32(laneGroup, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(gm, a.zeros + s0))));
      }
      const __m512 sum = _mm512_add_ps(acc0[r], acc1[r]);
      tot[r] = _mm512_fmadd_ps(scalev, SYM4 ? sum : _mm512_fnmadd_ps(zerov, xsum, sum), tot[r]);
    }
  }
  for (int r = 0; r < R; r++)
    a.out[n0 * a.Out + o + r] = _mm512_reduce_add_ps(tot[r]) + (a.bias ? a.bias[o + r] : 0.0f);
}

template <int BITS>
void laneRows(const KbitArgs& a, int64_t n0, int64_t nb, const float* xp, const float* xsl) {
  constexpr int64_t R = 4;
  if (nb == 1 && a.Out >= R) {
    constexpr int P = 32 / BITS, BS = 16 * P;
    alignas(64) int32_t lg[16];
    for (int l = 0; l < 16; l++) lg[l] = a.G < BS ? static_cast<int32_t>(l * P / a.G) : 0;
    const __m512i laneGroup = _mm512_load_si512(lg);
    const __mmask16 gm = firstLanes(a.G < BS ? BS / a.G : 1);
    const bool sym4 = BITS == 4 && a.zeros == nullptr;
    const int64_t whole = a.Out / R * R;
#pragma omp parallel for schedule(static) if (a.Out * a.In > kParMin)
    for (int64_t o = 0; o < whole; o += R) {
      if (sym4) laneRowsOne<BITS, true, R>(a, n0, o, xp, xsl, laneGroup, gm);
      else laneRowsOne<BITS, false, R>(a, n0, o, xp, xsl, laneGroup, gm);
    }
    for (int64_t o = whole; o < a.Out; o++) laneRow<BITS, 1>(a, n0, o, xp, xsl);
    return;
  }
#pragma omp parallel for schedule(static) if (a.Out * a.In > kParMin)
  for (int64_t o = 0; o < a.Out; o++) {
    if (BITS == 4 && a.zeros == nullptr) {
      if (nb == 4) laneRow<BITS, 4, true>(a, n0, o, xp, xsl);
      else if (nb == 3) laneRow<BITS, 3, true>(a, n0, o, xp, xsl);
      else if (nb == 2) laneRow<BITS, 2, true>(a, n0, o, xp, xsl);
      else laneRow<BITS, 1, true>(a, n0, o, xp, xsl);
    } else if (nb == 4) laneRow<BITS, 4>(a, n0, o, xp, xsl);
    else if (nb == 3) laneRow<BITS, 3>(a, n0, o, xp, xsl);
    else if (nb == 2) laneRow<BITS, 2>(a, n0, o, xp, xsl);
    else laneRow<BITS, 1>(a, n0, o, xp, xsl);
  }
}

}  // namespace

void kbitLanes(const KbitArgs& a) {
  const int64_t P = 32 / a.bits;
  thread_local std::vector<float> xpBuf, xslBuf;
  xpBuf.resize(static_cast<size_t>(a.N * a.In));
  xslBuf.resize(static_cast<size_t>(a.N * a.In / P));
  float* xp = xpBuf.data();  // this thread's buffers: the pool threads must not name their own
  float* xsl = xslBuf.data();
  for (int64_t n = 0; n < a.N; n++) permuteRow(a.inp + n * a.In, a.In, a.bits, xp + n * a.In, xsl + n * (a.In / P));
  for (int64_t n0 = 0; n0 < a.N; n0 += 4) {
    const int64_t nb = std::min<int64_t>(4, a.N - n0);
    if (a.bits == 4) laneRows<4>(a, n0, nb, xp, xsl);
    else if (a.bits == 2) laneRows<2>(a, n0, nb, xp, xsl);
    else laneRows<8>(a, n0, nb, xp, xsl);
  }
}

}  // namespace kbit
}  // namespace tlc
#endif
