// Softmax cross-entropy with ignore index and label smoothing, fused with its gradient. Rows run in
// parallel; the returned sum adds row losses in row order, so it does not depend on the thread count.
#include <cmath>
#include <vector>

#include "common.h"

namespace tlc {
namespace {

struct CeArgs {
  const float* logits;
  const int32_t* targets;
  int64_t N, V;
  double ignoreIndex, eps, gradScale;
  float* dlogits;  // may alias logits: each element is read before it is written
};

// Loss of one counted row: logsumexp - (1-eps) x_y - eps/V sum_v x_v; optionally its gradient row
// gradScale * (softmax - target). Sums in double. With a gradient, exp(x - max) is computed once and
// parked in the gradient row (each x[v] is read before d[v] is written, so d may alias x).
double rowLoss(const CeArgs& a, int64_t n) {
  const int64_t V = a.V;
  const float* x = a.logits + n * V;
  const int32_t y = a.targets[n];
  float mx = x[0];
#pragma omp simd reduction(max : mx)
  for (int64_t v = 1; v < V; v++) mx = x[v] > mx ? x[v] : mx;
  const float xy = x[y];
  double se = 0, sx = 0;
  float* d = a.dlogits ? a.dlogits + n * V : nullptr;
  if (d) {
#pragma omp simd reduction(+ : se, sx)
    for (int64_t v = 0; v < V; v++) {
      float xv = x[v];
      float e = fastExp(xv - mx);
      sx += xv;
      d[v] = e;
      se += e;
    }
  } else {
#pragma omp simd reduction(+ : se, sx)
    for (int64_t v = 0; v < V; v++) {
      se += fastExp(x[v] - mx);
      sx += x[v];
    }
  }
  double loss = mx + std::log(se) - (1.0 - a.eps) * xy;
  if (a.eps > 0) loss -= a.eps / static_cast<double>(V) * sx;
  if (d) {
    float inv = static_cast<float>(1.0 / se), gs = static_cast<float>(a.gradScale);
    float off = static_cast<float>(a.gradScale * a.eps / static_cast<double>(V));
    float hit = static_cast<float>(a.gradScale * (1.0 - a.eps));
#pragma omp simd
    for (int64_t v = 0; v < V; v++) d[v] = gs * (d[v] * inv) - off;
    d[y] -= hit;
  }
  return loss;
}

// crossEntropy(logits, targets, N, V, ignoreIndex, labelSmoothing, dlogits|null, gradScale, losses|null)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  View<float> logits = f32Arg(info, 0, "logits");
  View<int32_t> targets = i32Arg(info, 1, "targets");
  int64_t N = dimArg(info, 2, "N"), V = dimArg(info, 3, "V");
  double ignoreIndex = numArg(info, 4, "ignoreIndex"), eps = numArg(info, 5, "labelSmoothing");
  View<float> dlogits = f32Arg(info, 6, "dlogits", true);
  double gradScale = numArg(info, 7, "gradScale");
  View<float> losses = f32Arg(info, 8, "losses", true);
  int64_t NV = mul(info, N, V);
  need(info, logits, NV, "crossEntropy logits");
  need(info, targets, N, "crossEntropy targets");
  if (dlogits.p) need(info, dlogits, NV, "crossEntropy dlogits");
  if (losses.p) need(info, losses, N, "crossEntropy losses");
  if (!(eps >= 0 && eps < 1)) throw rangeError(info, "labelSmoothing must be in [0, 1), got " + std::to_string(eps));
  if (V == 0 && N > 0) throw rangeError(info, "crossEntropy: V must be positive");
  int64_t count = 0;
  for (int64_t n = 0; n < N; n++) {
    int32_t y = targets.p[n];
    if (static_cast<double>(y) == ignoreIndex) continue;
    if (y < 0 || y >= V) {
      throw rangeError(info, "crossEntropy: target " + std::to_string(y) + " at row " + std::to_string(n) +
                                 " is outside [0, " + std::to_string(V) + ") and is not ignoreIndex");
    }
    count++;
  }
  CeArgs a{logits.p, targets.p, N, V, ignoreIndex, eps, gradScale, dlogits.p};
  std::vector<double> row(static_cast<size_t>(N), 0.0);
#pragma omp parallel for if (NV > kParMin / 4) schedule(static)
  for (int64_t n = 0; n < N; n++) {
    if (static_cast<double>(a.targets[n]) == a.ignoreIndex) {
      if (a.dlogits) std::memset(a.dlogits + n * V, 0, static_cast<size_t>(V) * sizeof(float));
      continue;
    }
    row[n] = rowLoss(a, n);
  }
  double sum = 0;
  for (int64_t n = 0; n < N; n++) {
    sum += row[n];
    if (losses.p) losses.p[n] = static_cast<float>(row[n]);
  }
  Napi::Object res = Napi::Object::New(info.Env());
  res.Set("sum", Napi::Number::New(info.Env(), sum));
  res.Set("count", Napi::Number::New(info.Env(), static_cast<double>(count)));
  return res;
}

}  // namespace

void registerLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy, "crossEntropy"));
}

}  // namespace tlc
