// Unstructured-sparse inference linear kernel (Backend.linearSparseForward): the weight (Out, In) in
// CSR form (row pointers int32, column indices uint16, fp32 values: 6 bytes per kept weight).
// CSR because unstructured masks have no block structure to exploit: a blocked format would store the
// zeros inside each block, CSR stores exactly the kept weights. Few rows: each output is a dot of
// its row's values with the input gathered at its column indices (AVX-512 gathers, 16 at a time).
// Many rows: 16 input rows are transposed so that each kept weight does one 16-wide FMA (the batch
// is in the vector lanes). It does not prune, and checks the indices on every call (memory safety).
#include <algorithm>

#include "common.h"

namespace tlc {
namespace {

struct CsrArgs {
  float* out;
  const float* inp;
  const int32_t* rowPtr;
  const uint16_t* col;
  const float* val;
  const float* bias;
  int64_t N, In, Out;
};

// Input rows at or above this use the transposed (batch-in-lanes) path.
constexpr int64_t kBatchRows = 8;

inline float biasOf(const CsrArgs& a, int64_t o) { return a.bias ? a.bias[o] : 0.0f; }

// One row n, one output o: sum over the row's kept weights of val * x[col].
inline float csrDot(const CsrArgs& a, const float* x, int64_t o) {
  int64_t j = a.rowPtr[o];
  const int64_t j1 = a.rowPtr[o + 1];
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  for (; j < j1; j += 16) {
    const __mmask16 m = firstLanes(j1 - j);
    const __m512i idx = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, a.col + j));
    const __m512 v = _mm512_maskz_loadu_ps(m, a.val + j);
    acc = _mm512_fmadd_ps(v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, x, 4), acc);
  }
  return _mm512_reduce_add_ps(acc);
#else
  float acc = 0;
  for (; j < j1; j++) acc += a.val[j] * x[a.col[j]];
  return acc;
#endif
}

void csrGather(const CsrArgs& a) {
  for (int64_t n = 0; n < a.N; n++) {
    const float* x = a.inp + n * a.In;
    float* y = a.out + n * a.Out;
#pragma omp parallel for schedule(static) if (a.rowPtr[a.Out] > kParMin)
    for (int64_t o = 0; o < a.Out; o++) y[o] = csrDot(a, x, o) + biasOf(a, o);
  }
}

// Rows [n0, n0 + nb) (nb <= 16): xt (In, 16) = the rows transposed; each kept weight is one FMA of
// 16 lanes (one per input row).
void csrBatch(const CsrArgs& a) {
  std::vector<float> xt(static_cast<size_t>(a.In * 16));
  float* t = xt.data();
  for (int64_t n0 = 0; n0 < a.N; n0 += 16) {
    const int64_t nb = std::min<int64_t>(16, a.N - n0);
    std::fill(xt.begin(), xt.end(), 0.0f);
    for (int64_t n = 0; n < nb; n++)
      for (int64_t c = 0; c < a.In; c++) t[c * 16 + n] = a.inp[(n0 + n) * a.In + c];
#pragma omp parallel for schedule(static) if (a.rowPtr[a.Out] * 16 > kParMin)
    for (int64_t o = 0; o < a.Out; o++) {
      float r[16];
#if defined(__AVX512F__)
      __m512 acc = _mm512_set1_ps(biasOf(a, o));
      for (int64_t j = a.rowPtr[o]; j < a.rowPtr[o + 1]; j++)
        acc = _mm512_fmadd_ps(_mm512_set1_ps(a.val[j]), _mm512_loadu_ps(t + a.col[j] * 16), acc);
      _mm512_storeu_ps(r, acc);
#else
      for (int n = 0; n < 16; n++) r[n] = biasOf(a, o);
      for (int64_t j = a.rowPtr[o]; j < a.rowPtr[o + 1]; j++)
        for (int n = 0; n < 16; n++) r[n] += a.val[j] * t[a.col[j] * 16 + n];
#endif
      for (int64_t n = 0; n < nb; n++) a.out[(n0 + n) * a.Out + o] = r[n];
    }
  }
}

// linearSparseForward(out, inp, rowPtr, colIdx, values, bias|null, N, In, Out)
Napi::Value LinearSparseForward(const Napi::CallbackInfo& info) {
  View<float> out = f32Arg(info, 0, "out"), inp = f32Arg(info, 1, "inp");
  View<int32_t> rowPtr = i32Arg(info, 2, "rowPtr");
  View<uint16_t> col = arrayArg<uint16_t>(info, 3, "colIdx", napi_uint16_array, "Uint16Array", false);
  View<float> val = f32Arg(info, 4, "values");
  View<float> bias = f32Arg(info, 5, "bias", true);
  const int64_t N = dimArg(info, 6, "N"), In = dimArg(info, 7, "In"), Out = dimArg(info, 8, "Out");
  need(info, out, mul(info, N, Out), "linearSparseForward out");
  need(info, inp, mul(info, N, In), "linearSparseForward inp");
  need(info, rowPtr, Out + 1, "linearSparseForward rowPtr");
  if (bias.p) need(info, bias, Out, "linearSparseForward bias");
  // the CSR structure is checked before any index is used
  if (rowPtr.p[0] != 0) throw rangeError(info, "linearSparseForward: rowPtr[0] must be 0");
  for (int64_t o = 0; o < Out; o++)
    if (rowPtr.p[o + 1] < rowPtr.p[o])
      throw rangeError(info, "linearSparseForward: rowPtr decreases at row " + std::to_string(o));
  const int64_t nnz = rowPtr.p[Out];
  need(info, col, nnz, "linearSparseForward colIdx");
  need(info, val, nnz, "linearSparseForward values");
  uint16_t mx = 0;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < nnz; j++) mx = col.p[j] > mx ? col.p[j] : mx;
  if (nnz > 0 && mx >= In)
    throw rangeError(info, "linearSparseForward: column index " + std::to_string(mx) + " >= In " + std::to_string(In));
  if (N == 0 || Out == 0) return info.Env().Undefined();
  CsrArgs a{out.p, inp.p, rowPtr.p, col.p, val.p, bias.p, N, In, Out};
  if (N < kBatchRows) csrGather(a);
  else csrBatch(a);
  return info.Env().Undefined();
}

}  // namespace

void registerLinearSparse(Napi::Env env, Napi::Object exports) {
  exports.Set("linearSparseForward", Napi::Function::New(env, LinearSparseForward, "linearSparseForward"));
}

}  // namespace tlc
