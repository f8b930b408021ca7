// The k-bit linear kernel's arguments and code access, shared by linear_kbit.cc (the direct,
// byte-aligned and tiled paths, and the N-API entry) and linear_kbit_lanes.cc (the lane path).
#pragma once

#include <cstdint>

#if defined(__AVX512F__) && defined(__AVX512VBMI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define TLC_KBIT_SIMD 1
#endif

namespace tlc {
namespace kbit {

struct KbitArgs {
  float* out;
  const float* inp;
  const uint8_t* codes;
  int64_t codeBytes;
  const float* scales;
  const uint8_t* zeros;  // null: symmetric, zero point 2^(bits-1)
  const float* bias;
  int64_t N, In, Out;
  int bits;
  int64_t G;    // columns per scale group (In for per-channel and per-tensor)
  int64_t gpr;  // scales per row (0 for per-tensor: one scale for all)
};


inline int64_t scaleIdx(const KbitArgs& a, int64_t o, int64_t g) { return a.gpr == 0 ? 0 : o * a.gpr + g; }
inline float zeroOf(const KbitArgs& a, int64_t s) {
  return a.zeros ? static_cast<float>(a.zeros[s]) : static_cast<float>(1 << (a.bits - 1));
}

// The code of element e (row-major index) from the bitstream (scalar; tails and the reference path).
inline uint32_t codeAt(const uint8_t* codes, int64_t codeBytes, int bits, int64_t e) {
  const int64_t bit = e * bits;
  const int64_t byte = bit >> 3;
  const int sh = static_cast<int>(bit & 7);
  uint32_t v = codes[byte] >> sh;
  if (sh + bits > 8 && byte + 1 < codeBytes) v |= static_cast<uint32_t>(codes[byte + 1]) << (8 - sh);
  return v & ((1u << bits) - 1u);
}

#if TLC_KBIT_SIMD
/** Whether the lane path runs this shape (bits 2, 4, 8 on rows of whole 64-byte blocks). */
bool laneFriendly(const KbitArgs& a);
/** out = inp W^T + bias on the lane path (few rows). */
void kbitLanes(const KbitArgs& a);
#endif

}  // namespace kbit
}  // namespace tlc
