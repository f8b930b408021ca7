// Entry point of the tlc_native addon: registers every kernel file's functions plus thread control
// and the alignment probe the TS loader uses. Holds no model state; JS owns every buffer.
#include "common.h"

namespace tlc {
namespace {

// Bumped whenever a function's argument list changes, so a stale build is caught by the loader.
constexpr int kApiVersion = 6;

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int64_t n = dimArg(info, 0, "n");
  if (n < 1 || n > 4096) throw rangeError(info, "setThreads: expected 1..4096 threads, got " + std::to_string(n));
  if (n != omp_get_max_threads()) {
    omp_set_num_threads(static_cast<int>(n));
    clearMatmulCache();
    clearInt8Cache();
  }
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

// Byte address of a typed array's first element modulo 64 (for aligned allocation from JS).
Napi::Value AddressMod64(const Napi::CallbackInfo& info) {
  View<uint8_t> v = u8Arg(info, 0, "bytes");
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(v.p) % 64));
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("apiVersion", Napi::Number::New(env, kApiVersion));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("addressMod64", Napi::Function::New(env, AddressMod64, "addressMod64"));
  registerMatmul(env, exports);
  registerElementwise(env, exports);
  registerRows(env, exports);
  registerAttention(env, exports);
  registerLoss(env, exports);
  registerProbe(env, exports);
  registerLinear(env, exports);
  registerLinearInt8(env, exports);
  registerLinearKbit(env, exports);
  registerLinearSparse(env, exports);
  registerDecode(env, exports);
  return exports;
}

}  // namespace tlc

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tlc::init(env, exports); }

NODE_API_MODULE(tlc_native, InitModule)
