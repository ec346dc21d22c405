// aelab native kernels: the interface between the N-API binding (aelab_native.cc, built
// for the baseline x86-64 ISA) and the AVX2/FMA kernels (kernels_avx2.cc, built with
// -mavx2 -mfma and only ever called after the binding has checked the CPU supports them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace aelab {

// ---- thread pool (pool.cc) --------------------------------------------------------------

// One chunk of a task; chunks are independent and may run on any thread, in any order.
using ChunkFn = void (*)(void* ctx, int64_t chunk);

// Threads the pool runs tasks on, the calling thread included (>= 1).
int pool_threads();
// Sets the number of threads (1 = everything on the calling thread). Call between tasks.
void pool_set_threads(int n);
// Runs fn(ctx, i) for every i in [0, chunks) on the pool's threads, the caller included,
// and returns when all are done. Runs everything on the caller when another JS thread is
// using the pool at the same moment.
void pool_run(ChunkFn fn, void* ctx, int64_t chunks);

// ---- kernels (kernels_avx2.cc) -----------------------------------------------------------

enum Activation : int { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kSigmoid = 4, kElu = 5 };

// C[b] = act(op(A[b]) x op(B[b]) + bias) for b in [0, batch), row-major, float32.
// op(A) is M x K: A[i*lda + p], or A[p*lda + i] when transA. op(B) is K x N: B[p*ldb + j],
// or B[j*ldb + p] when transB. Batch strides in elements (0 broadcasts an operand).
// bias: nullptr, one value (biasLen 1) or one per column (biasLen N).
struct Gemm {
  int64_t batch, M, N, K;
  const float* A; int64_t strideA, lda; bool transA;
  const float* B; int64_t strideB, ldb; bool transB;
  float* C; int64_t strideC, ldc;
  const float* bias; int64_t biasLen;
  int act; float alpha;  // alpha: leaky-relu slope
};
void sgemm(const Gemm& g);

enum Unary : int { kUnarySigmoid = 0, kUnarySoftplus = 1, kUnaryRelu = 2, kUnaryExp = 3 };
// y[i] = op(x[i]), i < n (x and y may be the same array).
void unary(int op, const float* x, float* y, int64_t n);

// Element-wise ops on float32, in parallel chunks:
// binary: out[i] = a[i] op b[i % bLen] (b repeats every bLen values: the same shape, a scalar,
// or a bias along the last axes); out may alias a.
enum Binary : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kSquaredDiff = 4 };
void binary(int op, const float* a, const float* b, float* out, int64_t n, int64_t bLen);
// step: out[i] = x > 0 ? 1 : alpha (NaN stays NaN, as tfjs's step); relu: max(x, 0) with NaN kept.
void step(const float* x, float* out, int64_t n, float alpha);
void relu(const float* x, float* out, int64_t n);
// leaky_relu: out[i] = x < 0 ? alpha * x : x (tfjs's LeakyRelu; NaN kept).
void leaky_relu(const float* x, float* out, int64_t n, float alpha);

// Binary cross-entropy from logits l and targets t, element-wise (PyTorch's
// BCEWithLogits, as tfjs computes it: max(l, 0) - l*t + softplus(-|l|)) when dy is null;
// with dy, its gradient with respect to l: dy * (sigmoid(l) - t).
void bce_logits(const float* l, const float* t, const float* dy, float* out, int64_t n);

// y[o * inner + i] = scale * sum over r of x[(o * reduce + r) * inner + i] (a sum over the
// middle axis of an [outer, reduce, inner] array; scale 1 / reduce gives the mean).
void reduce_sum(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, float scale);

// Copies a rank-r block of 4-byte values: dst[sum i_k * dstStrides[k]] =
// src[sum i_k * srcStrides[k]] for every index i < dims (strides in elements, rank <= 8).
// With fillCount > 0, first sets dst[0, fillCount) to fillBits (a padded output); rank -1
// only fills.
void copy_block(const uint32_t* src, uint32_t* dst, int rank, const int64_t* dims, const int64_t* srcStrides,
                const int64_t* dstStrides, int64_t fillCount, uint32_t fillBits);

// Pads a rank-r block of 4-byte values (rank <= 8): dst, of dims[k] + before[k] + after[k]
// per axis, gets src (dims, row-major) at offset `before` and fillBits everywhere else, each
// value written once. Parallel over the first axis.
void pad_block(const uint32_t* src, uint32_t* dst, int rank, const int64_t* dims, const int64_t* before, const int64_t* after, uint32_t fillBits);

// col2im of a transposed convolution's patches (NHWC, no dilation): cols is
// [batch*outH*outW, fh*fw*ic] (row (n, oh, ow), column (i, j, c)); dx [batch, inH, inW, ic]
// is set to the sum, for every row and tap, of that column block at input position
// (oh*sh - top + i, ow*sw - left + j) (taps in the padding skipped). Parallel over dx rows,
// each written by one thread.
struct Col2Im {
  int64_t batch, inH, inW, ic, outH, outW, fh, fw, sh, sw, top, left;
};
void col2im(const float* cols, float* dx, const Col2Im& p);

// A convolution's geometry (NHWC, no dilation): x [batch, inH, inW, ic], filter
// [fh, fw, ic, oc], y [batch, outH, outW, oc], output pixel (oh, ow) reading input
// (oh*sh - top + i, ow*sw - left + j) for tap (i, j).
struct Conv {
  int64_t batch, inH, inW, ic, outH, outW, oc, fh, fw, sh, sw, top, left;
};
// Direct convolutions, without an im2col copy: register tiles whose rows read the input
// where it lies. Forward and filter gradient need every tap inside x (top = left = 0,
// (outH-1)*sh + fh <= inH, (outW-1)*sw + fw <= inW, fh <= 64); the input gradient takes
// any padding (taps outside dx skipped) with fh*fw <= 64. One output channel (oc = 1) has its
// own forward and filter-gradient kernels: dot products along the filter rows.
// y = act(conv(x, w) + bias) (bias: nullptr, one value, or oc values).
void conv2d_forward(const float* x, const float* w, float* y, const Conv& p, const float* bias, int64_t biasLen, int act, float alpha);
// dw[i, j, c, o] = sum over (b, oh, ow) of x[b, oh*sh + i, ow*sw + j, c] * dy[b, oh, ow, o].
void conv2d_filter_grad(const float* x, const float* dy, float* dw, const Conv& p);
// dx[b, ih, iw, c] = sum over taps and o of dy[b, oh, ow, o] * w[i, j, c, o] where
// ih = oh*sh - top + i and iw = ow*sw - left + j (the transposed convolution).
void conv2d_input_grad(const float* dy, const float* w, float* dx, const Conv& p);

// Max pooling's input gradient (NHWC, no dilation): x [batch, inH, inW, c], y (the pooled
// output) and dy [batch, outH, outW, c]. dx [batch, inH, inW, c] is set to zero, then for each
// output (b, oy, ox, ch) in row-major order dy is added to dx at the first tap (rows i, then
// columns j, of the window at (oy*sh - top, ox*sw - left), clipped to the input) whose x
// equals y (none when y is NaN): the cpu backend's rule, and the same float32 sums in the same
// order. Parallel over whole batch items (each dx item written by one thread).
struct MaxPoolGrad {
  int64_t batch, inH, inW, c, outH, outW, fh, fw, sh, sw, top, left;
};
void max_pool_grad(const float* x, const float* y, const float* dy, float* dx, const MaxPoolGrad& p);

// One Adam step on n values, tfjs's update rule in float32:
//   m' = m*b1 + g*omb1;  v' = v*b2 + g*g*omb2;
//   p' = p + ((m'/oma1) / (sqrt(v'/oma2) + eps)) * (-lr)
// Reads p, m, v, g; writes pOut, mOut, vOut (which may alias p, m, v).
struct AdamArgs {
  const float* p; const float* m; const float* v; const float* g;
  float* pOut; float* mOut; float* vOut; int64_t n;
  float b1, b2, omb1, omb2, oma1, oma2, eps, lr;
};
void adam(const AdamArgs& a);

// Batch normalisation over the rows of x [rows, C] (channels innermost), biased variance:
//   mode 0 (training): meanOut, varOut = the batch's statistics; out = (x - mean) * gamma /
//     sqrt(var + eps) + beta;
//   mode 1 (inference): the same with the given mean and var;
//   mode 2 (gradient of mode 0, through the statistics): out = dx, dgamma, dbeta from dy, with
//     the given mean and var (mode 0's).
// gamma and beta may be null (1 and 0). Parallel over row chunks.
struct BatchNormArgs {
  int mode;
  int64_t rows, C;
  double eps;
  const float* x; const float* dy; const float* mean; const float* var; const float* gamma; const float* beta;
  float* out; float* meanOut; float* varOut; float* dgamma; float* dbeta;
};
void batch_norm(const BatchNormArgs& a);

}  // namespace aelab
