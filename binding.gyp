{
  # aelab's native kernels for the tfjs wasm backend (see native/ and
  # src/lib/kernels/native.ts). Built by `node native/build.js` at install time; optional:
  # without it aelab runs the plain wasm kernels.
  'targets': [
    {
      # The AVX2/FMA kernels, in their own library so that only they are compiled for
      # AVX2: the binding checks the CPU before it ever calls them.
      'target_name': 'aelab_kernels',
      'type': 'static_library',
      'sources': ['native/kernels_avx2.cc'],
      'cflags': ['-fPIC'],
      'cflags_cc!': ['-std=gnu++17'],
      'cflags_cc': ['-std=gnu++20', '-O3', '-mavx2', '-mfma', '-ffp-contract=off'],
    },
    {
      'target_name': 'aelab_native',
      'sources': ['native/aelab_native.cc', 'native/pool.cc'],
      'dependencies': ['aelab_kernels'],
      'cflags_cc!': ['-std=gnu++17'],
      'cflags_cc': ['-std=gnu++20', '-O2'],
      'ldflags': ['-pthread'],
      'defines': ['NAPI_VERSION=8'],
    },
  ],
}
