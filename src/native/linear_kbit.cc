// Weight-only k-bit inference linear kernel (Backend.linearKbitForward): the weight stays in the
// container's packed form (one LSB-first bitstream of k-bit codes over the row-major (Out, In)
// matrix, one float scale, and for asymmetric formats one zero byte, per group of columns), and is
// unpacked in registers 16 codes at a time (AVX-512: one masked byte load, one byte permute, one
// variable shift). Few input rows (decoding): each unpacked chunk is multiplied into up to 4 rows'
// accumulators (memory-bound on the packed codes). Many rows: tiles of the weight are dequantized to
// fp32 and multiplied by oneDNN's sgemm. It does not quantize and never holds an fp32 copy of the
// whole weight. Without AVX-512 the same loops run on scalar code.
#include <algorithm>
#include <cmath>

#include "common.h"
#include "kbit.h"
#include "matmul.h"

namespace tlc {
namespace {

using kbit::codeAt;
using kbit::KbitArgs;
using kbit::scaleIdx;
using kbit::zeroOf;

// Row counts at or above this run as dequantized tiles through the fp32 GEMM.
constexpr int64_t kGemmRows = 16;

#if TLC_KBIT_SIMD
// For each starting bit offset s (0..7) of a chunk of 16 codes: the byte indices that put the 4
// bytes holding code i into 32-bit lane i, and the right shift that brings the code to bit 0.
struct Unpack {
  __m512i idx[8];
  __m512i sh[8];
  __m512i mask;
};

Unpack makeUnpack(int bits) {
  Unpack u;
  for (int s = 0; s < 8; s++) {
    alignas(64) uint8_t idx[64];
    alignas(64) int32_t sh[16];
    for (int i = 0; i < 16; i++) {
      const int bit = s + i * bits;
      for (int b = 0; b < 4; b++) idx[4 * i + b] = static_cast<uint8_t>(std::min(bit / 8 + b, 15));
      sh[i] = bit & 7;
    }
    u.idx[s] = _mm512_load_si512(idx);
    u.sh[s] = _mm512_load_si512(sh);
  }
  u.mask = _mm512_set1_epi32((1 << bits) - 1);
  return u;
}

const Unpack& unpackFor(int bits) {
  static const Unpack tables[9] = {makeUnpack(2), makeUnpack(2), makeUnpack(2), makeUnpack(3), makeUnpack(4),
                                   makeUnpack(5), makeUnpack(6), makeUnpack(7), makeUnpack(8)};
  return tables[bits];
}

// Codes of elements [e, e + lanes) as floats in lanes [0, lanes) (the others 0). Reads only the
// bytes those codes occupy (at most 16: 16 codes of <= 8 bits after a <= 7-bit offset, k <= 7).
inline __m512 unpack16(const Unpack& u, const uint8_t* codes, int bits, int64_t e, int lanes) {
  const int64_t bit = e * bits;
  const int s = static_cast<int>(bit & 7);
  const int nbytes = (s + lanes * bits + 7) >> 3;
  const __mmask16 bm = nbytes >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << nbytes) - 1u);
  const __m128i raw = _mm_maskz_loadu_epi8(bm, codes + (bit >> 3));
  __m512i v = _mm512_permutexvar_epi8(u.idx[s], _mm512_zextsi128_si512(raw));
  v = _mm512_and_si512(_mm512_srlv_epi32(v, u.sh[s]), u.mask);
  return _mm512_maskz_cvtepi32_ps(firstLanes(lanes), v);
}
#endif

// Sum of each input row's columns within each scale group: xs[n * gpc + g] (the zero-point term).
void groupSums(const KbitArgs& a, int64_t gpc, double* xs) {
  for (int64_t n = 0; n < a.N; n++)
    for (int64_t g = 0; g < gpc; g++) {
      const float* x = a.inp + n * a.In;
      const int64_t c1 = std::min(a.In, (g + 1) * a.G);
      double s = 0;
      for (int64_t c = g * a.G; c < c1; c++) s += x[c];
      xs[n * gpc + g] = s;
    }
}

// out rows [n0, n0 + NB), output o: sum over groups of scale * (sum code * x - zero * sum x) + bias.
template <int NB>
void kbitRow(const KbitArgs& a, int64_t n0, int64_t o, int64_t gpc, const double* xs) {
  double zterm[NB] = {};
  const int64_t base = o * a.In;
#if TLC_KBIT_SIMD
  const Unpack& u = unpackFor(a.bits);
  __m512 tot[NB];
  for (int n = 0; n < NB; n++) tot[n] = _mm512_setzero_ps();
#else
  double tot[NB] = {};
#endif
  for (int64_t g = 0; g < gpc; g++) {
    const int64_t c0 = g * a.G, c1 = std::min(a.In, c0 + a.G);
    const int64_t s = scaleIdx(a, o, g);
    const float scale = a.scales[s], zero = zeroOf(a, s);
#if TLC_KBIT_SIMD
    __m512 acc[NB];
    for (int n = 0; n < NB; n++) acc[n] = _mm512_setzero_ps();
    for (int64_t c = c0; c < c1; c += 16) {
      const int lanes = static_cast<int>(std::min<int64_t>(16, c1 - c));
      const __m512 w = unpack16(u, a.codes, a.bits, base + c, lanes);
      const __mmask16 m = firstLanes(lanes);
      for (int n = 0; n < NB; n++)
        acc[n] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, a.inp + (n0 + n) * a.In + c), acc[n]);
    }
    const __m512 sv = _mm512_set1_ps(scale);
    for (int n = 0; n < NB; n++) tot[n] = _mm512_fmadd_ps(sv, acc[n], tot[n]);
#else
    float acc[NB] = {};
    for (int64_t c = c0; c < c1; c++) {
      const float w = static_cast<float>(codeAt(a.codes, a.codeBytes, a.bits, base + c));
      for (int n = 0; n < NB; n++) acc[n] += w * a.inp[(n0 + n) * a.In + c];
    }
    for (int n = 0; n < NB; n++) tot[n] += static_cast<double>(scale) * acc[n];
#endif
    for (int n = 0; n < NB; n++) zterm[n] += static_cast<double>(scale) * zero * xs[(n0 + n) * gpc + g];
  }
  for (int n = 0; n < NB; n++) {
#if TLC_KBIT_SIMD
    const double dot = _mm512_reduce_add_ps(tot[n]);
#else
    const double dot = tot[n];
#endif
    const double v = dot - zterm[n] + (a.bias ? a.bias[o] : 0.0f);
    a.out[(n0 + n) * a.Out + o] = static_cast<float>(v);
  }
}

#if TLC_KBIT_SIMD
// Other widths (3, 5, 6, 7 bits) when every row starts on a byte (In * bits % 8 == 0): whole chunks
// of 16 codes then start on a byte too (16 * bits bits), so one permute table serves every chunk and
// the load is a fixed 2 * bits bytes; two accumulators hide the FMA latency.
template <int BITS, int NB>
void alignedRow(const KbitArgs& a, int64_t n0, int64_t o, int64_t gpc, const double* xs) {
  const Unpack& u = unpackFor(BITS);
  const __m512i idx = u.idx[0], sh = u.sh[0], mask = u.mask;
  constexpr __mmask16 bm = static_cast<__mmask16>((1u << (2 * BITS)) - 1u);
  const uint8_t* row = a.codes + o * a.In * BITS / 8;
  double zterm[NB] = {};
  __m512 tot[NB];
  for (int n = 0; n < NB; n++) tot[n] = _mm512_setzero_ps();
  for (int64_t g = 0; g < gpc; g++) {
    const int64_t c0 = g * a.G, c1 = std::min(a.In, c0 + a.G);
    const int64_t s = scaleIdx(a, o, g);
    __m512 acc0[NB], acc1[NB];
    for (int n = 0; n < NB; n++) acc0[n] = acc1[n] = _mm512_setzero_ps();
    int64_t c = c0;
    for (; c + 32 <= c1; c += 32) {
      const uint8_t* p = row + c * BITS / 8;
      const __m512 w0 = _mm512_cvtepi32_ps(_mm512_and_si512(
          _mm512_srlv_epi32(_mm512_permutexvar_epi8(idx, _mm512_zextsi128_si512(_mm_maskz_loadu_epi8(bm, p))), sh), mask));
      const __m512 w1 = _mm512_cvtepi32_ps(_mm512_and_si512(
          _mm512_srlv_epi32(_mm512_permutexvar_epi8(idx, _mm512_zextsi128_si512(_mm_maskz_loadu_epi8(bm, p + 2 * BITS))), sh),
          mask));
      for (int n = 0; n < NB; n++) {
        const float* x = a.inp + (n0 + n) * a.In + c;
        acc0[n] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x), acc0[n]);
        acc1[n] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + 16), acc1[n]);
      }
    }
    for (; c < c1; c += 16) {
      const int lanes = static_cast<int>(std::min<int64_t>(16, c1 - c));
      const __m512 w = unpack16(u, a.codes, BITS, o * a.In + c, lanes);
      for (int n = 0; n < NB; n++)
        acc0[n] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(firstLanes(lanes), a.inp + (n0 + n) * a.In + c), acc0[n]);
    }
    const float scale = a.scales[s];
    const __m512 sv = _mm512_set1_ps(scale);
    for (int n = 0; n < NB; n++) {
      tot[n] = _mm512_fmadd_ps(sv, _mm512_add_ps(acc0[n], acc1[n]), tot[n]);
      zterm[n] += static_cast<double>(scale) * zeroOf(a, s) * xs[(n0 + n) * gpc + g];
    }
  }
  for (int n = 0; n < NB; n++)
    a.out[(n0 + n) * a.Out + o] =
        static_cast<float>(_mm512_reduce_add_ps(tot[n]) - zterm[n] + (a.bias ? a.bias[o] : 0.0f));
}

template <int BITS>
void alignedRows(const KbitArgs& a, int64_t n0, int64_t nb, int64_t gpc, const double* xs) {
#pragma omp parallel for schedule(static) if (a.Out * a.In > kParMin)
  for (int64_t o = 0; o < a.Out; o++) {
    if (nb == 4) alignedRow<BITS, 4>(a, n0, o, gpc, xs);
    else if (nb == 3) alignedRow<BITS, 3>(a, n0, o, gpc, xs);
    else if (nb == 2) alignedRow<BITS, 2>(a, n0, o, gpc, xs);
    else alignedRow<BITS, 1>(a, n0, o, gpc, xs);
  }
}

// Whether alignedRows serves this call (its widths, rows starting on a byte).
bool alignedFriendly(const KbitArgs& a) {
  return (a.bits == 3 || a.bits == 5 || a.bits == 6 || a.bits == 7) && (a.In * a.bits) % 8 == 0 && a.G % 16 == 0;
}
#endif

// Few rows: each output row's codes are unpacked once per block of up to 4 input rows.
void kbitDirect(const KbitArgs& a) {
  const int64_t gpc = (a.In + a.G - 1) / a.G;
  std::vector<double> xs(static_cast<size_t>(a.N * gpc));
  groupSums(a, gpc, xs.data());
  const double* xp = xs.data();
  for (int64_t n0 = 0; n0 < a.N; n0 += 4) {
    const int64_t nb = std::min<int64_t>(4, a.N - n0);
#if TLC_KBIT_SIMD
    if (alignedFriendly(a)) {
      if (a.bits == 3) alignedRows<3>(a, n0, nb, gpc, xp);
      else if (a.bits == 5) alignedRows<5>(a, n0, nb, gpc, xp);
      else if (a.bits == 6) alignedRows<6>(a, n0, nb, gpc, xp);
      else alignedRows<7>(a, n0, nb, gpc, xp);
      continue;
    }
#endif
#pragma omp parallel for schedule(static) if (a.Out * a.In > kParMin)
    for (int64_t o = 0; o < a.Out; o++) {
      if (nb == 4) kbitRow<4>(a, n0, o, gpc, xp);
      else if (nb == 3) kbitRow<3>(a, n0, o, gpc, xp);
      else if (nb == 2) kbitRow<2>(a, n0, o, gpc, xp);
      else kbitRow<1>(a, n0, o, gpc, xp);
    }
  }
}


// Rows [o0, o1) of the weight dequantized into w ((o1 - o0), In).
void dequantRows(const KbitArgs& a, int64_t o0, int64_t o1, float* w) {
#pragma omp parallel for schedule(static) if ((o1 - o0) * a.In > kParMin)
  for (int64_t o = o0; o < o1; o++) {
    float* r = w + (o - o0) * a.In;
    for (int64_t c = 0; c < a.In; c++) {
      const int64_t s = scaleIdx(a, o, c / a.G);
      r[c] = (static_cast<float>(codeAt(a.codes, a.codeBytes, a.bits, o * a.In + c)) - zeroOf(a, s)) * a.scales[s];
    }
  }
}

// Many rows: tiles of output rows (about 512 KiB of fp32 weight each) dequantized, then sgemm.
void kbitTiled(const KbitArgs& a) {
  int64_t tile = std::max<int64_t>(16, (int64_t{1} << 17) / a.In / 16 * 16);
  tile = std::min(tile, a.Out);
  std::vector<float> w(static_cast<size_t>(tile * a.In));
  for (int64_t o0 = 0; o0 < a.Out; o0 += tile) {
    const int64_t o1 = std::min(a.Out, o0 + tile), nt = o1 - o0;
    dequantRows(a, o0, o1, w.data());
    GemmShape s{a.N, nt, a.In, false, true, false, a.bias != nullptr, 1.0f};
    s.ldc = a.Out;
    s.ldb = a.In;
    s.rtM = a.N % 64 != 0;  // one primitive for every row count (as linear.cc)
    const Gemm g = gemmFor(s, 0);
    runGemm(g, 0, a.N, a.In, a.inp, w.data(), a.out + o0, a.bias ? a.bias + o0 : nullptr);
  }
}

// linearKbitForward(out, inp, codes, scales, zeros|null, bias|null, N, In, Out, bits, groupSize, groupsPerRow)
Napi::Value LinearKbitForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp");
  View<uint8_t> codes = u8Arg(info, 2, "weight codes");
  View<float> scales = f32Arg(info, 3, "weight scales");
  View<uint8_t> zeros = u8Arg(info, 4, "weight zeros", true);
  View<float> bias = f32Arg(info, 5, "bias", true);
  const int64_t N = dimArg(info, 6, "N"), In = dimArg(info, 7, "In"), Out = dimArg(info, 8, "Out");
  const int64_t bits = dimArg(info, 9, "bits"), G = dimArg(info, 10, "groupSize"), gpr = dimArg(info, 11, "groupsPerRow");
  if (bits < 2 || bits > 8) throw rangeError(info, "linearKbitForward: bits must be in 2..8, got " + std::to_string(bits));
  if (G < 1) throw rangeError(info, "linearKbitForward: groupSize must be >= 1");
  const int64_t gpc = In == 0 ? 0 : (In + G - 1) / G;
  if (gpr != 0 && gpr != gpc)
    throw rangeError(info, "linearKbitForward: groupsPerRow must be 0 (one scale) or ceil(In / groupSize) = " +
                               std::to_string(gpc) + ", got " + std::to_string(gpr));
  const int64_t nScales = gpr == 0 ? 1 : mul(info, Out, gpr);
  need(info, out, mul(info, N, Out), "linearKbitForward out");
  need(info, inp, mul(info, N, In), "linearKbitForward inp");
  need(info, codes, (mul(info, mul(info, Out, In), bits) + 7) / 8, "linearKbitForward weight codes");
  need(info, scales, nScales, "linearKbitForward weight scales");
  if (zeros.p) need(info, zeros, nScales, "linearKbitForward weight zeros");
  if (bias.p) need(info, bias, Out, "linearKbitForward bias");
  if (N == 0 || Out == 0) return info.Env().Undefined();
  if (In == 0) {
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < Out; o++) out.p[n * Out + o] = bias.p ? bias.p[o] : 0.0f;
    return info.Env().Undefined();
  }
  KbitArgs a{out.p, inp.p, codes.p, codes.n, scales.p, zeros.p, bias.p, N, In, Out, static_cast<int>(bits), G, gpr};
  if (N < kGemmRows) {
#if TLC_KBIT_SIMD
    if (kbit::laneFriendly(a)) {
      kbit::kbitLanes(a);
      return info.Env().Undefined();
    }
#endif
    kbitDirect(a);
    return info.Env().Undefined();
  }
  try {
    kbitTiled(a);
  } catch (const dnnl::error& err) {
    throw Napi::Error::New(info.Env(), std::string("linearKbitForward: oneDNN sgemm failed: ") + err.what());
  }
  return info.Env().Undefined();
}

}  // namespace

void registerLinearKbit(Napi::Env env, Napi::Object exports) {
  exports.Set("linearKbitForward", Napi::Function::New(env, LinearKbitForward, "linearKbitForward"));
}

}  // namespace tlc
