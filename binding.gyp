{
  "targets": [
    {
      "target_name": "seqfair_cpu",
      "sources": [
        "native/addon.cc",
        "native/bind_core.cc",
        "native/bind_fused.cc",
        "native/cpu/parallel.cc",
        "native/cpu/memory_policy.cc",
        "native/cpu/simd.cc",
        "native/cpu/gemm.cc",
        "native/cpu/rowwise.cc",
        "native/cpu/binary.cc",
        "native/cpu/random.cc",
        "native/cpu/embedding.cc",
        "native/cpu/adam.cc",
        "native/cpu/attention.cc",
        "native/cpu/gru.cc",
        "native/cpu/cross_entropy.cc",
        "native/cpu/neighbours.cc",
        "native/cpu/narm_attention.cc",
        "native/cpu/dirichlet.cc"
      ],
      "include_dirs": [
        "<!@(node -p \"require('node-addon-api').include\")",
        "native/include",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions"],
      "ldflags": ["-pthread"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"] }
    }
  ]
}
