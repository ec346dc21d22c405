// N-API binding of aelab's native kernels (plain C N-API, no dependency). The kernels work
// in place on the memory of tfjs's wasm backend: every call takes that WebAssembly.Memory's
// ArrayBuffer and byte offsets into it, checks that every operand lies inside it, and runs
// synchronously (on the pool's threads) before returning.
//
// This file is built for the baseline x86-64 ISA; the kernels it calls are built with AVX2
// and FMA and are only reached when the CPU reports both (info().avx2 / info().fma; the JS
// side registers nothing otherwise, and the calls throw).
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels.h"

namespace {

bool cpu_ok() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return ok;
#else
  return false;
#endif
}

struct Args {
  napi_env env;
  napi_value argv[24];
  size_t argc = 24;
  const char* fn;
  bool failed = false;
  uint8_t* heap = nullptr;
  size_t heapBytes = 0;

  Args(napi_env e, napi_callback_info info, const char* name, size_t want) : env(e), fn(name) {
    if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < want) {
      fail("wrong number of arguments");
    }
  }

  void fail(const std::string& message) {
    if (failed) return;
    failed = true;
    napi_throw_error(env, "AELAB_NATIVE", (std::string("aelab native ") + fn + ": " + message).c_str());
  }

  void loadHeap(size_t i) {
    if (failed) return;
    bool isAb = false;
    napi_is_arraybuffer(env, argv[i], &isAb);
    void* data = nullptr;
    if (!isAb || napi_get_arraybuffer_info(env, argv[i], &data, &heapBytes) != napi_ok || data == nullptr) {
      return fail("argument 0 must be the wasm heap's ArrayBuffer");
    }
    heap = static_cast<uint8_t*>(data);
  }

  double num(size_t i) {
    double v = 0;
    if (failed) return 0;
    if (napi_get_value_double(env, argv[i], &v) != napi_ok || !std::isfinite(v)) fail("argument " + std::to_string(i) + " must be a finite number");
    return v;
  }

  int64_t integer(size_t i, int64_t lo = 0) {
    double v = num(i);
    if (failed) return 0;
    if (v != std::floor(v) || v < static_cast<double>(lo) || v > 9.0e15) fail("argument " + std::to_string(i) + " must be an integer >= " + std::to_string(lo));
    return static_cast<int64_t>(v);
  }

  // A float32 array at byte offset `off` whose highest element index is `extent` - 1.
  float* floats(int64_t off, int64_t extent, const char* what) {
    if (failed) return nullptr;
    if (off % 4 != 0) return fail(std::string(what) + " is not 4-byte aligned"), nullptr;
    if (extent < 0 || static_cast<uint64_t>(off) + static_cast<uint64_t>(extent) * 4 > heapBytes) {
      return fail(std::string(what) + " lies outside the wasm heap"), nullptr;
    }
    return reinterpret_cast<float*>(heap + off);
  }
};

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// Highest element index + 1 of a row-major rows x cols matrix with leading dimension ld,
// repeated `batch` times `stride` elements apart.
int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0 || batch == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

// sgemm(heap, batch, M, N, K, aOff, strideA, lda, transA, bOff, strideB, ldb, transB,
//       cOff, strideC, ldc, biasOff (-1: none), biasLen, activation, alpha)
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info, "sgemm", 20);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  aelab::Gemm g{};
  g.batch = a.integer(1);
  g.M = a.integer(2);
  g.N = a.integer(3);
  g.K = a.integer(4);
  const int64_t aOff = a.integer(5);
  g.strideA = a.integer(6);
  g.lda = a.integer(7, 1);
  g.transA = a.integer(8) != 0;
  const int64_t bOff = a.integer(9);
  g.strideB = a.integer(10);
  g.ldb = a.integer(11, 1);
  g.transB = a.integer(12) != 0;
  const int64_t cOff = a.integer(13);
  g.strideC = a.integer(14);
  g.ldc = a.integer(15, 1);
  const int64_t biasOff = a.integer(16, -1);
  g.biasLen = a.integer(17);
  g.act = static_cast<int>(a.integer(18));
  g.alpha = static_cast<float>(a.num(19));
  if (a.failed) return nullptr;
  if (g.act < aelab::kLinear || g.act > aelab::kElu) return a.fail("unknown activation"), nullptr;
  if (g.K > 0 && (g.transA ? g.lda < g.M : g.lda < g.K)) return a.fail("lda too small"), nullptr;
  if (g.K > 0 && (g.transB ? g.ldb < g.K : g.ldb < g.N)) return a.fail("ldb too small"), nullptr;
  if (g.ldc < g.N) return a.fail("ldc too small"), nullptr;
  if (g.batch > 1 && g.strideC < g.M * g.ldc) return a.fail("output items overlap"), nullptr;
  g.A = a.floats(aOff, g.K == 0 ? 0 : g.transA ? extent(g.batch, g.strideA, g.K, g.M, g.lda) : extent(g.batch, g.strideA, g.M, g.K, g.lda), "a");
  g.B = a.floats(bOff, g.K == 0 ? 0 : g.transB ? extent(g.batch, g.strideB, g.N, g.K, g.ldb) : extent(g.batch, g.strideB, g.K, g.N, g.ldb), "b");
  g.C = a.floats(cOff, extent(g.batch, g.strideC, g.M, g.N, g.ldc), "out");
  if (biasOff >= 0) {
    if (g.biasLen != 1 && g.biasLen != g.N) return a.fail("bias must have 1 or N values"), nullptr;
    g.bias = a.floats(biasOff, g.biasLen, "bias");
  }
  if (a.failed) return nullptr;
  aelab::sgemm(g);
  return undefined(env);
}

// unary(heap, op, xOff, yOff, n)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info, "unary", 5);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int op = static_cast<int>(a.integer(1));
  const int64_t xOff = a.integer(2), yOff = a.integer(3), n = a.integer(4);
  if (!a.failed && (op < aelab::kUnarySigmoid || op > aelab::kUnaryExp)) a.fail("unknown op");
  const float* x = a.floats(xOff, n, "x");
  float* y = a.floats(yOff, n, "y");
  if (a.failed) return nullptr;
  aelab::unary(op, x, y, n);
  return undefined(env);
}

// bceLogits(heap, lOff, tOff, dyOff (-1: the loss itself), outOff, n)
napi_value BceLogits(napi_env env, napi_callback_info info) {
  Args a(env, info, "bceLogits", 6);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t lOff = a.integer(1), tOff = a.integer(2), dyOff = a.integer(3, -1), outOff = a.integer(4), n = a.integer(5);
  const float* l = a.floats(lOff, n, "logits");
  const float* t = a.floats(tOff, n, "target");
  const float* dy = dyOff >= 0 ? a.floats(dyOff, n, "dy") : nullptr;
  float* out = a.floats(outOff, n, "out");
  if (a.failed) return nullptr;
  aelab::bce_logits(l, t, dy, out, n);
  return undefined(env);
}

// copyBlock(heap, srcOff, srcSize, srcStart, dstOff, dstSize, dstStart, dims[], srcStrides[],
//           dstStrides[], fillCount, fillValue): tensors of 4-byte values, sizes and starts in
//           elements; fillValue a float whose bits fill dst[0, fillCount) first
napi_value CopyBlock(napi_env env, napi_callback_info info) {
  Args a(env, info, "copyBlock", 12);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t srcOff = a.integer(1), srcSize = a.integer(2), srcStart = a.integer(3);
  const int64_t dstOff = a.integer(4), dstSize = a.integer(5), dstStart = a.integer(6);
  int64_t dims[8], ss[8], ds[8];
  uint32_t rank = 0;
  for (int which = 0; which < 3 && !a.failed; which++) {
    napi_value arr = a.argv[7 + which];
    bool isArray = false;
    napi_is_array(env, arr, &isArray);
    uint32_t len = 0;
    if (isArray) napi_get_array_length(env, arr, &len);
    if (!isArray || len > 8 || (which > 0 && len != rank)) return a.fail("dims and strides must be arrays of the same length <= 8"), nullptr;
    rank = len;
    for (uint32_t k = 0; k < len; k++) {
      napi_value e;
      double v = 0;
      napi_get_element(env, arr, k, &e);
      if (napi_get_value_double(env, e, &v) != napi_ok || v != std::floor(v) || v < 0 || v > 9.0e15) return a.fail("dims and strides must be integers >= 0"), nullptr;
      (which == 0 ? dims : which == 1 ? ss : ds)[k] = static_cast<int64_t>(v);
    }
  }
  const int64_t fillCount = a.integer(10);
  const float fillValue = static_cast<float>(a.num(11));
  if (a.failed) return nullptr;
  // Extents: one past the last element each side touches.
  int64_t srcExtent = 1, dstExtent = 1;
  for (uint32_t k = 0; k < rank; k++) {
    if (dims[k] == 0) srcExtent = dstExtent = -(int64_t(1) << 62);
    srcExtent += (dims[k] - 1) * ss[k];
    dstExtent += (dims[k] - 1) * ds[k];
  }
  if (srcStart + srcExtent > srcSize || dstStart + dstExtent > dstSize || fillCount > dstSize) return a.fail("block outside its tensor"), nullptr;
  const uint32_t* src = reinterpret_cast<const uint32_t*>(a.floats(srcOff, srcSize, "src"));
  uint32_t* dst = reinterpret_cast<uint32_t*>(a.floats(dstOff, dstSize, "dst"));
  if (a.failed) return nullptr;
  uint32_t bits;
  std::memcpy(&bits, &fillValue, 4);
  if (fillCount > 0) aelab::copy_block(nullptr, dst, -1, nullptr, nullptr, nullptr, fillCount, bits);
  aelab::copy_block(src + srcStart, dst + dstStart, static_cast<int>(rank), dims, ss, ds, 0, 0);
  return undefined(env);
}

// reduceSum(heap, xOff, yOff, outer, reduce, inner, scale)
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  Args a(env, info, "reduceSum", 7);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t xOff = a.integer(1), yOff = a.integer(2), outer = a.integer(3), reduce = a.integer(4), inner = a.integer(5);
  double scale = 1;
  if (!a.failed) napi_get_value_double(env, a.argv[6], &scale);  // NaN allowed (a mean over nothing)
  const float* x = a.floats(xOff, outer * reduce * inner, "x");
  float* y = a.floats(yOff, outer * inner, "y");
  if (a.failed) return nullptr;
  aelab::reduce_sum(x, y, outer, reduce, inner, static_cast<float>(scale));
  return undefined(env);
}

// adam(heap, pOff, mOff, vOff, gOff, pOutOff, mOutOff, vOutOff, n, b1, b2, omb1, omb2, oma1, oma2, eps, lr)
napi_value Adam(napi_env env, napi_callback_info info) {
  Args a(env, info, "adam", 17);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  int64_t off[7];
  for (int i = 0; i < 7; i++) off[i] = a.integer(1 + i);
  aelab::AdamArgs x{};
  x.n = a.integer(8);
  x.b1 = static_cast<float>(a.num(9));
  x.b2 = static_cast<float>(a.num(10));
  x.omb1 = static_cast<float>(a.num(11));
  x.omb2 = static_cast<float>(a.num(12));
  x.oma1 = static_cast<float>(a.num(13));
  x.oma2 = static_cast<float>(a.num(14));
  x.eps = static_cast<float>(a.num(15));
  x.lr = static_cast<float>(a.num(16));
  x.p = a.floats(off[0], x.n, "p");
  x.m = a.floats(off[1], x.n, "m");
  x.v = a.floats(off[2], x.n, "v");
  x.g = a.floats(off[3], x.n, "g");
  x.pOut = a.floats(off[4], x.n, "pOut");
  x.mOut = a.floats(off[5], x.n, "mOut");
  x.vOut = a.floats(off[6], x.n, "vOut");
  if (a.failed) return nullptr;
  aelab::adam(x);
  return undefined(env);
}

// Reads a 2-D window geometry from arguments first .. first + 11 (batch, inH, inW, channels,
// outH, outW, fh, fw, sh, sw, top, left; fh..sw default to 1) into p, a Col2Im or a
// MaxPoolGrad (their channel field given as Ch). False when an argument is bad or a value
// passes 2^31 (then a has failed).
template <class P, int64_t P::*Ch>
bool read_window(Args& a, int first, P& p) {
  p.batch = a.integer(first);
  p.inH = a.integer(first + 1);
  p.inW = a.integer(first + 2);
  p.*Ch = a.integer(first + 3);
  p.outH = a.integer(first + 4);
  p.outW = a.integer(first + 5);
  p.fh = a.integer(first + 6, 1);
  p.fw = a.integer(first + 7, 1);
  p.sh = a.integer(first + 8, 1);
  p.sw = a.integer(first + 9, 1);
  p.top = a.integer(first + 10);
  p.left = a.integer(first + 11);
  if (a.failed) return false;
  const int64_t big = int64_t(1) << 31;
  if (p.batch > big || p.inH > big || p.inW > big || p.*Ch > big || p.outH > big || p.outW > big || p.fh > big || p.fw > big
      || p.sh > big || p.sw > big || p.top > big || p.left > big) {
    a.fail("dimensions too large");
    return false;
  }
  return true;
}

// col2im(heap, colsOff, dxOff, batch, inH, inW, ic, outH, outW, fh, fw, sh, sw, top, left)
napi_value Col2Im(napi_env env, napi_callback_info info) {
  Args a(env, info, "col2im", 15);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t colsOff = a.integer(1), dxOff = a.integer(2);
  aelab::Col2Im p{};
  if (!read_window<aelab::Col2Im, &aelab::Col2Im::ic>(a, 3, p)) return nullptr;
  const float* cols = a.floats(colsOff, p.batch * p.outH * p.outW * p.fh * p.fw * p.ic, "cols");
  float* dx = a.floats(dxOff, p.batch * p.inH * p.inW * p.ic, "dx");
  if (a.failed) return nullptr;
  aelab::col2im(cols, dx, p);
  return undefined(env);
}

// maxPoolGrad(heap, xOff, yOff, dyOff, dxOff, batch, inH, inW, c, outH, outW, fh, fw, sh, sw,
//             top, left): max pooling's input gradient (NHWC, no dilation); x and dx are
// [batch, inH, inW, c], y (the pooled output) and dy [batch, outH, outW, c].
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, "maxPoolGrad", 17);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t xOff = a.integer(1), yOff = a.integer(2), dyOff = a.integer(3), dxOff = a.integer(4);
  aelab::MaxPoolGrad p{};
  if (!read_window<aelab::MaxPoolGrad, &aelab::MaxPoolGrad::c>(a, 5, p)) return nullptr;
  // Sizes in elements, each checked against the heap below (which is far below 2^40).
  const double xd = static_cast<double>(p.batch) * p.inH * p.inW * p.c, yd = static_cast<double>(p.batch) * p.outH * p.outW * p.c;
  if (xd > 1e12 || yd > 1e12) return a.fail("dimensions too large"), nullptr;
  const int64_t xSize = p.batch * p.inH * p.inW * p.c, ySize = p.batch * p.outH * p.outW * p.c;
  const float* x = a.floats(xOff, xSize, "x");
  const float* y = a.floats(yOff, ySize, "y");
  const float* dy = a.floats(dyOff, ySize, "dy");
  float* dx = a.floats(dxOff, xSize, "dx");
  if (a.failed) return nullptr;
  aelab::max_pool_grad(x, y, dy, dx, p);
  return undefined(env);
}

// conv(heap, mode, aOff, bOff, outOff, batch, inH, inW, ic, outH, outW, oc, fh, fw, sh, sw,
//      top, left, biasOff (-1: none), biasLen, activation, alpha): the direct convolutions.
// mode 0: out = y from a = x, b = w (with bias and activation); 1: out = dw from a = x,
// b = dy; 2: out = dx from a = dy, b = w.
napi_value Conv(napi_env env, napi_callback_info info) {
  Args a(env, info, "conv", 22);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t mode = a.integer(1);
  const int64_t aOff = a.integer(2), bOff = a.integer(3), outOff = a.integer(4);
  aelab::Conv p{};
  p.batch = a.integer(5);
  p.inH = a.integer(6);
  p.inW = a.integer(7);
  p.ic = a.integer(8);
  p.outH = a.integer(9);
  p.outW = a.integer(10);
  p.oc = a.integer(11);
  p.fh = a.integer(12, 1);
  p.fw = a.integer(13, 1);
  p.sh = a.integer(14, 1);
  p.sw = a.integer(15, 1);
  p.top = a.integer(16);
  p.left = a.integer(17);
  const int64_t biasOff = a.integer(18, -1);
  const int64_t biasLen = a.integer(19);
  const int act = static_cast<int>(a.integer(20));
  const float alpha = static_cast<float>(a.num(21));
  if (a.failed) return nullptr;
  const int64_t big = int64_t(1) << 31;
  if (p.batch > big || p.inH > big || p.inW > big || p.ic > big || p.outH > big || p.outW > big || p.oc > big || p.fh > big
      || p.fw > big || p.sh > big || p.sw > big || p.top > big || p.left > big) {
    return a.fail("dimensions too large"), nullptr;
  }
  if (mode < 0 || mode > 2) return a.fail("unknown mode"), nullptr;
  if (act < aelab::kLinear || act > aelab::kElu) return a.fail("unknown activation"), nullptr;
  if (mode == 2 ? p.fh * p.fw > 64 : p.fh > 64) return a.fail("filter too large"), nullptr;
  if (mode != 2 && (p.top != 0 || p.left != 0 || (p.outH > 0 && (p.outH - 1) * p.sh + p.fh > p.inH) || (p.outW > 0 && (p.outW - 1) * p.sw + p.fw > p.inW))) {
    return a.fail("a tap falls outside the input"), nullptr;
  }
  const int64_t xSize = p.batch * p.inH * p.inW * p.ic, ySize = p.batch * p.outH * p.outW * p.oc, wSize = p.fh * p.fw * p.ic * p.oc;
  const int64_t aSize = mode == 2 ? ySize : xSize, bSize = mode == 1 ? ySize : wSize, outSize = mode == 0 ? ySize : mode == 1 ? wSize : xSize;
  const float* A = a.floats(aOff, aSize, "a");
  const float* B = a.floats(bOff, bSize, "b");
  float* out = a.floats(outOff, outSize, "out");
  const float* bias = nullptr;
  if (mode == 0 && biasOff >= 0) {
    if (biasLen != 1 && biasLen != p.oc) return a.fail("bias must have 1 or oc values"), nullptr;
    bias = a.floats(biasOff, biasLen, "bias");
  }
  if (a.failed) return nullptr;
  if (mode == 0) aelab::conv2d_forward(A, B, out, p, bias, bias ? biasLen : 0, act, alpha);
  else if (mode == 1) aelab::conv2d_filter_grad(A, B, out, p);
  else aelab::conv2d_input_grad(A, B, out, p);
  return undefined(env);
}

// binary(heap, op, aOff, bOff, outOff, n, bLen): out[i] = a[i] op b[i % bLen].
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info, "binary", 7);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int op = static_cast<int>(a.integer(1));
  const int64_t aOff = a.integer(2), bOff = a.integer(3), outOff = a.integer(4), n = a.integer(5), bLen = a.integer(6, 1);
  if (!a.failed && (op < aelab::kAdd || op > aelab::kSquaredDiff)) a.fail("unknown op");
  if (!a.failed && bLen < n && n % bLen != 0) a.fail("n must be a multiple of bLen");
  const float* x = a.floats(aOff, n, "a");
  const float* y = a.floats(bOff, std::min(n, bLen), "b");
  float* out = a.floats(outOff, n, "out");
  if (a.failed) return nullptr;
  aelab::binary(op, x, y, out, n, bLen);
  return undefined(env);
}

// stepRelu(heap, xOff, outOff, n, alpha, mode): mode 0 tfjs's step (x > 0 ? 1 : alpha),
// 1 relu, 2 leaky relu with slope alpha.
napi_value StepRelu(napi_env env, napi_callback_info info) {
  Args a(env, info, "stepRelu", 6);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t xOff = a.integer(1), outOff = a.integer(2), n = a.integer(3);
  const float alpha = static_cast<float>(a.num(4));
  const int64_t mode = a.integer(5);
  if (mode < 0 || mode > 2) a.fail("mode must be 0 (step), 1 (relu) or 2 (leaky relu)");
  const float* x = a.floats(xOff, n, "x");
  float* out = a.floats(outOff, n, "out");
  if (a.failed) return nullptr;
  if (mode == 1) aelab::relu(x, out, n);
  else if (mode == 2) aelab::leaky_relu(x, out, n, alpha);
  else aelab::step(x, out, n, alpha);
  return undefined(env);
}

// pad(heap, srcOff, dstOff, dims, before, after, fillValue): src (dims) into dst
// (dims + before + after per axis), fillValue elsewhere.
napi_value Pad(napi_env env, napi_callback_info info) {
  Args a(env, info, "pad", 7);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  const int64_t srcOff = a.integer(1), dstOff = a.integer(2);
  int64_t v[3][8];
  uint32_t rank = 0;
  for (int which = 0; which < 3 && !a.failed; which++) {
    napi_value arr = a.argv[3 + which];
    bool isArray = false;
    napi_is_array(env, arr, &isArray);
    uint32_t len = 0;
    if (isArray) napi_get_array_length(env, arr, &len);
    if (!isArray || len == 0 || len > 8 || (which > 0 && len != rank)) return a.fail("dims, before and after must be arrays of the same length 1..8"), nullptr;
    rank = len;
    for (uint32_t k = 0; k < len; k++) {
      napi_value e;
      double x = 0;
      napi_get_element(env, arr, k, &e);
      if (napi_get_value_double(env, e, &x) != napi_ok || x != std::floor(x) || x < 0 || x > 9.0e15) return a.fail("dims and paddings must be integers >= 0"), nullptr;
      v[which][k] = static_cast<int64_t>(x);
    }
  }
  const float fillValue = static_cast<float>(a.num(6));
  if (a.failed) return nullptr;
  int64_t srcSize = 1, dstSize = 1;
  for (uint32_t k = 0; k < rank; k++) {
    if (v[0][k] > (int64_t(1) << 31) || v[1][k] > (int64_t(1) << 31) || v[2][k] > (int64_t(1) << 31)) return a.fail("dimensions too large"), nullptr;
    srcSize *= v[0][k];
    dstSize *= v[0][k] + v[1][k] + v[2][k];
    if (dstSize > (int64_t(1) << 40)) return a.fail("dimensions too large"), nullptr;
  }
  const uint32_t* src = reinterpret_cast<const uint32_t*>(a.floats(srcOff, srcSize, "src"));
  uint32_t* dst = reinterpret_cast<uint32_t*>(a.floats(dstOff, dstSize, "dst"));
  if (a.failed) return nullptr;
  uint32_t bits;
  std::memcpy(&bits, &fillValue, 4);
  aelab::pad_block(src, dst, static_cast<int>(rank), v[0], v[1], v[2], bits);
  return undefined(env);
}

// batchNorm(heap, mode, rows, C, eps, xOff, dyOff, meanOff, varOff, gammaOff, betaOff, outOff,
//           dgammaOff, dbetaOff): batch normalisation of x [rows, C] (kernels.h's batch_norm).
// Offsets of -1: none (gamma, beta: 1 and 0; dy, dgamma, dbeta outside mode 2). Mode 0 writes
// mean and var; modes 1 and 2 read them.
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  Args a(env, info, "batchNorm", 14);
  if (!cpu_ok()) a.fail("this CPU lacks AVX2/FMA");
  a.loadHeap(0);
  aelab::BatchNormArgs b{};
  b.mode = static_cast<int>(a.integer(1));
  b.rows = a.integer(2);
  b.C = a.integer(3);
  b.eps = a.num(4);
  int64_t off[9];
  for (int i = 0; i < 9; i++) off[i] = a.integer(5 + i, -1);
  if (!a.failed && b.mode > 2) a.fail("mode must be 0, 1 or 2");
  if (!a.failed && (b.rows > (int64_t(1) << 31) || b.C > (int64_t(1) << 31))) a.fail("rows and C must be below 2^31");
  const int64_t n = b.rows * b.C;
  const bool grad = b.mode == 2;
  if (off[0] < 0 || off[2] < 0 || off[3] < 0 || off[6] < 0 || (grad && (off[1] < 0 || off[7] < 0 || off[8] < 0))) {
    a.fail("x, mean, var and out (and, for the gradient, dy, dgamma and dbeta) are required");
  }
  b.x = a.floats(off[0], n, "x");
  if (grad) b.dy = a.floats(off[1], n, "dy");
  float* mean = a.floats(off[2], b.C, "mean");
  float* var = a.floats(off[3], b.C, "var");
  if (off[4] >= 0) b.gamma = a.floats(off[4], b.C, "gamma");
  if (off[5] >= 0 && !grad) b.beta = a.floats(off[5], b.C, "beta");
  b.out = a.floats(off[6], n, "out");
  if (grad) {
    b.dgamma = a.floats(off[7], b.C, "dgamma");
    b.dbeta = a.floats(off[8], b.C, "dbeta");
  }
  if (a.failed) return nullptr;
  if (b.mode == 0) {
    b.meanOut = mean;
    b.varOut = var;
  } else {
    b.mean = mean;
    b.var = var;
  }
  aelab::batch_norm(b);
  return undefined(env);
}

// setThreads(n): threads the kernels use, the calling one included (0: hardware threads).
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setThreads", 1);
  const int64_t n = a.integer(0);
  if (a.failed) return nullptr;
  aelab::pool_set_threads(static_cast<int>(n > 64 ? 64 : n));
  return undefined(env);
}

// info(): { avx2, threads, abi }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, cpu_ok(), &v);
  napi_set_named_property(env, obj, "avx2", v);
  napi_create_int32(env, aelab::pool_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_int32(env, 13, &v);
  napi_set_named_property(env, obj, "abi", v);
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"bceLogits", nullptr, BceLogits, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"copyBlock", nullptr, CopyBlock, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"col2im", nullptr, Col2Im, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"binary", nullptr, Binary, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"stepRelu", nullptr, StepRelu, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"pad", nullptr, Pad, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default_jsproperty, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
