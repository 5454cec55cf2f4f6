{
  # The native backend. Compiled for the baseline of the target architecture; the AVX2 and
  # AVX-512 kernels (f32 matmul, 16-bit-weight linear) live in their own static libraries
  # compiled with their own flags, and native/cpu_features.cc picks a level at run time.
  # On other architectures those files compile to nothing and the portable kernels run.
  # native/quant.cc needs no flags: its SIMD functions carry their own target attributes.
  # -fno-math-errno and -fno-trapping-math (no kernel reads errno or traps on FP exceptions) let
  # the compiler vectorize loops that call sqrt and friends.
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++14"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno", "-fno-trapping-math"],
    "cflags": ["-O3"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3"]
    },
    "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
  },
  "targets": [
    {
      "target_name": "tsgpt_gemm_avx512",
      "type": "static_library",
      "sources": ["native/gemm_avx512.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", {
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2", "-mprefer-vector-width=512"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2"] }
        }],
        ["target_arch=='x64' and OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/arch:AVX512"] } }
        }]
      ]
    },
    {
      "target_name": "tsgpt_gemm_avx2",
      "type": "static_library",
      "sources": ["native/gemm_avx2.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", {
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-mavx2", "-mfma"] }
        }],
        ["target_arch=='x64' and OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/arch:AVX2"] } }
        }]
      ]
    },
    {
      "target_name": "tsgpt_half_avx512",
      "type": "static_library",
      "sources": ["native/half_avx512.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", {
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2", "-mf16c"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-mavx2", "-mf16c"] }
        }],
        ["target_arch=='x64' and OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/arch:AVX512"] } }
        }]
      ]
    },
    {
      "target_name": "tsgpt_half_avx2",
      "type": "static_library",
      "sources": ["native/half_avx2.cc"],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", {
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-mavx2", "-mfma", "-mf16c"] }
        }],
        ["target_arch=='x64' and OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/arch:AVX2"] } }
        }]
      ]
    },
    {
      "target_name": "tsgpt_native",
      "sources": [
        "native/addon.cc",
        "native/thread_pool.cc",
        "native/cpu_features.cc",
        "native/gemm.cc",
        "native/gemm_generic.cc",
        "native/elementwise.cc",
        "native/reduce.cc",
        "native/rowwise.cc",
        "native/embedding.cc",
        "native/half.cc",
        "native/quant.cc",
        "native/attention.cc",
        "native/causal_attention.cc",
        "native/vec_math.cc",
        "native/activations.cc",
        "native/adamw.cc",
        "native/malloc_tuning.cc"
      ],
      "dependencies": ["tsgpt_gemm_avx512", "tsgpt_gemm_avx2", "tsgpt_half_avx512", "tsgpt_half_avx2"],
      # No contraction of a·b + c into an FMA: adamw.cc's SIMD bodies must round like its scalar loop.
      "cflags_cc": ["-ffp-contract=off"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread"] }]
      ]
    }
  ]
}
