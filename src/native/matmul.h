// The oneDNN GEMM shared by matmul.cc and linear.cc: a cached primitive per shape, executed on one of
// two task slots (each with its own stream and scratchpad, so two GEMMs may run at once).
#pragma once

#include <dnnl.hpp>

#include <vector>

#include "common.h"

namespace tlc {

constexpr int kGemmSlots = 2;

// C (M,N) = alpha op(A) op(B) (+ bias row) (+ C if acc); op(A) (M,K), op(B) (K,N), row-major.
// lda/ldb/ldc: row strides of A, B, C as stored (0 = dense: the stored row length).
// rtM / rtK: plan one primitive for every M (or K) of this shape (oneDNN runtime dimensions), for
// row counts that change from call to call (the LM head's masked rows); strides must not depend on them.
struct GemmShape {
  int64_t M, N, K;
  bool ta, tb, acc, bias;
  float alpha;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool rtM = false, rtK = false;
  // A and B in bf16 (uint16_t bit patterns; products accumulated in fp32, C and bias fp32)
  bool bf16 = false;
};

struct Gemm {
  dnnl::matmul prim;
  dnnl::memory::desc a, b, c, bias, scratch;
  // with runtime dimensions, the memory descriptors of a call are rebuilt from these
  bool rt = false, ta = false, tb = false, bf16 = false;
  int64_t lda = 0, ldb = 0, ldc = 0;
};

// The cached primitive for `s`, with slot's scratchpad grown to fit. Call from one thread at a time
// (it takes a lock, but grows the scratchpad of `slot`: never while that slot runs).
// `single`: planned for one thread (for running inside a parallel region).
Gemm gemmFor(const GemmShape& s, int slot, bool single = false);
// Runs g on slot's stream and scratchpad and waits; M and K are this call's (they matter when g was
// planned with runtime dimensions). a and b are float, or uint16_t bf16 patterns for a bf16 Gemm.
// Two different slots may run concurrently.
void runGemm(const Gemm& g, int slot, int64_t M, int64_t K, const void* a, const void* b, float* c,
             const float* bias);
Napi::Error gemmError(const Napi::CallbackInfo& info, const dnnl::error& err, const GemmShape& s);
// c[0..mn) = 0 unless acc (the product of an empty K).
void zeroOrKeep(float* c, int64_t mn, bool acc);

}  // namespace tlc
