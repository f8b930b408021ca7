// Fused linear layer: forward (GEMM with the bias inside oneDNN's primitive) and backward (input
// gradient, weight gradient and bias gradient in one call). With exactly two threads, each thread runs
// its own share as single-threaded GEMMs planned for one thread (forward: half the rows; backward:
// half the rows of dinp and of dW plus the matching bias columns, or for strongly widening layers one
// whole GEMM each): measured 5-18% faster here than oneDNN splitting each GEMM over both threads.
// Other thread counts let oneDNN split each GEMM.
// bf16 (a trailing `bf16` argument): the GEMM operands (input, weight, output gradient) are rounded to
// bf16 copies here, round-to-nearest-even, and multiplied by oneDNN's bf16 matmul with fp32
// accumulation into fp32 outputs; the caller's tensors (fp32 master weights, gradients) stay fp32,
// and the bias gradient sums the fp32 output gradient.
#include <string>
#include <vector>

#include "matmul.h"

namespace tlc {

// db[c] += sum over rows of dout[:, c] for c in [c0, c1); rows in order, in double: the same bits
// however columns are split across threads.
void colSumAdd(float* db, const float* dout, int64_t N, int64_t C, int64_t c0, int64_t c1) {
  if (c1 <= c0) return;
  std::vector<double> acc(static_cast<size_t>(c1 - c0), 0.0);
  double* a = acc.data() - c0;
  for (int64_t n = 0; n < N; n++) {
    const float* row = dout + n * C;
#pragma omp simd
    for (int64_t c = c0; c < c1; c++) a[c] += row[c];
  }
  for (int64_t c = c0; c < c1; c++) db[c] = static_cast<float>(db[c] + a[c]);
}

namespace {

// x (n floats) -> y as bf16 bit patterns: round to nearest even; NaN stays a (quiet) NaN.
void toBf16(const float* x, uint16_t* y, int64_t n) {
#pragma omp parallel for simd if (n > kParMin) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, &x[i], sizeof u);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    y[i] = static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded);
  }
}

// The bf16 copies of one call's operands; reused across calls (calls come from one JS thread).
struct Bf16Buffers {
  std::vector<uint16_t> inp, w, dout;
};
Bf16Buffers& bf16Buffers() {
  static Bf16Buffers b;
  return b;
}
const uint16_t* bf16Copy(std::vector<uint16_t>& buf, const float* x, int64_t n) {
  if (static_cast<int64_t>(buf.size()) < n) buf.resize(static_cast<size_t>(n));
  toBf16(x, buf.data(), n);
  return buf.data();
}

// A GEMM operand as stored: fp32 or a bf16 copy; `at(i)` is element i of either.
struct Operand {
  const void* p;
  bool bf16;
  const void* at(int64_t i) const {
    return bf16 ? static_cast<const void*>(static_cast<const uint16_t*>(p) + i)
                : static_cast<const void*>(static_cast<const float*>(p) + i);
  }
};

// Where a range of n splits into two parts for two threads (a multiple of `align` when n allows).
int64_t splitPoint(int64_t n, int64_t align) {
  int64_t h = (n / 2 + align - 1) / align * align;
  return h < n ? h : n;
}

// Row counts that are not a multiple of this (the LM head's masked rows, which change every batch)
// get primitives planned with a runtime row count: one per layer shape instead of one per batch.
constexpr int64_t kRegularRows = 64;

// A forward over fewer rows than this (and at least 8x as many outputs) splits the output columns
// between the two threads instead of the rows: with few rows the product is bound by reading W, and
// a row split has each thread read all of it. Measured (2 threads, quiet machine): 32 x 256 -> 8192
// 0.68 -> 0.51 ms; 128 x 256 -> 768 ran slower split by columns (0.16 -> 0.21 ms), hence the 8x.
constexpr int64_t kColSplitRows = 192;

// The products of a linear layer over `rows` rows (rt: rows as a runtime dimension).
GemmShape forwardShape(int64_t rows, int64_t In, int64_t Out, bool bias, bool rt, bool bf16) {
  GemmShape s{rows, Out, In, false, true, false, bias, 1.0f};  // out = inp W^T (+ bias)
  s.rtM = rt;
  s.bf16 = bf16;
  return s;
}
GemmShape dinpShape(int64_t rows, int64_t In, int64_t Out, bool acc, bool rt, bool bf16) {
  GemmShape s{rows, In, Out, false, false, acc, false, 1.0f};  // dinp = dout W
  s.rtM = rt;
  s.bf16 = bf16;
  return s;
}
// dW rows [o, o + outRows) += dout[:, o..]^T inp: A is dout read transposed, rows `ldDout` apart.
GemmShape dwShape(int64_t outRows, int64_t In, int64_t rows, int64_t ldDout, bool rt, bool bf16) {
  GemmShape s{outRows, In, rows, true, false, true, false, 1.0f};
  s.lda = ldDout;
  s.rtK = rt;
  s.bf16 = bf16;
  return s;
}

// Runs f(0) and f(1) on two threads; dnnl errors are caught inside (exceptions must not cross the
// OpenMP region) and rethrown as one Napi error naming the kernel.
template <typename F>
void twoTasks(const Napi::CallbackInfo& info, const char* kernel, F f) {
  std::string err[2];
#pragma omp parallel num_threads(2)
  {
    int t = omp_get_thread_num();
    try {
      f(t);
    } catch (const dnnl::error& e) {
      err[t] = e.what();
    }
  }
  if (!err[0].empty() || !err[1].empty()) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN matmul failed in ") + kernel + ": " + err[0] + err[1]);
  }
}

// linearForward(out, inp, weight, bias|null, N, In, Out[, bf16]): out (N,Out) = inp (N,In) W^T + bias.
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp"), w = f32Arg(info, 2, "weight");
  View<float> bias = f32Arg(info, 3, "bias", true);
  int64_t N = dimArg(info, 4, "N"), In = dimArg(info, 5, "In"), Out = dimArg(info, 6, "Out");
  const bool bf16 = info.Length() > 7 && boolArg(info, 7, "bf16");
  need(info, out, mul(info, N, Out), "linearForward out");
  need(info, inp, mul(info, N, In), "linearForward inp");
  need(info, w, mul(info, Out, In), "linearForward weight");
  if (bias.p) need(info, bias, Out, "linearForward bias");
  if (N == 0 || Out == 0) return info.Env().Undefined();
  if (In == 0) {  // empty product: out = bias (or 0) in every row
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < Out; o++) out.p[n * Out + o] = bias.p ? bias.p[o] : 0.0f;
    return info.Env().Undefined();
  }
  const bool rt = N % kRegularRows != 0;
  GemmShape s = forwardShape(N, In, Out, bias.p != nullptr, rt, bf16);
  Operand a{inp.p, bf16}, b{w.p, bf16};
  if (bf16) {
    a.p = bf16Copy(bf16Buffers().inp, inp.p, N * In);
    b.p = bf16Copy(bf16Buffers().w, w.p, Out * In);
  }
  try {
    if (omp_get_max_threads() != 2 || N < 16) {
      runGemm(gemmFor(s, 0), 0, N, In, a.p, b.p, out.p, bias.p);
      return info.Env().Undefined();
    }
    if (N < kColSplitRows && Out >= 8 * N) {  // few rows, wide W (decoding): each thread reads half of W
      const int64_t oh = splitPoint(Out, 16);
      const int64_t o[3] = {0, oh, Out};
      Gemm g[2];
      for (int t = 0; t < 2; t++) {
        GemmShape st = forwardShape(N, In, o[t + 1] - o[t], bias.p != nullptr, rt, bf16);
        st.ldc = Out;
        g[t] = gemmFor(st, t, true);
      }
      twoTasks(info, "linearForward", [&](int t) {
        runGemm(g[t], t, N, In, a.p, b.at(o[t] * In), out.p + o[t], bias.p ? bias.p + o[t] : nullptr);
      });
      return info.Env().Undefined();
    }
    const int64_t h = splitPoint(N, 8);
    const int64_t r[3] = {0, h, N};
    Gemm g[2] = {gemmFor(forwardShape(h, In, Out, bias.p != nullptr, rt, bf16), 0, true),
                 gemmFor(forwardShape(N - h, In, Out, bias.p != nullptr, rt, bf16), 1, true)};
    twoTasks(info, "linearForward", [&](int t) {
      runGemm(g[t], t, r[t + 1] - r[t], In, a.at(r[t] * In), b.p, out.p + r[t] * Out, bias.p);
    });
  } catch (const dnnl::error& err) {
    throw gemmError(info, err, s);
  }
  return info.Env().Undefined();
}

struct LinBwd {
  float *dinp, *dw, *db;
  const float* dout;     // fp32, for the bias gradient
  Operand gout, ginp, gw;  // the GEMM operands: dout, inp, weight (fp32 or bf16 copies)
  int64_t N, In, Out;
  bool acc;
  bool rt;    // batch rows as a runtime dimension
  bool bf16;  // operands are bf16
};

// Thread t: dinp rows [r(t), r(t+1)), dW rows and bias columns [o(t), o(t+1)).
void backwardSplit(const Napi::CallbackInfo& info, const LinBwd& a) {
  const int64_t rh = splitPoint(a.N, 8), oh = splitPoint(a.Out, 16);
  const int64_t r[3] = {0, rh, a.N}, o[3] = {0, oh, a.Out};
  Gemm gd[2], gw[2];
  for (int t = 0; t < 2; t++) {
    if (a.dinp && r[t + 1] > r[t])
      gd[t] = gemmFor(dinpShape(r[t + 1] - r[t], a.In, a.Out, a.acc, a.rt, a.bf16), t, true);
    if (o[t + 1] > o[t]) gw[t] = gemmFor(dwShape(o[t + 1] - o[t], a.In, a.N, a.Out, a.rt, a.bf16), t, true);
  }
  twoTasks(info, "linearBackward", [&](int t) {
    const int64_t rows = r[t + 1] - r[t], outRows = o[t + 1] - o[t];
    if (a.dinp && rows > 0)
      runGemm(gd[t], t, rows, a.Out, a.gout.at(r[t] * a.Out), a.gw.p, a.dinp + r[t] * a.In, nullptr);
    if (outRows > 0) runGemm(gw[t], t, outRows, a.N, a.gout.at(o[t]), a.ginp.p, a.dw + o[t] * a.In, nullptr);
    if (a.db) colSumAdd(a.db, a.dout, a.N, a.Out, o[t], o[t + 1]);
  });
}

// dinp on thread 0, dW on thread 1 (both planned for one thread); then each sums half the bias columns.
void backwardTasks(const Napi::CallbackInfo& info, const LinBwd& a) {
  Gemm gd = gemmFor(dinpShape(a.N, a.In, a.Out, a.acc, a.rt, a.bf16), 0, true);
  Gemm gw = gemmFor(dwShape(a.Out, a.In, a.N, a.Out, a.rt, a.bf16), 1, true);
  twoTasks(info, "linearBackward", [&](int t) {
    if (t == 0) runGemm(gd, 0, a.N, a.Out, a.gout.p, a.gw.p, a.dinp, nullptr);
    else runGemm(gw, 1, a.Out, a.N, a.gout.p, a.ginp.p, a.dw, nullptr);
    int64_t c0, c1;
    colRange(a.Out, t, 2, &c0, &c1);
    if (a.db) colSumAdd(a.db, a.dout, a.N, a.Out, c0, c1);
  });
}

void backwardSequential(const LinBwd& a) {
  if (a.dinp)
    runGemm(gemmFor(dinpShape(a.N, a.In, a.Out, a.acc, a.rt, a.bf16), 0), 0, a.N, a.Out, a.gout.p, a.gw.p, a.dinp,
            nullptr);
  runGemm(gemmFor(dwShape(a.Out, a.In, a.N, a.Out, a.rt, a.bf16), 0), 0, a.Out, a.N, a.gout.p, a.ginp.p, a.dw, nullptr);
  if (!a.db) return;
#pragma omp parallel if (a.N * a.Out > kParMin)
  {
    int64_t c0, c1;
    colRange(a.Out, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
    colSumAdd(a.db, a.dout, a.N, a.Out, c0, c1);
  }
}

// linearBackward(dinp|null, dweight, dbias|null, dout, inp, weight, N, In, Out, accumulate[, bf16]):
// dinp (N,In) = dout W (+= if accumulate); dweight (Out,In) += dout^T inp; dbias (Out) += colsum(dout).
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  View<float> dinp = f32Arg(info, 0, "dinp", true), dw = f32Arg(info, 1, "dweight");
  View<float> db = f32Arg(info, 2, "dbias", true), dout = f32Arg(info, 3, "dout");
  View<float> inp = f32Arg(info, 4, "inp"), w = f32Arg(info, 5, "weight");
  int64_t N = dimArg(info, 6, "N"), In = dimArg(info, 7, "In"), Out = dimArg(info, 8, "Out");
  bool acc = boolArg(info, 9, "accumulate");
  const bool bf16 = info.Length() > 10 && boolArg(info, 10, "bf16");
  if (dinp.p) need(info, dinp, mul(info, N, In), "linearBackward dinp");
  need(info, dw, mul(info, Out, In), "linearBackward dweight");
  if (db.p) need(info, db, Out, "linearBackward dbias");
  need(info, dout, mul(info, N, Out), "linearBackward dout");
  need(info, inp, mul(info, N, In), "linearBackward inp");
  need(info, w, mul(info, Out, In), "linearBackward weight");
  if (N == 0) return info.Env().Undefined();
  if (Out == 0 || In == 0) {  // empty products: dinp = acc ? dinp : 0; only the bias sum remains
    if (dinp.p) zeroOrKeep(dinp.p, N * In, acc);
    if (db.p) colSumAdd(db.p, dout.p, N, Out, 0, Out);
    return info.Env().Undefined();
  }
  LinBwd a{dinp.p, dw.p, db.p, dout.p, {dout.p, bf16}, {inp.p, bf16}, {w.p, bf16}, N, In, Out, acc,
           N % kRegularRows != 0, bf16};
  if (bf16) {
    Bf16Buffers& buf = bf16Buffers();
    a.gout.p = bf16Copy(buf.dout, dout.p, N * Out);
    a.ginp.p = bf16Copy(buf.inp, inp.p, N * In);
    if (dinp.p) a.gw.p = bf16Copy(buf.w, w.p, Out * In);
  }
  try {
    // Out <= 3 In: each thread half of everything (5-10% faster than oneDNN's own split); strongly
    // widening layers (the MLP's first, the LM head): one GEMM per thread (as fast or up to 7% faster).
    // Splitting dW over the batch rows instead was no faster.
    const bool two = omp_get_max_threads() == 2 && N >= 16;
    if (two && Out <= 3 * In) backwardSplit(info, a);
    else if (two && dinp.p) backwardTasks(info, a);
    else backwardSequential(a);
  } catch (const dnnl::error& err) {
    throw gemmError(info, err, dwShape(Out, In, N, Out, false, bf16));
  }
  return info.Env().Undefined();
}

}  // namespace

void registerLinear(Napi::Env env, Napi::Object exports) {
  exports.Set("linearForward", Napi::Function::New(env, LinearForward, "linearForward"));
  exports.Set("linearBackward", Napi::Function::New(env, LinearBackward, "linearBackward"));
}

}  // namespace tlc
