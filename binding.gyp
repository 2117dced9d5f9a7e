{
  "targets": [
    {
      "target_name": "mmbalance",
      "sources": ["native/addon.cc", "native/common.cc", "native/core.cc", "native/math.cc", "native/nn.cc", "native/random.cc", "native/adam.cc", "native/dist.cc", "native/kernels.cc", "native/passes.cc", "native/profiler.cc", "native/bmm.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs --include-dirs)"
      ],
      "defines": ["NAPI_EXPERIMENTAL", "NAPI_DISABLE_CPP_EXCEPTIONS", "<!@(node scripts/libtorch.mjs --defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++14", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O3", "-fno-math-errno", "-ffp-contract=off", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(node scripts/libtorch.mjs --libs)"],
      "ldflags": ["<!@(node scripts/libtorch.mjs --ldflags)"]
    }
  ]
}
