// The addon's sgemm alone, on the training and encoding shapes of seed 001's AE, with one
// thread and then with two: GFLOP/s (median of 41 calls each) and the two-thread
// speed-up. For tuning the micro-kernel and the chunking without tfjs around it.
//
//   g++ -std=gnu++20 -O3 -mavx2 -mfma -ffp-contract=off -Inative native/kernels_avx2.cc \
//       native/pool.cc bench/sgemm.cc -o /tmp/aelab-sgemm -pthread && /tmp/aelab-sgemm
//
// On a two-core AMD EPYC (Zen 1), quiet: 35-40 GFLOP/s on one thread for the large shapes
// (the clock varies between runs), about 72 on two for the 1000-row encoding product (also
// with its A out of cache), 64-66 for the 128-row training products, 69-70 for the weight
// gradient; 50-54 on two for the 1000 x 400 x 20 product (its A rows read unpacked; the last
// tile, 4 columns, runs the half-width kernel: 20 of 24 lanes busy instead of 20 of 32, where
// it ran at 41-50).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "kernels.h"

using namespace aelab;

namespace {

// cold: each call reads its A from the next of 10 copies (31 MB for the encode shape), out of
// cache as the encode loop's batches are; otherwise every call reads the same A.
double gflops(int M, int N, int K, bool transA, bool transB, int threads, bool cold = false) {
  pool_set_threads(threads);
  const int copies = cold ? 10 : 1;
  std::vector<float> A(size_t(M) * K * copies), B(size_t(K) * N), C(size_t(M) * N), bias(N, 0.1f);
  for (size_t i = 0; i < A.size(); i++) A[i] = float(i % 997) / 997.0f;
  for (size_t i = 0; i < B.size(); i++) B[i] = float(i % 991) / 991.0f - 0.5f;
  Gemm g{1, M, N, K, A.data(), 0, transA ? M : K, transA, B.data(), 0, transB ? K : N, transB, C.data(), 0, N, bias.data(), N, 1, 0.0f};
  for (int i = 0; i < 3; i++) sgemm(g);
  std::vector<double> ts;
  for (int r = 0; r < 41; r++) {
    g.A = A.data() + size_t(r % copies) * M * K;
    const auto t0 = std::chrono::steady_clock::now();
    sgemm(g);
    ts.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ts.begin(), ts.end());
  return 2.0 * M * N * K / ts[ts.size() / 2] / 1e9;
}

}  // namespace

int main() {
  struct Shape { int M, N, K; bool transA, transB; const char* what; };
  const Shape shapes[] = {
      {1000, 400, 784, false, false, "encode: 1000x784 . 784x400"},
      {128, 400, 784, false, false, "forward: 128x784 . 784x400"},
      {128, 784, 400, false, true, "dX: 128x400 . (784x400)^T"},
      {784, 400, 128, true, false, "dW: (128x784)^T . 128x400"},
      {1000, 20, 400, false, false, "encode: 1000x400 . 400x20"},
      {128, 20, 400, false, false, "forward: 128x400 . 400x20"},
  };
  std::printf("%-30s %12s %12s %9s\n", "product", "1 thread", "2 threads", "speed-up");
  for (const Shape& s : shapes) {
    const double one = gflops(s.M, s.N, s.K, s.transA, s.transB, 1), two = gflops(s.M, s.N, s.K, s.transA, s.transB, 2);
    std::printf("%-30s %7.1f GF/s %7.1f GF/s %8.2fx\n", s.what, one, two, two / one);
  }
  const double one = gflops(1000, 400, 784, false, false, 1, true), two = gflops(1000, 400, 784, false, false, 2, true);
  std::printf("%-30s %7.1f GF/s %7.1f GF/s %8.2fx\n", "encode, A out of cache", one, two, two / one);
}
