// The addon's sgemm alone, on the training and encoding shapes of seed 001's AE, with one
// thread and then with two: GFLOP/s (median of 41 calls each) and the two-thread
// speed-up. For tuning the micro-kernel and the chunking without tfjs around it.
//
//   g++ -std=gnu++20 -O3 -mavx2 -mfma -ffp-contract=off -Inative native/kernels_avx2.cc \
//       native/pool.cc bench/sgemm.cc -o /tmp/aelab-sgemm -pthread && /tmp/aelab-sgemm
//
// On a two-core AMD EPYC (Zen 1), quiet: about 37-41 GFLOP/s on one thread for every shape,
// 70-72 on two for the 1000-row encoding product but only 55-57 for the 128-row training ones
// (speed-up 1.4-1.5x): the chunking of small-M products is the next thing to look at.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "kernels.h"

using namespace aelab;

namespace {

double gflops(int M, int N, int K, bool transA, bool transB, int threads) {
  pool_set_threads(threads);
  std::vector<float> A(size_t(M) * K), B(size_t(K) * N), C(size_t(M) * N), bias(N, 0.1f);
  for (size_t i = 0; i < A.size(); i++) A[i] = float(i % 997) / 997.0f;
  for (size_t i = 0; i < B.size(); i++) B[i] = float(i % 991) / 991.0f - 0.5f;
  const Gemm g{1, M, N, K, A.data(), 0, transA ? M : K, transA, B.data(), 0, transB ? K : N, transB, C.data(), 0, N, bias.data(), N, 1, 0.0f};
  for (int i = 0; i < 3; i++) sgemm(g);
  std::vector<double> ts;
  for (int r = 0; r < 41; r++) {
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
  };
  std::printf("%-30s %12s %12s %9s\n", "product", "1 thread", "2 threads", "speed-up");
  for (const Shape& s : shapes) {
    const double one = gflops(s.M, s.N, s.K, s.transA, s.transB, 1), two = gflops(s.M, s.N, s.K, s.transA, s.transB, 2);
    std::printf("%-30s %7.1f GF/s %7.1f GF/s %8.2fx\n", s.what, one, two, two / one);
  }
}
