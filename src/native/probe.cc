// Machine probes for benchmarks: the FP32 FMA ceiling of this CPU, measured with an assembly loop of
// independent FMAs on every thread of the pool. It computes nothing useful and touches no memory.
#include <chrono>

#include "common.h"

namespace tlc {
namespace {

// The vector registers of the loop: 512-bit with AVX-512, 256-bit with AVX2+FMA, none (scalar) otherwise.
#if defined(__AVX512F__)
#define TLC_VREG "zmm"
constexpr double kLanes = 16;
#elif defined(__FMA__) && defined(__AVX__)
#define TLC_VREG "ymm"
constexpr double kLanes = 8;
#else
constexpr double kLanes = 1;
#endif

// 12 independent FMA chains per thread (enough to cover latency x ports on current cores).
void fmaLoop(int64_t iters) {
#ifdef TLC_VREG
#define TLC_FMA(r) "vfmadd231ps %%" TLC_VREG "12, %%" TLC_VREG "13, %%" TLC_VREG #r "\n\t"
  __asm__ volatile(
      "vxorps %%xmm12, %%xmm12, %%xmm12\n\tvxorps %%xmm13, %%xmm13, %%xmm13\n\t"
      "1:\n\t" TLC_FMA(0) TLC_FMA(1) TLC_FMA(2) TLC_FMA(3) TLC_FMA(4) TLC_FMA(5) TLC_FMA(6) TLC_FMA(7)
          TLC_FMA(8) TLC_FMA(9) TLC_FMA(10) TLC_FMA(11) "dec %0\n\tjnz 1b\n\t"
      : "+r"(iters)::"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "cc");
#undef TLC_FMA
#else
  volatile float sink = 0;
  float a[12] = {0};
  for (int64_t i = 0; i < iters; i++)
    for (int j = 0; j < 12; j++) a[j] = a[j] * 0.999f + 1e-7f;
  for (float x : a) sink = sink + x;
#endif
}

// peakFlops(threads, iters) -> FLOP/s of `threads` threads each running `iters` loop trips (12 FMAs).
Napi::Value PeakFlops(const Napi::CallbackInfo& info) {
  int64_t nt = dimArg(info, 0, "threads"), iters = dimArg(info, 1, "iters");
  if (nt < 1 || nt > 4096) throw rangeError(info, "peakFlops: expected 1..4096 threads");
  if (iters < 1) throw rangeError(info, "peakFlops: expected iters >= 1");
  auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(static_cast<int>(nt))
  fmaLoop(iters);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Napi::Number::New(info.Env(), 2.0 * kLanes * 12.0 * static_cast<double>(iters) * static_cast<double>(nt) / s);
}

}  // namespace

void registerProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("peakFlops", Napi::Function::New(env, PeakFlops, "peakFlops"));
  exports.Set("simdLanes", Napi::Number::New(env, kLanes));
}

}  // namespace tlc
