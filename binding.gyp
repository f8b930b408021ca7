# Build recipe for the native backend addon (build/Release/tlc_native.node): oneDNN GEMM plus
# fused OpenMP kernels. Built for this machine's CPU (-march=native); rebuilt by scripts/bootstrap.sh.
{
  "targets": [
    {
      "target_name": "tlc_native",
      "sources": [
        "src/native/addon.cc",
        "src/native/matmul.cc",
        "src/native/elementwise.cc",
        "src/native/rows.cc",
        "src/native/attention.cc",
        "src/native/loss.cc",
        "src/native/probe.cc",
        "src/native/linear.cc",
        "src/native/linear_int8.cc",
        "src/native/linear_kbit.cc",
        "src/native/linear_kbit_lanes.cc",
        "src/native/linear_sparse.cc",
        "src/native/decode.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags": ["-O3", "-march=native", "-fopenmp"],
      # value-safe (no -ffast-math): these only let clamps, sqrt and compares vectorize
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fexceptions",
                    "-fno-trapping-math", "-fno-math-errno"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
