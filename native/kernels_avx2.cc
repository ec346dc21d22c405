// AVX2/FMA kernels: a packed, blocked sgemm (BLIS-style loops around a 6x16 register-tile
// micro-kernel) with a fused bias + activation epilogue; vectorised sigmoid, softplus,
// BCE-from-logits and reductions; a fused Adam update; a strided block copy; direct
// convolutions (forward, filter gradient, input gradient) on the sgemm's register tile; max
// pooling's gradient.
//
// The sgemm cuts a call into chunks that the pool's threads claim: column ranges sharing an
// A packed once (the usual case: few rows, a batch of 128), row ranges sharing a packed B
// (many rows, few columns), whole items of a batch, or, for a small output with a long inner
// dimension (a convolution's filter gradient), ranges of K summed at the end.
//
// Built with -mavx2 -mfma; the binding calls in only after checking that the CPU reports both.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace aelab {
namespace {

constexpr int MR = 6;       // rows of the register tile
constexpr int NR = 16;      // columns of the register tile (two ymm)
constexpr int64_t KC = 384; // depth of a packed block (A micro-panel 9 KB, B micro-panel 24 KB)
constexpr int64_t MC = 120; // rows of a packed A block (180 KB: L2)
constexpr int64_t NC = 3072;// columns of a packed B panel

// ---- vector math --------------------------------------------------------------------------

// exp(x), Cephes' single-precision polynomial (about 2 ulp), clamped to the float range.
inline __m256 exp256(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
  x = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, z, x);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  // 2^fx; fx in [-127, 128]: build the exponent in two halves so neither overflows.
  __m256i n = _mm256_cvttps_epi32(fx);
  __m256i n1 = _mm256_srai_epi32(n, 1);
  __m256i n2 = _mm256_sub_epi32(n, n1);
  __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(y, p1), p2);
}

// log(x) for x > 0 (normal), Cephes' single-precision polynomial.
inline __m256 log256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256i xi = _mm256_castps_si256(x);
  __m256i emm0 = _mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(0x7f));
  x = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(xi, _mm256_set1_epi32(0x007fffff)), _mm256_castps_si256(_mm256_set1_ps(0.5f))));
  __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(emm0), one);
  __m256 mask = _mm256_cmp_ps(x, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  __m256 tmp = _mm256_and_ps(x, mask);
  x = _mm256_sub_ps(x, one);
  e = _mm256_sub_ps(e, _mm256_and_ps(one, mask));
  x = _mm256_add_ps(x, tmp);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(7.0376836292E-2f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-1.1514610310E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.1676998740E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-1.2420140846E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.4249322787E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-1.6668057665E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(2.0000714765E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-2.4999993993E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(3.3333331174E-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, x), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  x = _mm256_add_ps(x, y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), x);
}

inline __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// tfjs's softplus: exp(x) below log(eps) + 2, x above its negative, else log(1 + exp(x))
// (computed as log1p(e) = log(u) * e / (u - 1) with u = 1 + e, exact where u rounds).
inline __m256 softplus256(__m256 x) {
  const float threshold = -13.942385152878742f;  // log(2^-23) + 2
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = exp256(x);
  __m256 u = _mm256_add_ps(one, e);
  __m256 d = _mm256_sub_ps(u, one);
  __m256 l = _mm256_div_ps(_mm256_mul_ps(log256(u), e), d);
  l = _mm256_blendv_ps(l, e, _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_EQ_OQ));
  l = _mm256_blendv_ps(l, e, _mm256_cmp_ps(x, _mm256_set1_ps(threshold), _CMP_LT_OQ));
  l = _mm256_blendv_ps(l, x, _mm256_cmp_ps(x, _mm256_set1_ps(-threshold), _CMP_GT_OQ));
  return l;
}

inline float sigmoid1(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float softplus1(float x) {
  const float threshold = -13.942385152878742f;
  if (x < threshold) return std::exp(x);
  if (x > -threshold) return x;
  return std::log1p(std::exp(x));
}

// ---- epilogue: bias + activation on a row segment --------------------------------------

inline __m256 act256(__m256 x, int act, __m256 alpha) {
  switch (act) {
    case kRelu: return _mm256_max_ps(x, _mm256_setzero_ps());
    case kRelu6: return _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
    case kLeakyRelu: return _mm256_blendv_ps(_mm256_mul_ps(x, alpha), x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
    case kSigmoid: return sigmoid256(x);
    case kElu: return _mm256_blendv_ps(_mm256_sub_ps(exp256(x), _mm256_set1_ps(1.0f)), x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
    default: return x;
  }
}

inline float act1(float x, int act, float alpha) {
  switch (act) {
    case kRelu: return x < 0 ? 0 : x;
    case kRelu6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case kLeakyRelu: return x < 0 ? alpha * x : x;
    case kSigmoid: return sigmoid1(x);
    case kElu: return x < 0 ? std::exp(x) - 1 : x;
    default: return x;
  }
}

// row[j] = act(row[j] + bias[j0 + j]) for j < n.
void epilogue_row(float* row, int64_t n, const float* bias, int64_t biasLen, int64_t j0, int act, float alpha) {
  if (!bias && act == kLinear) return;
  const __m256 va = _mm256_set1_ps(alpha);
  const bool perCol = bias && biasLen > 1;
  const __m256 b1 = _mm256_set1_ps(bias && !perCol ? bias[0] : 0.0f);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 x = _mm256_loadu_ps(row + j);
    if (perCol) x = _mm256_add_ps(x, _mm256_loadu_ps(bias + j0 + j));
    else if (bias) x = _mm256_add_ps(x, b1);
    _mm256_storeu_ps(row + j, act256(x, act, va));
  }
  for (; j < n; j++) {
    float x = row[j];
    if (bias) x += perCol ? bias[j0 + j] : bias[0];
    row[j] = act1(x, act, alpha);
  }
}

// ---- packing ------------------------------------------------------------------------------

struct AlignedBuf {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t n) {
    if (n > cap) {
      std::free(p);
      cap = n;
      p = static_cast<float*>(std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64));
    }
    return p;
  }
};
thread_local AlignedBuf packA, packB;

// Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-row micro-panels: panel r holds, for each k,
// MR consecutive values (rows), zero-padded past mc.
void pack_a(const float* A, int64_t lda, bool transA, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t mr = std::min<int64_t>(MR, mc - ir);
    float* o = out + ir * kc;
    if (!transA) {
      const float* rows[MR];
      for (int r = 0; r < MR; r++) rows[r] = A + (i0 + ir + std::min<int64_t>(r, mr - 1)) * lda + p0;
      if (mr == MR) {
        // 8 columns at a time: load 6 rows x 8, scatter by k.
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
          __m256 r0 = _mm256_loadu_ps(rows[0] + k), r1 = _mm256_loadu_ps(rows[1] + k), r2 = _mm256_loadu_ps(rows[2] + k);
          __m256 r3 = _mm256_loadu_ps(rows[3] + k), r4 = _mm256_loadu_ps(rows[4] + k), r5 = _mm256_loadu_ps(rows[5] + k);
          alignas(32) float t[6][8];
          _mm256_store_ps(t[0], r0); _mm256_store_ps(t[1], r1); _mm256_store_ps(t[2], r2);
          _mm256_store_ps(t[3], r3); _mm256_store_ps(t[4], r4); _mm256_store_ps(t[5], r5);
          for (int c = 0; c < 8; c++) {
            float* d = o + (k + c) * MR;
            d[0] = t[0][c]; d[1] = t[1][c]; d[2] = t[2][c]; d[3] = t[3][c]; d[4] = t[4][c]; d[5] = t[5][c];
          }
        }
        for (; k < kc; k++) {
          float* d = o + k * MR;
          for (int r = 0; r < MR; r++) d[r] = rows[r][k];
        }
      } else {
        for (int64_t k = 0; k < kc; k++) {
          float* d = o + k * MR;
          for (int r = 0; r < MR; r++) d[r] = r < mr ? rows[r][k] : 0.0f;
        }
      }
    } else {
      // op(A)[i, p] = A[p * lda + i]: MR contiguous values per k.
      const float* base = A + p0 * lda + i0 + ir;
      for (int64_t k = 0; k < kc; k++) {
        const float* s = base + k * lda;
        float* d = o + k * MR;
        if (mr == MR) {
          d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; d[3] = s[3]; d[4] = s[4]; d[5] = s[5];
        } else {
          for (int r = 0; r < MR; r++) d[r] = r < mr ? s[r] : 0.0f;
        }
      }
    }
  }
}

// 8x8 transpose of rows s[0..7] (stride ls) into d (stride ld).
inline void transpose8(const float* s, int64_t ls, float* d, int64_t ld) {
  __m256 r0 = _mm256_loadu_ps(s + 0 * ls), r1 = _mm256_loadu_ps(s + 1 * ls), r2 = _mm256_loadu_ps(s + 2 * ls), r3 = _mm256_loadu_ps(s + 3 * ls);
  __m256 r4 = _mm256_loadu_ps(s + 4 * ls), r5 = _mm256_loadu_ps(s + 5 * ls), r6 = _mm256_loadu_ps(s + 6 * ls), r7 = _mm256_loadu_ps(s + 7 * ls);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE), u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(d + 0 * ld, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + 1 * ld, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] into NR-column micro-panels: panel c holds, for each k,
// NR consecutive values (columns), zero-padded past nc.
void pack_b(const float* B, int64_t ldb, bool transB, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t nr = std::min<int64_t>(NR, nc - jr);
    float* o = out + jr * kc;
    if (!transB) {
      const float* base = B + p0 * ldb + j0 + jr;
      if (nr == NR) {
        for (int64_t k = 0; k < kc; k++) {
          const float* s = base + k * ldb;
          _mm256_store_ps(o + k * NR, _mm256_loadu_ps(s));
          _mm256_store_ps(o + k * NR + 8, _mm256_loadu_ps(s + 8));
        }
      } else {
        for (int64_t k = 0; k < kc; k++) {
          const float* s = base + k * ldb;
          float* d = o + k * NR;
          for (int c = 0; c < NR; c++) d[c] = c < nr ? s[c] : 0.0f;
        }
      }
    } else {
      // op(B)[p, j] = B[j * ldb + p]: column j of op(B) is row j of B.
      const float* base = B + (j0 + jr) * ldb + p0;
      if (nr == NR) {
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) {
          transpose8(base + k, ldb, o + k * NR, NR);
          transpose8(base + 8 * ldb + k, ldb, o + k * NR + 8, NR);
        }
        for (; k < kc; k++) {
          float* d = o + k * NR;
          for (int c = 0; c < NR; c++) d[c] = base[c * ldb + k];
        }
      } else {
        for (int64_t k = 0; k < kc; k++) {
          float* d = o + k * NR;
          for (int c = 0; c < NR; c++) d[c] = c < nr ? base[c * ldb + k] : 0.0f;
        }
      }
    }
  }
}

// ---- micro-kernel -------------------------------------------------------------------------

// Lane masks for the first n of 16 columns (n in 0..16): lanes 0-7 and 8-15.
inline __m256i col_mask(int64_t n, int half) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n) - 8 * half), lane);
}

// Where the micro-kernel reads row r of the A tile at depth k: a packed micro-panel (MR
// values per k), or six rows where they lie (a row-major A, unpacked).
struct PackedA {
  const float* p;
  const float* at(int64_t k, int r) const { return p + k * MR + r; }
};
struct RowsA {
  const float* r0; const float* r1; const float* r2; const float* r3; const float* r4; const float* r5;
  const float* at(int64_t k, int r) const { return (r == 0 ? r0 : r == 1 ? r1 : r == 2 ? r2 : r == 3 ? r3 : r == 4 ? r4 : r5) + k; }
};

// C[0:6, 0:nr] (+)= A (6 x kc) * Bp (kc x 16), nr <= 8 * NV (the columns past nr are
// neither read nor written); accumulate adds to C, else overwrites it. NV = 1 computes only
// the panel's first 8 columns: a last tile of at most 8 columns (N = 20: 16 + 4) pays for
// half the FMAs.
template <int NV, class ATile>
inline void kernel_6x16(int64_t kc, ATile A, const float* __restrict Bp, float* C, int64_t ldc, bool accumulate, int64_t nr = NR) {
  static_assert(NV == 1 || NV == 2);
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(Bp);
    __m256 a;
    if constexpr (NV == 2) {
      const __m256 b1 = _mm256_load_ps(Bp + 8);
      a = _mm256_broadcast_ss(A.at(k, 0)); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
      a = _mm256_broadcast_ss(A.at(k, 1)); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
      a = _mm256_broadcast_ss(A.at(k, 2)); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
      a = _mm256_broadcast_ss(A.at(k, 3)); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
      a = _mm256_broadcast_ss(A.at(k, 4)); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
      a = _mm256_broadcast_ss(A.at(k, 5)); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    } else {
      a = _mm256_broadcast_ss(A.at(k, 0)); c00 = _mm256_fmadd_ps(a, b0, c00);
      a = _mm256_broadcast_ss(A.at(k, 1)); c10 = _mm256_fmadd_ps(a, b0, c10);
      a = _mm256_broadcast_ss(A.at(k, 2)); c20 = _mm256_fmadd_ps(a, b0, c20);
      a = _mm256_broadcast_ss(A.at(k, 3)); c30 = _mm256_fmadd_ps(a, b0, c30);
      a = _mm256_broadcast_ss(A.at(k, 4)); c40 = _mm256_fmadd_ps(a, b0, c40);
      a = _mm256_broadcast_ss(A.at(k, 5)); c50 = _mm256_fmadd_ps(a, b0, c50);
    }
    Bp += NR;
  }
  if (nr == NR) {
#define AELAB_STORE(r, v0, v1)                                                      \
  {                                                                                 \
    float* c = C + (r) * ldc;                                                       \
    if (accumulate) {                                                               \
      v0 = _mm256_add_ps(v0, _mm256_loadu_ps(c));                                   \
      v1 = _mm256_add_ps(v1, _mm256_loadu_ps(c + 8));                               \
    }                                                                               \
    _mm256_storeu_ps(c, v0);                                                        \
    _mm256_storeu_ps(c + 8, v1);                                                    \
  }
    AELAB_STORE(0, c00, c01) AELAB_STORE(1, c10, c11) AELAB_STORE(2, c20, c21)
    AELAB_STORE(3, c30, c31) AELAB_STORE(4, c40, c41) AELAB_STORE(5, c50, c51)
#undef AELAB_STORE
    return;
  }
  // A partial tile: masked loads and stores; with NV = 1 the second half's mask is empty.
  const __m256i m0 = col_mask(nr, 0), m1 = col_mask(nr, 1);
#define AELAB_STORE(r, v0, v1)                                                      \
  {                                                                                 \
    float* c = C + (r) * ldc;                                                       \
    if (accumulate) {                                                               \
      v0 = _mm256_add_ps(v0, _mm256_maskload_ps(c, m0));                            \
      if constexpr (NV == 2) v1 = _mm256_add_ps(v1, _mm256_maskload_ps(c + 8, m1)); \
    }                                                                               \
    _mm256_maskstore_ps(c, m0, v0);                                                 \
    if constexpr (NV == 2) _mm256_maskstore_ps(c + 8, m1, v1);                      \
  }
  AELAB_STORE(0, c00, c01) AELAB_STORE(1, c10, c11) AELAB_STORE(2, c20, c21)
  AELAB_STORE(3, c30, c31) AELAB_STORE(4, c40, c41) AELAB_STORE(5, c50, c51)
#undef AELAB_STORE
}

// Operands packed once for a whole call and shared by the chunks: panels of every K block
// (block q at q * kcMax * padded), in the layout pack_a / pack_b write.
struct Shared {
  const float* A = nullptr;  // all M rows (padded to MR), or null: chunks pack their own
  const float* B = nullptr;  // all N columns (padded to NR), or null
  int64_t mPad = 0, nPad = 0;
};

inline int64_t k_block(int64_t K) {
  // Even K blocks (784 -> 2 x 392, not 384 + 384 + 16).
  const int64_t blocks = (K + KC - 1) / KC;
  return (K + blocks - 1) / blocks;
}

// C[i0:i1, j0:j1] of one batch item: blocked loops around the micro-kernel, packing what
// `shared` does not hold. With shared.A, i0 must be 0 (or a multiple of MR); with
// shared.B, j0 a multiple of NR. Ends with the bias + activation epilogue of the region.
void gemm_region(const Gemm& g, const float* A, const float* B, float* C, int64_t i0, int64_t i1, int64_t j0, int64_t j1, const Shared& shared) {
  const int64_t K = g.K;
  if (i1 <= i0 || j1 <= j0) return;
  if (K == 0) {
    for (int64_t i = i0; i < i1; i++) std::memset(C + i * g.ldc + j0, 0, (j1 - j0) * sizeof(float));
  } else {
    const int64_t kcMax = k_block(K);
    const int64_t ncMax = shared.B ? j1 - j0 : std::min<int64_t>(NC, ((j1 - j0 + NR - 1) / NR) * NR);
    const int64_t mcMax = std::min<int64_t>(MC, ((i1 - i0 + MR - 1) / MR) * MR);
    float* Bbuf = shared.B ? nullptr : packB.get(kcMax * ncMax);
    // With one or two column tiles, packing A would copy it for as little compute as the
    // copy itself: the kernel reads a row-major A's rows where they lie instead.
    const bool rowsA = !shared.A && !g.transA && j1 - j0 <= 2 * NR;
    float* Abuf = shared.A || rowsA ? nullptr : packA.get(kcMax * mcMax);
    alignas(32) float tmp[MR * NR];
    for (int64_t jc = j0; jc < j1; jc += ncMax) {
      const int64_t nc = std::min<int64_t>(ncMax, j1 - jc);
      for (int64_t pc = 0, q = 0; pc < K; pc += kcMax, q++) {
        const int64_t kc = std::min<int64_t>(kcMax, K - pc);
        const bool acc = pc > 0;
        const float* Bp;
        if (shared.B) {
          Bp = shared.B + q * kcMax * shared.nPad + jc * kc;
        } else {
          pack_b(B, g.ldb, g.transB, pc, kc, jc, nc, Bbuf);
          Bp = Bbuf;
        }
        for (int64_t ic = i0; ic < i1; ic += mcMax) {
          const int64_t mc = std::min<int64_t>(mcMax, i1 - ic);
          const float* Ap = nullptr;
          if (shared.A) {
            Ap = shared.A + q * kcMax * shared.mPad + ic * kc;
          } else if (!rowsA) {
            pack_a(A, g.lda, g.transA, ic, mc, pc, kc, Abuf);
            Ap = Abuf;
          }
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const int64_t nr = std::min<int64_t>(NR, nc - jr);
            for (int64_t ir = 0; ir < mc; ir += MR) {
              const int64_t mr = std::min<int64_t>(MR, mc - ir);
              float* c = C + (ic + ir) * g.ldc + jc + jr;
              const auto tile = [&](auto a) {
                const auto micro = [&](float* out, int64_t ld, bool add, int64_t cols) {
                  if (nr <= 8) kernel_6x16<1>(kc, a, Bp + jr * kc, out, ld, add, cols);
                  else kernel_6x16<2>(kc, a, Bp + jr * kc, out, ld, add, cols);
                };
                if (mr == MR) {
                  micro(c, g.ldc, acc, nr);
                } else {
                  micro(tmp, NR, false, NR);  // tmp's columns past nr are written but never read
                  for (int64_t r = 0; r < mr; r++)
                    for (int64_t x = 0; x < nr; x++) c[r * g.ldc + x] = acc ? c[r * g.ldc + x] + tmp[r * NR + x] : tmp[r * NR + x];
                }
              };
              if (rowsA) {
                // Rows past M repeat the last one (computed, never stored), as pack_a pads.
                const auto row = [&](int r) { return A + (ic + ir + std::min<int64_t>(r, mr - 1)) * g.lda + pc; };
                tile(RowsA{row(0), row(1), row(2), row(3), row(4), row(5)});
              } else {
                tile(PackedA{Ap + ir * kc});
              }
            }
          }
        }
      }
    }
  }
  for (int64_t i = i0; i < i1; i++) epilogue_row(C + i * g.ldc + j0, j1 - j0, g.bias, g.biasLen, j0, g.act, g.alpha);
}

// One sgemm call cut into chunks: `per` chunks per batch item, each a range of rows
// (splitN false) or columns (splitN true): `step` each, or from `starts` (in tiles) when
// the sizes shrink towards the end.
struct GemmTask {
  const Gemm* g;
  Shared shared;
  bool splitN;
  int64_t per, step;
  int64_t unit = 0;        // rows or columns of a tile, when `starts` is used
  int64_t starts[129]{};   // chunk c: tiles starts[c] to starts[c + 1]
};

void gemm_chunk(void* ctx, int64_t chunk) {
  const GemmTask& t = *static_cast<GemmTask*>(ctx);
  const Gemm& g = *t.g;
  const int64_t b = chunk / t.per, c = chunk % t.per;
  const float* A = g.A + b * g.strideA;
  const float* B = g.B + b * g.strideB;
  float* C = g.C + b * g.strideC;
  const int64_t lo = t.unit ? t.starts[c] * t.unit : c * t.step, hi = t.unit ? t.starts[c + 1] * t.unit : (c + 1) * t.step;
  if (t.splitN) gemm_region(g, A, B, C, 0, g.M, lo, std::min(g.N, hi), t.shared);
  else gemm_region(g, A, B, C, lo, std::min(g.M, hi), 0, g.N, t.shared);
}

thread_local AlignedBuf sharedBuf;

// Packing the shared operand, in chunks of a few micro-panels of one K block, so that both
// threads pack before both compute.
struct PackTask {
  const Gemm* g;
  bool a;            // pack A (all M rows) or B (all N columns)
  float* out;
  int64_t kcMax, pad, group, perBlock;  // group: micro-panels per chunk; perBlock: chunks per K block
};

void pack_chunk(void* ctx, int64_t c) {
  const PackTask& t = *static_cast<PackTask*>(ctx);
  const Gemm& g = *t.g;
  const int64_t q = c / t.perBlock, pc = q * t.kcMax, kc = std::min(t.kcMax, g.K - pc);
  float* block = t.out + q * t.kcMax * t.pad;
  if (t.a) {
    const int64_t i0 = (c % t.perBlock) * t.group * MR, mc = std::min(t.group * MR, g.M - i0);
    pack_a(g.A, g.lda, g.transA, i0, mc, pc, kc, block + i0 * kc);
  } else {
    const int64_t j0 = (c % t.perBlock) * t.group * NR, nc = std::min(t.group * NR, g.N - j0);
    pack_b(g.B, g.ldb, g.transB, pc, kc, j0, nc, block + j0 * kc);
  }
}

void pack_shared(const Gemm& g, bool a, float* out, int64_t kcMax, int64_t kBlocks, int64_t pad) {
  const int64_t panels = pad / (a ? MR : NR);
  const int64_t group = std::max<int64_t>(1, 8192 / ((a ? MR : NR) * kcMax));  // about 8K values a chunk
  PackTask t{&g, a, out, kcMax, pad, group, (panels + group - 1) / group};
  pool_run(pack_chunk, &t, kBlocks * t.perBlock);
}

// A product with a small output and a long inner dimension (a convolution's filter
// gradient: [k*k*c, n] x [n, oc] with n = batch * pixels) cut along K: each chunk adds up
// its share of K into its own partial output, and the caller sums them.
struct SplitKTask {
  const Gemm* g;
  int64_t step;    // K per chunk
  float* partial;  // chunks x M x N
};

void splitk_chunk(void* ctx, int64_t c) {
  const SplitKTask& t = *static_cast<SplitKTask*>(ctx);
  const Gemm& g = *t.g;
  Gemm part = g;
  const int64_t k0 = c * t.step;
  part.K = std::min(g.K, k0 + t.step) - k0;
  part.A = g.transA ? g.A + k0 * g.lda : g.A + k0;
  part.B = g.transB ? g.B + k0 : g.B + k0 * g.ldb;
  part.C = t.partial + c * g.M * g.N;
  part.ldc = g.N;
  part.bias = nullptr;
  part.act = kLinear;
  gemm_region(part, part.A, part.B, part.C, 0, g.M, 0, g.N, Shared{});
}

// ---- element-wise -------------------------------------------------------------------------

struct UnaryTask {
  int op;
  const float* x;
  float* y;
  int64_t n;
};

void unary_range(int op, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  switch (op) {
    case kUnarySigmoid:
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, sigmoid256(_mm256_loadu_ps(x + i)));
      for (; i < n; i++) y[i] = sigmoid1(x[i]);
      break;
    case kUnarySoftplus:
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, softplus256(_mm256_loadu_ps(x + i)));
      for (; i < n; i++) y[i] = softplus1(x[i]);
      break;
    case kUnaryRelu:
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_max_ps(_mm256_loadu_ps(x + i), _mm256_setzero_ps()));
      for (; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i];
      break;
    case kUnaryExp:
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(x + i)));
      for (; i < n; i++) y[i] = std::exp(x[i]);
      break;
  }
}

// Element-wise work goes in chunks of this many values (a multiple of 16: 64 bytes, so
// threads never share a cache line).
constexpr int64_t kChunk = 16384;

void unary_chunk(void* ctx, int64_t c) {
  const UnaryTask& t = *static_cast<UnaryTask*>(ctx);
  const int64_t i0 = c * kChunk, i1 = std::min(t.n, i0 + kChunk);
  unary_range(t.op, t.x + i0, t.y + i0, i1 - i0);
}

struct SumTask {
  const float* x;
  float* y;
  int64_t outer, reduce, inner, blocks;  // blocks: chunks of 64 columns per outer index
  float scale;
};

// Sums of contiguous runs (inner == 1): 4 x 8 lanes, then the lanes.
float sum_run(const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float s = 0;
  for (; i < n; i++) s += x[i];
  return s + ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

void sum_chunk(void* ctx, int64_t c) {
  const SumTask& t = *static_cast<SumTask*>(ctx);
  if (t.inner == 1) {
    // chunk c: outputs [c * 64, c * 64 + 64)
    for (int64_t o = c * 64; o < std::min(t.outer, c * 64 + 64); o++) {
      const float s = sum_run(t.x + o * t.reduce, t.reduce);
      t.y[o] = t.scale == 1.0f ? s : s * t.scale;
    }
    return;
  }
  const int64_t o = c / t.blocks, i0 = (c % t.blocks) * 64, w = std::min<int64_t>(64, t.inner - i0);
  const float* x = t.x + o * t.reduce * t.inner + i0;
  float* y = t.y + o * t.inner + i0;
  if (w == 64) {
    __m256 a[8];
    for (int k = 0; k < 8; k++) a[k] = _mm256_setzero_ps();
    for (int64_t r = 0; r < t.reduce; r++) {
      const float* row = x + r * t.inner;
      for (int k = 0; k < 8; k++) a[k] = _mm256_add_ps(a[k], _mm256_loadu_ps(row + 8 * k));
    }
    const __m256 sc = _mm256_set1_ps(t.scale);
    for (int k = 0; k < 8; k++) _mm256_storeu_ps(y + 8 * k, t.scale == 1.0f ? a[k] : _mm256_mul_ps(a[k], sc));
  } else {
    float acc[64] = {0};
    for (int64_t r = 0; r < t.reduce; r++)
      for (int64_t k = 0; k < w; k++) acc[k] += x[r * t.inner + k];
    for (int64_t k = 0; k < w; k++) y[k] = t.scale == 1.0f ? acc[k] : acc[k] * t.scale;
  }
}

struct BceTask {
  const float *l, *t, *dy;
  float* out;
  int64_t n;
};

void bce_chunk(void* ctx, int64_t c) {
  const BceTask& k = *static_cast<BceTask*>(ctx);
  const int64_t i0 = c * kChunk, i1 = std::min(k.n, i0 + kChunk);
  const __m256 zero = _mm256_setzero_ps(), signbit = _mm256_set1_ps(-0.0f);
  int64_t i = i0;
  if (!k.dy) {
    for (; i + 8 <= i1; i += 8) {
      const __m256 l = _mm256_loadu_ps(k.l + i), t = _mm256_loadu_ps(k.t + i);
      const __m256 negAbs = _mm256_or_ps(l, signbit);
      const __m256 v = _mm256_add_ps(_mm256_sub_ps(_mm256_max_ps(l, zero), _mm256_mul_ps(l, t)), softplus256(negAbs));
      _mm256_storeu_ps(k.out + i, v);
    }
    for (; i < i1; i++) {
      const float l = k.l[i];
      k.out[i] = (l > 0 ? l : 0) - l * k.t[i] + softplus1(-std::fabs(l));
    }
  } else {
    for (; i + 8 <= i1; i += 8) {
      const __m256 l = _mm256_loadu_ps(k.l + i), t = _mm256_loadu_ps(k.t + i);
      _mm256_storeu_ps(k.out + i, _mm256_mul_ps(_mm256_loadu_ps(k.dy + i), _mm256_sub_ps(sigmoid256(l), t)));
    }
    for (; i < i1; i++) k.out[i] = k.dy[i] * (sigmoid1(k.l[i]) - k.t[i]);
  }
}

void adam_chunk(void* ctx, int64_t c) {
  const AdamArgs& a = *static_cast<AdamArgs*>(ctx);
  const int64_t i0 = c * kChunk, i1 = std::min(a.n, i0 + kChunk);
  const __m256 b1 = _mm256_set1_ps(a.b1), b2 = _mm256_set1_ps(a.b2), omb1 = _mm256_set1_ps(a.omb1), omb2 = _mm256_set1_ps(a.omb2);
  const __m256 oma1 = _mm256_set1_ps(a.oma1), oma2 = _mm256_set1_ps(a.oma2), eps = _mm256_set1_ps(a.eps), nlr = _mm256_set1_ps(-a.lr);
  int64_t i = i0;
  // Every operation rounds as tfjs's separate kernels do (this file is built with
  // -ffp-contract=off: no fused multiply-add outside the explicit ones of the sgemm), so the
  // update is bit for bit tf.train.adam's on the wasm backend.
  for (; i + 8 <= i1; i += 8) {
    const __m256 g = _mm256_loadu_ps(a.g + i);
    const __m256 m = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a.m + i), b1), _mm256_mul_ps(g, omb1));
    const __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(a.v + i), b2), _mm256_mul_ps(_mm256_mul_ps(g, g), omb2));
    const __m256 mh = _mm256_div_ps(m, oma1), vh = _mm256_div_ps(v, oma2);
    const __m256 step = _mm256_mul_ps(_mm256_div_ps(mh, _mm256_add_ps(_mm256_sqrt_ps(vh), eps)), nlr);
    const __m256 p = _mm256_add_ps(step, _mm256_loadu_ps(a.p + i));
    _mm256_storeu_ps(a.mOut + i, m);
    _mm256_storeu_ps(a.vOut + i, v);
    _mm256_storeu_ps(a.pOut + i, p);
  }
  for (; i < i1; i++) {
    const float g = a.g[i];
    const float m = a.m[i] * a.b1 + g * a.omb1, v = a.v[i] * a.b2 + g * g * a.omb2;
    const float mh = m / a.oma1, vh = v / a.oma2;
    a.mOut[i] = m;
    a.vOut[i] = v;
    a.pOut[i] = (mh / (std::sqrt(vh) + a.eps)) * -a.lr + a.p[i];
  }
}

}  // namespace

void sgemm(const Gemm& g) {
  if (g.batch <= 0 || g.M <= 0 || g.N <= 0) return;
  const int nt = pool_threads();
  if (g.batch == 1 && nt > 1 && g.M * g.N <= 64 * 64 && g.K >= 2048) {
    const int64_t chunks = std::min<int64_t>(4 * nt, g.K / 512);
    SplitKTask t{&g, (g.K + chunks - 1) / chunks, nullptr};
    const int64_t used = (g.K + t.step - 1) / t.step;
    t.partial = sharedBuf.get(used * g.M * g.N);
    pool_run(splitk_chunk, &t, used);
    for (int64_t i = 0; i < g.M; i++) {
      float* c = g.C + i * g.ldc;
      for (int64_t j = 0; j < g.N; j++) {
        float s = 0;
        for (int64_t p = 0; p < used; p++) s += t.partial[(p * g.M + i) * g.N + j];
        c[j] = s;
      }
      epilogue_row(c, g.N, g.bias, g.biasLen, 0, g.act, g.alpha);
    }
    return;
  }
  const double flops = 2.0 * g.M * g.N * (g.K > 0 ? g.K : 1);
  GemmTask t{&g, {}, true, 1, g.N};
  const int64_t tilesN = (g.N + NR - 1) / NR, tilesM = (g.M + MR - 1) / MR;
  // Enough chunks per thread for the claims to even out uneven progress (a chunk of one
  // 16-column tile of a 128 x 784 x 400 product is about 20 microseconds of work).
  const int64_t want = nt <= 1 || flops * g.batch < 1e6 ? 1 : std::max<int64_t>(1, (16 * nt + g.batch - 1) / g.batch);
  if (want == 1 || flops < 1e6) {
    t.step = g.N;  // whole items
  } else {
    const int64_t kcMax = g.K > 0 ? k_block(g.K) : 0;
    const int64_t kBlocks = g.K > 0 ? (g.K + kcMax - 1) / kcMax : 0;
    // With one item, the operand every chunk needs is packed once, here, and shared: A when
    // the chunks are column ranges, B when they are row ranges (up to 16 MB packed).
    const int64_t limit = int64_t(1) << 22;
    const bool one = g.batch == 1 && g.K > 0;
    const bool shareA = one && tilesM * MR * kBlocks * kcMax <= limit;
    const bool shareB = one && tilesN * NR * kBlocks * kcMax <= limit;
    if (shareA && tilesN >= want) t.splitN = true;
    else if (shareB && tilesM >= want) t.splitN = false;
    else t.splitN = tilesN >= tilesM;
    const int64_t tiles = t.splitN ? tilesN : tilesM, unit = t.splitN ? NR : MR;
    const int64_t perChunk = (tiles + want - 1) / want;
    t.step = perChunk * unit;
    t.per = (tiles + perChunk - 1) / perChunk;
    if (one) {
      // Guided sizes: a share of what is left, so that the last chunks, which decide when
      // both threads are done, are small, and the first ones reuse each packed panel longer.
      const int64_t most = std::max<int64_t>(perChunk, (t.splitN ? 4 * NR : MC) / unit);
      int64_t c = 0, s0 = 0;
      for (; s0 < tiles && c < 128; c++) {
        t.starts[c] = s0;
        s0 += std::clamp<int64_t>((tiles - s0 + 2 * nt - 1) / (2 * nt), 1, most);
      }
      if (s0 >= tiles) {
        t.starts[c] = tiles;
        t.per = c;
        t.unit = unit;
      }
    }
    if (t.splitN && shareA) {
      t.shared.mPad = tilesM * MR;
      float* buf = sharedBuf.get(t.shared.mPad * kBlocks * kcMax);
      pack_shared(g, true, buf, kcMax, kBlocks, t.shared.mPad);
      t.shared.A = buf;
    } else if (!t.splitN && shareB) {
      t.shared.nPad = tilesN * NR;
      float* buf = sharedBuf.get(t.shared.nPad * kBlocks * kcMax);
      pack_shared(g, false, buf, kcMax, kBlocks, t.shared.nPad);
      t.shared.B = buf;
    }
  }
  pool_run(gemm_chunk, &t, g.batch * t.per);
}

void unary(int op, const float* x, float* y, int64_t n) {
  UnaryTask t{op, x, y, n};
  pool_run(unary_chunk, &t, (n + kChunk - 1) / kChunk);
}

void reduce_sum(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, float scale) {
  if (outer <= 0 || inner <= 0) return;
  if (reduce == 0) {
    // tfjs: a sum over nothing is 0, a mean over nothing 0 / 0.
    for (int64_t i = 0; i < outer * inner; i++) y[i] = 0.0f * scale;
    return;
  }
  SumTask t{x, y, outer, reduce, inner, (inner + 63) / 64, scale};
  const int64_t chunks = inner == 1 ? (outer + 63) / 64 : outer * t.blocks;
  if (outer * reduce * inner < (int64_t(1) << 18)) {
    for (int64_t c = 0; c < chunks; c++) sum_chunk(&t, c);
  } else {
    pool_run(sum_chunk, &t, chunks);
  }
}

void copy_block(const uint32_t* src, uint32_t* dst, int rank, const int64_t* dims, const int64_t* srcStrides,
                const int64_t* dstStrides, int64_t fillCount, uint32_t fillBits) {
  if (fillCount > 0) {
    if (fillBits == 0) std::memset(dst, 0, fillCount * 4);
    else std::fill(dst, dst + fillCount, fillBits);
  }
  if (rank < 0) return;  // fill only
  for (int k = 0; k < rank; k++)
    if (dims[k] == 0) return;
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  // Innermost run: contiguous in both (memcpy) or strided.
  const int64_t run = dims[rank - 1], ss = srcStrides[rank - 1], ds = dstStrides[rank - 1];
  int64_t idx[8] = {0};
  const uint32_t* s = src;
  uint32_t* d = dst;
  for (;;) {
    if (ss == 1 && ds == 1) std::memcpy(d, s, run * 4);
    else for (int64_t i = 0; i < run; i++) d[i * ds] = s[i * ss];
    int k = rank - 2;
    for (; k >= 0; k--) {
      s += srcStrides[k];
      d += dstStrides[k];
      if (++idx[k] < dims[k]) break;
      s -= srcStrides[k] * dims[k];
      d -= dstStrides[k] * dims[k];
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

namespace {

struct EwTask {
  int op;  // a Binary op, or kEwStep / kEwRelu / kEwLeakyRelu
  const float* a;
  const float* b;
  float* out;
  int64_t n, bLen;
  float alpha;
};
constexpr int kEwStep = 100, kEwRelu = 101, kEwLeakyRelu = 102;

template <int Op>
inline __m256 bin256(__m256 a, __m256 b) {
  if constexpr (Op == kAdd) return _mm256_add_ps(a, b);
  else if constexpr (Op == kSub) return _mm256_sub_ps(a, b);
  else if constexpr (Op == kMul) return _mm256_mul_ps(a, b);
  else if constexpr (Op == kDiv) return _mm256_div_ps(a, b);
  else {
    const __m256 d = _mm256_sub_ps(a, b);
    return _mm256_mul_ps(d, d);
  }
}
template <int Op>
inline float bin1(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  else if constexpr (Op == kSub) return a - b;
  else if constexpr (Op == kMul) return a * b;
  else if constexpr (Op == kDiv) return a / b;
  else return (a - b) * (a - b);
}

// out[i] = a[i] op b[i] for i < n (b broadcast when bScalar).
template <int Op>
inline void bin_run(const float* a, const float* b, float* out, int64_t n, bool bScalar) {
  int64_t i = 0;
  if (bScalar) {
    const __m256 vb = _mm256_set1_ps(b[0]);
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, bin256<Op>(_mm256_loadu_ps(a + i), vb));
    for (; i < n; i++) out[i] = bin1<Op>(a[i], b[0]);
  } else {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, bin256<Op>(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++) out[i] = bin1<Op>(a[i], b[i]);
  }
}

template <int Op>
void bin_range(const EwTask& t, int64_t i0, int64_t i1) {
  if (t.bLen == 1 || t.bLen >= t.n) {
    bin_run<Op>(t.a + i0, t.bLen == 1 ? t.b : t.b + i0, t.out + i0, i1 - i0, t.bLen == 1);
    return;
  }
  // b repeats: runs up to the end of each repetition.
  int64_t j = i0 % t.bLen;
  for (int64_t i = i0; i < i1;) {
    const int64_t run = std::min(t.bLen - j, i1 - i);
    bin_run<Op>(t.a + i, t.b + j, t.out + i, run, false);
    i += run;
    j = 0;
  }
}

void ew_range(const EwTask& t, int64_t i0, int64_t i1) {
  switch (t.op) {
    case kAdd: return bin_range<kAdd>(t, i0, i1);
    case kSub: return bin_range<kSub>(t, i0, i1);
    case kMul: return bin_range<kMul>(t, i0, i1);
    case kDiv: return bin_range<kDiv>(t, i0, i1);
    case kSquaredDiff: return bin_range<kSquaredDiff>(t, i0, i1);
    case kEwStep: {
      const __m256 one = _mm256_set1_ps(1.0f), al = _mm256_set1_ps(t.alpha), zero = _mm256_setzero_ps();
      int64_t i = i0;
      for (; i + 8 <= i1; i += 8) {
        const __m256 x = _mm256_loadu_ps(t.a + i);
        __m256 y = _mm256_blendv_ps(al, one, _mm256_cmp_ps(x, zero, _CMP_GT_OQ));
        y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
        _mm256_storeu_ps(t.out + i, y);
      }
      for (; i < i1; i++) {
        const float x = t.a[i];
        t.out[i] = x != x ? x : x > 0 ? 1.0f : t.alpha;
      }
      return;
    }
    case kEwRelu: {
      const __m256 zero = _mm256_setzero_ps();
      int64_t i = i0;
      // max_ps returns its second operand when either is NaN: x, so NaN stays NaN.
      for (; i + 8 <= i1; i += 8) _mm256_storeu_ps(t.out + i, _mm256_max_ps(zero, _mm256_loadu_ps(t.a + i)));
      for (; i < i1; i++) {
        const float x = t.a[i];
        t.out[i] = x < 0 ? 0.0f : x;
      }
      return;
    }
    case kEwLeakyRelu: {
      // tfjs's x < 0 ? alpha * x : x; NaN and -0 compare false and pass through.
      const __m256 al = _mm256_set1_ps(t.alpha), zero = _mm256_setzero_ps();
      int64_t i = i0;
      for (; i + 8 <= i1; i += 8) {
        const __m256 x = _mm256_loadu_ps(t.a + i);
        _mm256_storeu_ps(t.out + i, _mm256_blendv_ps(x, _mm256_mul_ps(al, x), _mm256_cmp_ps(x, zero, _CMP_LT_OQ)));
      }
      for (; i < i1; i++) {
        const float x = t.a[i];
        t.out[i] = x < 0 ? t.alpha * x : x;
      }
      return;
    }
  }
}

void ew_chunk(void* ctx, int64_t c) {
  const EwTask& t = *static_cast<EwTask*>(ctx);
  ew_range(t, c * kChunk, std::min(t.n, (c + 1) * kChunk));
}

void ew_run(EwTask& t) {
  if (t.n <= 0) return;
  const int64_t chunks = (t.n + kChunk - 1) / kChunk;
  // Small arrays on the calling thread: waking the pool costs more than it saves.
  if (chunks <= 2) ew_range(t, 0, t.n);
  else pool_run(ew_chunk, &t, chunks);
}

}  // namespace

void binary(int op, const float* a, const float* b, float* out, int64_t n, int64_t bLen) {
  EwTask t{op, a, b, out, n, bLen, 0.0f};
  ew_run(t);
}

void step(const float* x, float* out, int64_t n, float alpha) {
  EwTask t{kEwStep, x, nullptr, out, n, 1, alpha};
  ew_run(t);
}

void relu(const float* x, float* out, int64_t n) {
  EwTask t{kEwRelu, x, nullptr, out, n, 1, 0.0f};
  ew_run(t);
}

void leaky_relu(const float* x, float* out, int64_t n, float alpha) {
  EwTask t{kEwLeakyRelu, x, nullptr, out, n, 1, alpha};
  ew_run(t);
}

namespace {

struct PadTask {
  const uint32_t* src;
  uint32_t* dst;
  int rank;
  int64_t dims[8], before[8], after[8], srcStride[8], dstStride[8];
  uint32_t fill;
  int64_t perChunk;  // indices of the first axis per chunk
};

inline void fill_run(uint32_t* d, int64_t n, uint32_t bits) {
  if (n <= 0) return;
  if (bits == 0) std::memset(d, 0, n * 4);
  else std::fill(d, d + n, bits);
}

// Axis k of the block at s / d (d: where the axis' padded extent starts).
void pad_axis(const PadTask& t, int k, const uint32_t* s, uint32_t* d) {
  fill_run(d, t.before[k] * t.dstStride[k], t.fill);
  d += t.before[k] * t.dstStride[k];
  if (k == t.rank - 1) {
    std::memcpy(d, s, t.dims[k] * 4);
  } else {
    for (int64_t i = 0; i < t.dims[k]; i++) pad_axis(t, k + 1, s + i * t.srcStride[k], d + i * t.dstStride[k]);
  }
  fill_run(d + t.dims[k] * t.dstStride[k], t.after[k] * t.dstStride[k], t.fill);
}

// Chunk c: indices [c * perChunk, ...) of the first axis, plus its leading (first chunk) or
// trailing (last chunk) padding.
void pad_chunk(void* ctx, int64_t c) {
  const PadTask& t = *static_cast<PadTask*>(ctx);
  const int64_t i0 = c * t.perChunk, i1 = std::min(t.dims[0], i0 + t.perChunk);
  uint32_t* d = t.dst + t.before[0] * t.dstStride[0];
  if (c == 0) fill_run(t.dst, t.before[0] * t.dstStride[0], t.fill);
  if (i1 == t.dims[0]) fill_run(d + t.dims[0] * t.dstStride[0], t.after[0] * t.dstStride[0], t.fill);
  if (t.rank == 1) {
    std::memcpy(d + i0, t.src + i0, (i1 - i0) * 4);
    return;
  }
  for (int64_t i = i0; i < i1; i++) pad_axis(t, 1, t.src + i * t.srcStride[0], d + i * t.dstStride[0]);
}

}  // namespace

void pad_block(const uint32_t* src, uint32_t* dst, int rank, const int64_t* dims, const int64_t* before, const int64_t* after, uint32_t fillBits) {
  if (rank <= 0 || rank > 8) return;
  PadTask t{};
  t.src = src;
  t.dst = dst;
  t.rank = rank;
  t.fill = fillBits;
  int64_t total = 1, ss = 1, ds = 1;
  for (int k = rank - 1; k >= 0; k--) {
    t.dims[k] = dims[k];
    t.before[k] = before[k];
    t.after[k] = after[k];
    t.srcStride[k] = ss;
    t.dstStride[k] = ds;
    ss *= dims[k];
    ds *= before[k] + dims[k] + after[k];
    total = ds;
  }
  if (dims[0] == 0) {
    // Nothing to copy: all padding (the caller only pads non-empty inputs, but be safe).
    fill_run(dst, total, fillBits);
    return;
  }
  // About 64K values written per chunk.
  const int64_t perIndex = std::max<int64_t>(1, total / (before[0] + dims[0] + after[0]));
  t.perChunk = std::max<int64_t>(1, (int64_t(1) << 16) / perIndex);
  const int64_t chunks = (dims[0] + t.perChunk - 1) / t.perChunk;
  if (chunks <= 1) pad_chunk(&t, 0);
  else pool_run(pad_chunk, &t, chunks);
}

void bce_logits(const float* l, const float* t, const float* dy, float* out, int64_t n) {
  BceTask k{l, t, dy, out, n};
  pool_run(bce_chunk, &k, (n + kChunk - 1) / kChunk);
}

void adam(const AdamArgs& a) {
  pool_run(adam_chunk, const_cast<AdamArgs*>(&a), (a.n + kChunk - 1) / kChunk);
}

namespace {

struct Col2ImTask {
  const float* cols;
  float* dx;
  Col2Im p;
  int64_t rowsPer;
};

inline void add_run(float* d, const float* s, int64_t n) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) _mm256_storeu_ps(d + k, _mm256_add_ps(_mm256_loadu_ps(d + k), _mm256_loadu_ps(s + k)));
  for (; k < n; k++) d[k] += s[k];
}

// Chunk c: dx rows (n, ih) [c * rowsPer, (c + 1) * rowsPer) of the flattened [batch, inH].
void col2im_chunk(void* ctx, int64_t c) {
  const Col2ImTask& t = *static_cast<Col2ImTask*>(ctx);
  const Col2Im& p = t.p;
  const int64_t K = p.fh * p.fw * p.ic, rowLen = p.inW * p.ic;
  const int64_t r1 = std::min(p.batch * p.inH, (c + 1) * t.rowsPer);
  for (int64_t r = c * t.rowsPer; r < r1; r++) {
    const int64_t n = r / p.inH, ih = r % p.inH;
    float* d = t.dx + r * rowLen;
    std::memset(d, 0, rowLen * 4);
    for (int64_t i = 0; i < p.fh; i++) {
      const int64_t u = ih + p.top - i;
      if (u < 0 || u % p.sh != 0) continue;
      const int64_t oh = u / p.sh;
      if (oh >= p.outH) continue;
      const float* crow = t.cols + (n * p.outH + oh) * p.outW * K + i * p.fw * p.ic;
      for (int64_t ow = 0; ow < p.outW; ow++) {
        // Taps j with 0 <= iw0 + j < inW: one contiguous run of columns and of dx.
        const int64_t iw0 = ow * p.sw - p.left;
        const int64_t j0 = std::max<int64_t>(0, -iw0), j1 = std::min<int64_t>(p.fw, p.inW - iw0);
        if (j0 >= j1) continue;
        add_run(d + (iw0 + j0) * p.ic, crow + ow * K + j0 * p.ic, (j1 - j0) * p.ic);
      }
    }
  }
}

}  // namespace

void col2im(const float* cols, float* dx, const Col2Im& p) {
  const int64_t rows = p.batch * p.inH;
  if (rows <= 0 || p.inW * p.ic <= 0) return;
  // About 16K multiply-free adds per chunk.
  const int64_t perRow = std::max<int64_t>(1, p.inW * p.ic * ((p.fh + p.sh - 1) / p.sh) * ((p.fw + p.sw - 1) / p.sw));
  Col2ImTask t{cols, dx, p, std::max<int64_t>(1, (int64_t(1) << 14) / perRow)};
  const int64_t chunks = (rows + t.rowsPer - 1) / t.rowsPer;
  if (chunks == 1) col2im_chunk(&t, 0);
  else pool_run(col2im_chunk, &t, chunks);
}

// ---- direct convolutions ----------------------------------------------------------------
//
// The 6x16 register tile of the sgemm, with rows that read the operands where they lie
// instead of from an im2col copy. Forward and input gradient: rows are output pixels, each
// a list of segments (a filter row of fw*ic contiguous inputs, or one tap's oc values of dy)
// against a packed filter panel of 16 columns. Filter gradient: rows are 6 filter entries
// (i, j, c), columns 16 output channels, and the inner dimension is the pixels of a share
// of the batch, each share summed into its own partial filter.

namespace {

constexpr int kMaxSeg = 64;

thread_local AlignedBuf convPack, convPartial, convZeros;

// out[0..11] = sum over s < nseg, q < L of a[s*6 + r][q] * b[s][q*16 + col] (rows r < 6,
// columns 0-7 in out[2r], 8-15 in out[2r+1]).
inline void seg_kernel(int nseg, const float* const* a, const float* const* b, int64_t L, __m256* out) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int s = 0; s < nseg; s++) {
    const float *a0 = a[s * 6 + 0], *a1 = a[s * 6 + 1], *a2 = a[s * 6 + 2], *a3 = a[s * 6 + 3], *a4 = a[s * 6 + 4], *a5 = a[s * 6 + 5];
    const float* bp = b[s];
    for (int64_t q = 0; q < L; q++) {
      const __m256 b0 = _mm256_load_ps(bp + q * 16), b1 = _mm256_load_ps(bp + q * 16 + 8);
      __m256 v;
      v = _mm256_broadcast_ss(a0 + q); c00 = _mm256_fmadd_ps(v, b0, c00); c01 = _mm256_fmadd_ps(v, b1, c01);
      v = _mm256_broadcast_ss(a1 + q); c10 = _mm256_fmadd_ps(v, b0, c10); c11 = _mm256_fmadd_ps(v, b1, c11);
      v = _mm256_broadcast_ss(a2 + q); c20 = _mm256_fmadd_ps(v, b0, c20); c21 = _mm256_fmadd_ps(v, b1, c21);
      v = _mm256_broadcast_ss(a3 + q); c30 = _mm256_fmadd_ps(v, b0, c30); c31 = _mm256_fmadd_ps(v, b1, c31);
      v = _mm256_broadcast_ss(a4 + q); c40 = _mm256_fmadd_ps(v, b0, c40); c41 = _mm256_fmadd_ps(v, b1, c41);
      v = _mm256_broadcast_ss(a5 + q); c50 = _mm256_fmadd_ps(v, b0, c50); c51 = _mm256_fmadd_ps(v, b1, c51);
    }
  }
  out[0] = c00; out[1] = c01; out[2] = c10; out[3] = c11; out[4] = c20; out[5] = c21;
  out[6] = c30; out[7] = c31; out[8] = c40; out[9] = c41; out[10] = c50; out[11] = c51;
}

// Stores rows r < mr of a tile (row r at rows[r]), the first nr of 16 columns, after the
// bias (from column j0 of bias) and activation.
inline void store_tile(__m256* acc, float* const* rows, int64_t mr, int64_t nr, const float* bias, int64_t biasLen, int64_t j0, int act, float alpha) {
  const __m256i m0 = col_mask(nr, 0), m1 = col_mask(nr, 1);
  if (bias || act != kLinear) {
    __m256 bv0 = _mm256_setzero_ps(), bv1 = _mm256_setzero_ps();
    if (bias && biasLen > 1) {
      bv0 = _mm256_maskload_ps(bias + j0, m0);
      bv1 = _mm256_maskload_ps(bias + j0 + 8, m1);
    } else if (bias) {
      bv0 = bv1 = _mm256_set1_ps(bias[0]);
    }
    const __m256 va = _mm256_set1_ps(alpha);
    for (int64_t r = 0; r < mr; r++) {
      acc[2 * r] = act256(_mm256_add_ps(acc[2 * r], bv0), act, va);
      acc[2 * r + 1] = act256(_mm256_add_ps(acc[2 * r + 1], bv1), act, va);
    }
  }
  if (nr == 16) {
    for (int64_t r = 0; r < mr; r++) {
      _mm256_storeu_ps(rows[r], acc[2 * r]);
      _mm256_storeu_ps(rows[r] + 8, acc[2 * r + 1]);
    }
  } else {
    for (int64_t r = 0; r < mr; r++) {
      _mm256_maskstore_ps(rows[r], m0, acc[2 * r]);
      _mm256_maskstore_ps(rows[r] + 8, m1, acc[2 * r + 1]);
    }
  }
}

struct ConvFwdTask {
  const float* x;
  const float* packed;  // [oc tiles][K][16]
  float* y;
  Conv p;
  const float* bias;
  int64_t biasLen;
  int act;
  float alpha;
  int64_t K, M, rowsPer;
};

void conv_fwd_chunk(void* ctx, int64_t c) {
  const ConvFwdTask& t = *static_cast<ConvFwdTask*>(ctx);
  const Conv& p = t.p;
  const int64_t r0 = c * t.rowsPer, r1 = std::min(t.M, r0 + t.rowsPer);
  const int64_t L = p.fw * p.ic, plane = p.outH * p.outW, tiles = (p.oc + 15) / 16;
  const float* a[kMaxSeg * 6];
  const float* b[kMaxSeg];
  __m256 acc[12];
  for (int64_t i0 = r0; i0 < r1; i0 += 6) {
    const int64_t mr = std::min<int64_t>(6, r1 - i0);
    float* rows[6];
    int64_t n = i0 / plane, oh = (i0 % plane) / p.outW, ow = i0 % p.outW;
    for (int r = 0; r < 6; r++) {
      const int64_t pix = i0 + std::min<int64_t>(r, mr - 1);
      if (r > 0 && r < mr && ++ow == p.outW) {
        ow = 0;
        if (++oh == p.outH) {
          oh = 0;
          n++;
        }
      }
      const float* base = t.x + ((n * p.inH + oh * p.sh) * p.inW + ow * p.sw) * p.ic;
      for (int64_t s = 0; s < p.fh; s++) a[s * 6 + r] = base + s * p.inW * p.ic;
      rows[r] = t.y + pix * p.oc;
    }
    for (int64_t ot = 0; ot < tiles; ot++) {
      for (int64_t s = 0; s < p.fh; s++) b[s] = t.packed + (ot * t.K + s * L) * 16;
      seg_kernel(static_cast<int>(p.fh), a, b, L, acc);
      float* out[6];
      for (int r = 0; r < 6; r++) out[r] = rows[r] + ot * 16;
      store_tile(acc, out, mr, std::min<int64_t>(16, p.oc - ot * 16), t.bias, t.biasLen, ot * 16, t.act, t.alpha);
    }
  }
}

struct ConvInTask {
  const float* dy;
  const float* packed;  // [ic tiles][fh*fw][oc][16]
  float* dx;
  Conv p;
  const float* zeros;   // oc zeros: a tap that falls outside dy
  int64_t planesPer;
};

// Chunk c: phase planes [c * planesPer, (c + 1) * planesPer) of the flattened [batch, sh, sw].
// Plane (n, ph, pw) is the dx pixels (ph + a*sh, pw + b*sw) of image n: they share their
// taps (those with ph + top - i and pw + left - j multiples of the stride, reading dy at
// (a + dih, b + dow)), so a tile of 6 of them is one product over those taps' segments.
void conv_in_chunk(void* ctx, int64_t c) {
  const ConvInTask& t = *static_cast<ConvInTask*>(ctx);
  const Conv& p = t.p;
  const int64_t taps = p.fh * p.fw, tiles = (p.ic + 15) / 16, phases = p.sh * p.sw;
  const int64_t q1 = std::min(p.batch * phases, (c + 1) * t.planesPer);
  const float* a[kMaxSeg * 6];
  const float* b[kMaxSeg];
  int64_t tapOf[kMaxSeg];
  int64_t vi[kMaxSeg], vdih[kMaxSeg], vj[kMaxSeg], vdow[kMaxSeg];
  __m256 acc[12];
  for (int64_t plane = c * t.planesPer; plane < q1; plane++) {
    const int64_t n = plane / phases, ph = (plane % phases) / p.sw, pw = plane % p.sw;
    if (ph >= p.inH || pw >= p.inW) continue;
    const int64_t cntW = (p.inW - pw + p.sw - 1) / p.sw, cnt = ((p.inH - ph + p.sh - 1) / p.sh) * cntW;
    int ni = 0, nj = 0;
    for (int64_t i = 0; i < p.fh; i++)
      if ((((ph + p.top - i) % p.sh) + p.sh) % p.sh == 0) {
        vdih[ni] = (ph + p.top - i) / p.sh;
        vi[ni++] = i;
      }
    for (int64_t j = 0; j < p.fw; j++)
      if ((((pw + p.left - j) % p.sw) + p.sw) % p.sw == 0) {
        vdow[nj] = (pw + p.left - j) / p.sw;
        vj[nj++] = j;
      }
    const float* dyImg = t.dy + n * p.outH * p.outW * p.oc;
    float* dxImg = t.dx + n * p.inH * p.inW * p.ic;
    int64_t a0 = 0, b0 = 0;  // (a, b) of the tile's first pixel
    for (int64_t q0 = 0; q0 < cnt; q0 += 6) {
      const int64_t mr = std::min<int64_t>(6, cnt - q0);
      int64_t ra[6], rb[6];
      for (int64_t r = 0, aa = a0, bb = b0; r < 6; r++) {
        ra[r] = aa;
        rb[r] = bb;
        if (++bb == cntW) {
          bb = 0;
          aa++;
        }
        if (r + 1 == mr) {
          // The rows past the plane repeat its last pixel (computed, not stored).
          for (int64_t k = r + 1; k < 6; k++) ra[k] = ra[r], rb[k] = rb[r];
          a0 = aa;
          b0 = bb;
          break;
        }
        if (r == 5) a0 = aa, b0 = bb;
      }
      float* rows[6];
      for (int r = 0; r < 6; r++) rows[r] = dxImg + ((ph + ra[r] * p.sh) * p.inW + pw + rb[r] * p.sw) * p.ic;
      int nseg = 0;
      for (int ii = 0; ii < ni; ii++) {
        for (int jj = 0; jj < nj; jj++) {
          bool any = false;
          for (int r = 0; r < 6; r++) {
            const int64_t oh = ra[r] + vdih[ii], ow = rb[r] + vdow[jj];
            const bool in = oh >= 0 && oh < p.outH && ow >= 0 && ow < p.outW;
            a[nseg * 6 + r] = in ? dyImg + (oh * p.outW + ow) * p.oc : t.zeros;
            any |= in;
          }
          if (any) tapOf[nseg++] = vi[ii] * p.fw + vj[jj];
        }
      }
      for (int64_t ct = 0; ct < tiles; ct++) {
        for (int s = 0; s < nseg; s++) b[s] = t.packed + ((ct * taps + tapOf[s]) * p.oc) * 16;
        seg_kernel(nseg, a, b, p.oc, acc);
        float* out[6];
        for (int r = 0; r < 6; r++) out[r] = rows[r] + ct * 16;
        store_tile(acc, out, mr, std::min<int64_t>(16, p.ic - ct * 16), nullptr, 0, 0, kLinear, 0.0f);
      }
    }
  }
}

// One input channel (a transposed convolution to a grey image, or a first convolution's input
// gradient): the tile's 16 columns would hold one useful value, so the lanes run over 16
// pixels of a phase of a dx row instead. Each image's dy is first laid out as
// [outH][oc][outW] with zero margins (dyT), so the 16 dy values a tap reads for the 16
// pixels are contiguous.
struct ConvIn1Task {
  const float* dy;
  const float* w;
  float* dx;
  Conv p;
  int64_t padL, width, imagesPer;  // dyT row: padL zeros, outW values, zeros up to width
};

void conv_in1_chunk(void* ctx, int64_t c) {
  const ConvIn1Task& t = *static_cast<ConvIn1Task*>(ctx);
  const Conv& p = t.p;
  const int64_t n1 = std::min(p.batch, (c + 1) * t.imagesPer);
  float* dyT = convPartial.get(p.outH * p.oc * t.width);
  int64_t vi[kMaxSeg], voh[kMaxSeg], vj[kMaxSeg], vdow[kMaxSeg];
  alignas(32) float res[16];
  for (int64_t n = c * t.imagesPer; n < n1; n++) {
    std::memset(dyT, 0, p.outH * p.oc * t.width * sizeof(float));
    const float* dyn = t.dy + n * p.outH * p.outW * p.oc;
    for (int64_t oh = 0; oh < p.outH; oh++)
      for (int64_t ow = 0; ow < p.outW; ow++) {
        const float* src = dyn + (oh * p.outW + ow) * p.oc;
        float* dst = dyT + oh * p.oc * t.width + t.padL + ow;
        for (int64_t o = 0; o < p.oc; o++) dst[o * t.width] = src[o];
      }
    for (int64_t ih = 0; ih < p.inH; ih++) {
      int ni = 0;
      for (int64_t i = 0; i < p.fh; i++) {
        const int64_t u = ih + p.top - i;
        if (u < 0 || u % p.sh != 0 || u / p.sh >= p.outH) continue;
        vi[ni] = i;
        voh[ni++] = u / p.sh;
      }
      float* dxRow = t.dx + (n * p.inH + ih) * p.inW;
      for (int64_t pw = 0; pw < std::min(p.sw, p.inW); pw++) {
        int nj = 0;
        for (int64_t j = 0; j < p.fw; j++)
          if ((((pw + p.left - j) % p.sw) + p.sw) % p.sw == 0) {
            vdow[nj] = (pw + p.left - j) / p.sw;
            vj[nj++] = j;
          }
        const int64_t count = (p.inW - pw + p.sw - 1) / p.sw;
        for (int64_t t0 = 0; t0 < count; t0 += 16) {
          // Four chains of sums (two per 8 pixels) to hide the multiply-add latency.
          __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
          for (int ii = 0; ii < ni; ii++) {
            const float* rowT = dyT + voh[ii] * p.oc * t.width + t.padL + t0;
            for (int jj = 0; jj < nj; jj++) {
              const float* wt = t.w + (vi[ii] * p.fw + vj[jj]) * p.oc;
              const float* d = rowT + vdow[jj];
              int64_t o = 0;
              for (; o + 2 <= p.oc; o += 2, d += 2 * t.width) {
                const __m256 w0 = _mm256_broadcast_ss(wt + o), w1 = _mm256_broadcast_ss(wt + o + 1);
                a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(d), a0);
                a1 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(d + 8), a1);
                b0 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(d + t.width), b0);
                b1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(d + t.width + 8), b1);
              }
              if (o < p.oc) {
                const __m256 w0 = _mm256_broadcast_ss(wt + o);
                a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(d), a0);
                a1 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(d + 8), a1);
              }
            }
          }
          _mm256_store_ps(res, _mm256_add_ps(a0, b0));
          _mm256_store_ps(res + 8, _mm256_add_ps(a1, b1));
          const int64_t m = std::min<int64_t>(16, count - t0);
          float* out = dxRow + pw + t0 * p.sw;
          for (int64_t l = 0; l < m; l++) out[l * p.sw] = res[l];
        }
      }
    }
  }
}

struct ConvFilterTask {
  const float* x;
  const float* dy;
  float* partial;       // chunks x [kPad][ocPad]
  Conv p;
  const int64_t* koff;  // kPad offsets into a pixel's patch (rows past K repeat the last)
  int64_t K, kPad, ocPad, imagesPer, group;
};

void conv_filter_chunk(void* ctx, int64_t c) {
  const ConvFilterTask& t = *static_cast<ConvFilterTask*>(ctx);
  const Conv& p = t.p;
  float* part = t.partial + c * t.kPad * t.ocPad;
  std::memset(part, 0, t.kPad * t.ocPad * sizeof(float));
  const int64_t n0 = c * t.imagesPer, n1 = std::min(p.batch, n0 + t.imagesPer);
  const int64_t xImage = p.inH * p.inW * p.ic, dyImage = p.outH * p.outW * p.oc;
  const int64_t xStep = p.sw * p.ic, xRow = p.sh * p.inW * p.ic;
  for (int64_t g0 = n0; g0 < n1; g0 += t.group) {
    const int64_t g1 = std::min(n1, g0 + t.group);
    for (int64_t kt = 0; kt < t.kPad; kt += 6) {
      const int64_t o0 = t.koff[kt], o1 = t.koff[kt + 1], o2 = t.koff[kt + 2], o3 = t.koff[kt + 3], o4 = t.koff[kt + 4], o5 = t.koff[kt + 5];
      for (int64_t ot = 0; ot < t.ocPad; ot += 16) {
        const int64_t nr = std::min<int64_t>(16, p.oc - ot);
        const __m256i m0 = col_mask(nr, 0), m1 = col_mask(nr, 1);
        float* pc = part + kt * t.ocPad + ot;
        __m256 c00 = _mm256_load_ps(pc), c01 = _mm256_load_ps(pc + 8);
        __m256 c10 = _mm256_load_ps(pc + t.ocPad), c11 = _mm256_load_ps(pc + t.ocPad + 8);
        __m256 c20 = _mm256_load_ps(pc + 2 * t.ocPad), c21 = _mm256_load_ps(pc + 2 * t.ocPad + 8);
        __m256 c30 = _mm256_load_ps(pc + 3 * t.ocPad), c31 = _mm256_load_ps(pc + 3 * t.ocPad + 8);
        __m256 c40 = _mm256_load_ps(pc + 4 * t.ocPad), c41 = _mm256_load_ps(pc + 4 * t.ocPad + 8);
        __m256 c50 = _mm256_load_ps(pc + 5 * t.ocPad), c51 = _mm256_load_ps(pc + 5 * t.ocPad + 8);
        for (int64_t n = g0; n < g1; n++) {
          const float* xn = t.x + n * xImage;
          const float* d = t.dy + n * dyImage + ot;
          for (int64_t oh = 0; oh < p.outH; oh++) {
            const float* xp = xn + oh * xRow;
            for (int64_t ow = 0; ow < p.outW; ow++, xp += xStep, d += p.oc) {
              __m256 b0, b1;
              if (nr == 16) {
                b0 = _mm256_loadu_ps(d);
                b1 = _mm256_loadu_ps(d + 8);
              } else {
                b0 = _mm256_maskload_ps(d, m0);
                b1 = _mm256_maskload_ps(d + 8, m1);
              }
              __m256 v;
              v = _mm256_broadcast_ss(xp + o0); c00 = _mm256_fmadd_ps(v, b0, c00); c01 = _mm256_fmadd_ps(v, b1, c01);
              v = _mm256_broadcast_ss(xp + o1); c10 = _mm256_fmadd_ps(v, b0, c10); c11 = _mm256_fmadd_ps(v, b1, c11);
              v = _mm256_broadcast_ss(xp + o2); c20 = _mm256_fmadd_ps(v, b0, c20); c21 = _mm256_fmadd_ps(v, b1, c21);
              v = _mm256_broadcast_ss(xp + o3); c30 = _mm256_fmadd_ps(v, b0, c30); c31 = _mm256_fmadd_ps(v, b1, c31);
              v = _mm256_broadcast_ss(xp + o4); c40 = _mm256_fmadd_ps(v, b0, c40); c41 = _mm256_fmadd_ps(v, b1, c41);
              v = _mm256_broadcast_ss(xp + o5); c50 = _mm256_fmadd_ps(v, b0, c50); c51 = _mm256_fmadd_ps(v, b1, c51);
            }
          }
        }
        _mm256_store_ps(pc, c00); _mm256_store_ps(pc + 8, c01);
        _mm256_store_ps(pc + t.ocPad, c10); _mm256_store_ps(pc + t.ocPad + 8, c11);
        _mm256_store_ps(pc + 2 * t.ocPad, c20); _mm256_store_ps(pc + 2 * t.ocPad + 8, c21);
        _mm256_store_ps(pc + 3 * t.ocPad, c30); _mm256_store_ps(pc + 3 * t.ocPad + 8, c31);
        _mm256_store_ps(pc + 4 * t.ocPad, c40); _mm256_store_ps(pc + 4 * t.ocPad + 8, c41);
        _mm256_store_ps(pc + 5 * t.ocPad, c50); _mm256_store_ps(pc + 5 * t.ocPad + 8, c51);
      }
    }
  }
}


// ---- input gradient with one output channel (a decoder's last convolution) ----
//
// dy has one value per pixel, so the tile above would run products of length 1. Here each dx
// pixel gathers its valid taps (dy value, filter row of ic values) and sums them along the
// channels, NV vectors of 8 at a time.

struct ConvInOc1Task {
  const float* dy;
  const float* w;  // [fh][fw][ic]
  float* dx;
  Conv p;
  int64_t imagesPer;
};

template <int NV>
inline void in_oc1_block(const float* const* wt, const float* dv, int nt, float* out, bool tail, __m256i tailMask) {
  __m256 acc[NV];
  for (int v = 0; v < NV; v++) acc[v] = _mm256_setzero_ps();
  for (int k = 0; k < nt; k++) {
    const __m256 d = _mm256_broadcast_ss(dv + k);
    for (int v = 0; v < NV - 1; v++) acc[v] = _mm256_fmadd_ps(d, _mm256_loadu_ps(wt[k] + v * 8), acc[v]);
    const __m256 last = tail ? _mm256_maskload_ps(wt[k] + (NV - 1) * 8, tailMask) : _mm256_loadu_ps(wt[k] + (NV - 1) * 8);
    acc[NV - 1] = _mm256_fmadd_ps(d, last, acc[NV - 1]);
  }
  for (int v = 0; v < NV - 1; v++) _mm256_storeu_ps(out + v * 8, acc[v]);
  if (tail) _mm256_maskstore_ps(out + (NV - 1) * 8, tailMask, acc[NV - 1]);
  else _mm256_storeu_ps(out + (NV - 1) * 8, acc[NV - 1]);
}

void conv_in_oc1_chunk(void* ctx, int64_t c) {
  const ConvInOc1Task& t = *static_cast<ConvInOc1Task*>(ctx);
  const Conv& p = t.p;
  const int64_t n0 = c * t.imagesPer, n1 = std::min(p.batch, n0 + t.imagesPer), nvAll = (p.ic + 7) / 8;
  const __m256i tailMask = col_mask(p.ic % 8, 0);
  const float* wt[kMaxSeg];
  float dv[kMaxSeg];
  // The valid taps of each dx row and column, once (divisions per pixel and tap cost more
  // than the products): row ih reads filter row i at dy row oh, for rowCount[ih] pairs.
  std::vector<int64_t> rowTap(p.inH * p.fh * 2), colTap(p.inW * p.fw * 2);
  std::vector<int> rowCount(p.inH), colCount(p.inW);
  for (int64_t ih = 0; ih < p.inH; ih++)
    for (int64_t i = 0; i < p.fh; i++) {
      const int64_t hn = ih + p.top - i;
      if (hn < 0 || hn % p.sh != 0 || hn / p.sh >= p.outH) continue;
      int64_t* e = &rowTap[(ih * p.fh + rowCount[ih]++) * 2];
      e[0] = i;
      e[1] = hn / p.sh;
    }
  for (int64_t iw = 0; iw < p.inW; iw++)
    for (int64_t j = 0; j < p.fw; j++) {
      const int64_t wn = iw + p.left - j;
      if (wn < 0 || wn % p.sw != 0 || wn / p.sw >= p.outW) continue;
      int64_t* e = &colTap[(iw * p.fw + colCount[iw]++) * 2];
      e[0] = j;
      e[1] = wn / p.sw;
    }
  for (int64_t n = n0; n < n1; n++) {
    const float* dyImg = t.dy + n * p.outH * p.outW;
    for (int64_t ih = 0; ih < p.inH; ih++)
      for (int64_t iw = 0; iw < p.inW; iw++) {
        int nt = 0;
        for (int a = 0; a < rowCount[ih]; a++) {
          const int64_t* r = &rowTap[(ih * p.fh + a) * 2];
          for (int b = 0; b < colCount[iw]; b++) {
            const int64_t* q = &colTap[(iw * p.fw + b) * 2];
            dv[nt] = dyImg[r[1] * p.outW + q[1]];
            wt[nt++] = t.w + (r[0] * p.fw + q[0]) * p.ic;
          }
        }
        float* out = t.dx + ((n * p.inH + ih) * p.inW + iw) * p.ic;
        for (int64_t v0 = 0; v0 < nvAll; v0 += 8) {
          const int64_t k = std::min<int64_t>(8, nvAll - v0);
          const bool tail = p.ic % 8 != 0 && v0 + k == nvAll;
          const float* wk[kMaxSeg];
          for (int s = 0; s < nt; s++) wk[s] = wt[s] + v0 * 8;
          float* o = out + v0 * 8;
          switch (k) {
            case 1: in_oc1_block<1>(wk, dv, nt, o, tail, tailMask); break;
            case 2: in_oc1_block<2>(wk, dv, nt, o, tail, tailMask); break;
            case 3: in_oc1_block<3>(wk, dv, nt, o, tail, tailMask); break;
            case 4: in_oc1_block<4>(wk, dv, nt, o, tail, tailMask); break;
            case 5: in_oc1_block<5>(wk, dv, nt, o, tail, tailMask); break;
            case 6: in_oc1_block<6>(wk, dv, nt, o, tail, tailMask); break;
            case 7: in_oc1_block<7>(wk, dv, nt, o, tail, tailMask); break;
            default: in_oc1_block<8>(wk, dv, nt, o, tail, tailMask); break;
          }
        }
      }
  }
}

// ---- one output channel (a decoder's last convolution to a grey image) ----
//
// With oc = 1 the 6x16 tile above would fill one of its 16 columns. Here each output pixel is
// a dot product of fh contiguous input rows (fw*ic values each, NHWC) with the filter's rows,
// vectorised along those rows: the forward pass takes 8 pixels at a time and reduces their 8
// accumulators into one vector (then bias and activation as for any tile); the filter gradient
// adds dy[pixel] * row to up to 6 vectors of a filter row kept in registers.

// The sums of the 8 lanes of a0..a7, as one vector (lane r: the sum of ar).
inline __m256 hsum8(const __m256* a) {
  const __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
  const __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20), _mm256_permute2f128_ps(t0, t1, 0x31));
}

struct ConvFwd1Task {
  const float* x;
  const float* w;  // [fh][Lpad], zero past L
  float* y;
  Conv p;
  const float* bias;
  int act;
  float alpha;
  int64_t L, Lpad, M, rowsPer;
};

void conv_fwd1_chunk(void* ctx, int64_t c) {
  const ConvFwd1Task& t = *static_cast<ConvFwd1Task*>(ctx);
  const Conv& p = t.p;
  const int64_t r0 = c * t.rowsPer, r1 = std::min(t.M, r0 + t.rowsPer);
  const int64_t plane = p.outH * p.outW, inRow = p.inW * p.ic, nv = t.Lpad / 8;
  const bool tail = t.L % 8 != 0;
  const __m256i tailMask = col_mask(t.L % 8, 0);
  const __m256 va = _mm256_set1_ps(t.alpha), vb = _mm256_set1_ps(t.bias ? t.bias[0] : 0.0f);
  for (int64_t i0 = r0; i0 < r1; i0 += 8) {
    const int64_t mr = std::min<int64_t>(8, r1 - i0);
    const float* base[8];
    int64_t n = i0 / plane, oh = (i0 % plane) / p.outW, ow = i0 % p.outW;
    for (int r = 0; r < 8; r++) {
      if (r > 0 && r < mr && ++ow == p.outW) {
        ow = 0;
        if (++oh == p.outH) {
          oh = 0;
          n++;
        }
      }
      base[r] = t.x + ((n * p.inH + oh * p.sh) * p.inW + ow * p.sw) * p.ic;  // rows past mr repeat the last pixel
    }
    __m256 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
    for (int64_t s = 0; s < p.fh; s++) {
      const float* ws = t.w + s * t.Lpad;
      const int64_t rowOff = s * inRow;
      for (int64_t v = 0; v < nv; v++) {
        const __m256 wv = _mm256_load_ps(ws + v * 8);
        const int64_t q = rowOff + v * 8;
        if (tail && v == nv - 1) {
          for (int r = 0; r < 8; r++) acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(base[r] + q, tailMask), wv, acc[r]);
        } else {
          for (int r = 0; r < 8; r++) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(base[r] + q), wv, acc[r]);
        }
      }
    }
    __m256 out = _mm256_add_ps(hsum8(acc), vb);
    if (t.act != kLinear) out = act256(out, t.act, va);
    if (mr == 8) _mm256_storeu_ps(t.y + i0, out);
    else _mm256_maskstore_ps(t.y + i0, col_mask(mr, 0), out);
  }
}

// Output pixels per chunk of a direct forward convolution whose register tile holds `tile`
// pixels: about 16 chunks per thread, whole tiles, at least 8 tiles.
inline int64_t pixels_per_chunk(int64_t M, int64_t tile) {
  const int nt = pool_threads();
  const int64_t want = (M + 16 * nt - 1) / (16 * nt);
  return std::max<int64_t>(8 * tile, (want + tile - 1) / tile * tile);
}

// Whole images per chunk of a filter gradient (each chunk sums into its own partial filter):
// up to 4 chunks per thread.
inline int64_t images_per_chunk(int64_t batch) {
  const int nt = pool_threads();
  const int64_t chunks = std::min<int64_t>(batch, nt <= 1 ? 1 : 4 * nt);
  return (batch + chunks - 1) / chunks;
}

struct ConvFilter1Task {
  const float* x;
  const float* dy;
  float* partial;  // chunks x [fh][Lpad]
  Conv p;
  int64_t L, Lpad, imagesPer;
};

// acc[0..NV) (+)= dy[pixel] * the NV vectors of filter row s at each output pixel of image n;
// the last vector masked when `tail`.
template <int NV>
inline void filter1_row(const ConvFilter1Task& t, int64_t n, int64_t s, int64_t q0, bool tail, __m256i tailMask, float* out) {
  const Conv& p = t.p;
  __m256 acc[NV];
  for (int v = 0; v < NV; v++) acc[v] = _mm256_load_ps(out + v * 8);
  const float* d = t.dy + n * p.outH * p.outW;
  const int64_t xStep = p.sw * p.ic;
  for (int64_t oh = 0; oh < p.outH; oh++) {
    const float* xp = t.x + ((n * p.inH + oh * p.sh + s) * p.inW) * p.ic + q0;
    for (int64_t ow = 0; ow < p.outW; ow++, xp += xStep) {
      const __m256 dv = _mm256_broadcast_ss(d++);
      for (int v = 0; v < NV - 1; v++) acc[v] = _mm256_fmadd_ps(dv, _mm256_loadu_ps(xp + v * 8), acc[v]);
      const __m256 last = tail ? _mm256_maskload_ps(xp + (NV - 1) * 8, tailMask) : _mm256_loadu_ps(xp + (NV - 1) * 8);
      acc[NV - 1] = _mm256_fmadd_ps(dv, last, acc[NV - 1]);
    }
  }
  for (int v = 0; v < NV; v++) _mm256_store_ps(out + v * 8, acc[v]);
}

void conv_filter1_chunk(void* ctx, int64_t c) {
  const ConvFilter1Task& t = *static_cast<ConvFilter1Task*>(ctx);
  const Conv& p = t.p;
  float* part = t.partial + c * p.fh * t.Lpad;
  std::memset(part, 0, p.fh * t.Lpad * sizeof(float));
  const int64_t n0 = c * t.imagesPer, n1 = std::min(p.batch, n0 + t.imagesPer), nv = t.Lpad / 8;
  const __m256i tailMask = col_mask(t.L % 8, 0);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t s = 0; s < p.fh; s++)
      for (int64_t v0 = 0; v0 < nv; v0 += 6) {
        const int64_t k = std::min<int64_t>(6, nv - v0);
        const bool tail = t.L % 8 != 0 && v0 + k == nv;
        float* out = part + s * t.Lpad + v0 * 8;
        switch (k) {
          case 1: filter1_row<1>(t, n, s, v0 * 8, tail, tailMask, out); break;
          case 2: filter1_row<2>(t, n, s, v0 * 8, tail, tailMask, out); break;
          case 3: filter1_row<3>(t, n, s, v0 * 8, tail, tailMask, out); break;
          case 4: filter1_row<4>(t, n, s, v0 * 8, tail, tailMask, out); break;
          case 5: filter1_row<5>(t, n, s, v0 * 8, tail, tailMask, out); break;
          default: filter1_row<6>(t, n, s, v0 * 8, tail, tailMask, out); break;
        }
      }
}

void conv2d_forward_oc1(const float* x, const float* w, float* y, const Conv& p, const float* bias, int act, float alpha) {
  const int64_t M = p.batch * p.outH * p.outW, L = p.fw * p.ic, Lpad = (L + 7) / 8 * 8;
  float* wp = convPack.get(p.fh * Lpad);
  for (int64_t s = 0; s < p.fh; s++)
    for (int64_t q = 0; q < Lpad; q++) wp[s * Lpad + q] = q < L ? w[s * L + q] : 0.0f;
  const int64_t rowsPer = pixels_per_chunk(M, 8);
  ConvFwd1Task t{x, wp, y, p, bias, act, alpha, L, Lpad, M, rowsPer};
  const int64_t chunks = (M + rowsPer - 1) / rowsPer;
  if (chunks == 1) conv_fwd1_chunk(&t, 0);
  else pool_run(conv_fwd1_chunk, &t, chunks);
}

void conv2d_filter_grad_oc1(const float* x, const float* dy, float* dw, const Conv& p) {
  const int64_t L = p.fw * p.ic, Lpad = (L + 7) / 8 * 8;
  const int64_t imagesPer = images_per_chunk(p.batch), chunks = (p.batch + imagesPer - 1) / imagesPer;
  float* partial = convPartial.get(chunks * p.fh * Lpad);
  ConvFilter1Task t{x, dy, partial, p, L, Lpad, imagesPer};
  if (chunks == 1) conv_filter1_chunk(&t, 0);
  else pool_run(conv_filter1_chunk, &t, chunks);
  for (int64_t s = 0; s < p.fh; s++)
    for (int64_t q = 0; q < L; q++) {
      float sum = 0;
      for (int64_t k = 0; k < chunks; k++) sum += partial[(k * p.fh + s) * Lpad + q];
      dw[s * L + q] = sum;
    }
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const Conv& p, const float* bias, int64_t biasLen, int act, float alpha) {
  const int64_t M = p.batch * p.outH * p.outW, K = p.fh * p.fw * p.ic, tiles = (p.oc + 15) / 16;
  if (M <= 0 || p.oc <= 0) return;
  if (p.oc == 1) return conv2d_forward_oc1(x, w, y, p, biasLen > 0 ? bias : nullptr, act, alpha);
  // The filter [K, oc] in panels of 16 columns, zero-padded.
  float* packed = convPack.get(tiles * K * 16);
  for (int64_t ot = 0; ot < tiles; ot++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t l = 0; l < 16; l++) {
        const int64_t o = ot * 16 + l;
        packed[(ot * K + k) * 16 + l] = o < p.oc ? w[k * p.oc + o] : 0.0f;
      }
  const int64_t rowsPer = pixels_per_chunk(M, 6);
  ConvFwdTask t{x, packed, y, p, bias, biasLen, act, alpha, K, M, rowsPer};
  const int64_t chunks = (M + rowsPer - 1) / rowsPer;
  if (chunks == 1) conv_fwd_chunk(&t, 0);
  else pool_run(conv_fwd_chunk, &t, chunks);
}

void conv2d_input_grad(const float* dy, const float* w, float* dx, const Conv& p) {
  const int64_t rows = p.batch * p.inH, taps = p.fh * p.fw, tiles = (p.ic + 15) / 16;
  if (rows <= 0 || p.inW * p.ic <= 0) return;
  if (p.ic == 1) {
    // dyT margins: a pixel t of a phase reads dy column t + dow, dow = (pw + left - j) / sw,
    // for t < count rounded up to 16.
    int64_t dowMin = 0, dowMax = 0, countMax = 0;
    for (int64_t pw = 0; pw < std::min(p.sw, p.inW); pw++) {
      countMax = std::max(countMax, (p.inW - pw + p.sw - 1) / p.sw);
      for (int64_t j = 0; j < p.fw; j++)
        if ((((pw + p.left - j) % p.sw) + p.sw) % p.sw == 0) {
          dowMin = std::min(dowMin, (pw + p.left - j) / p.sw);
          dowMax = std::max(dowMax, (pw + p.left - j) / p.sw);
        }
    }
    const int64_t padL = -dowMin, reach = (countMax + 15) / 16 * 16 + dowMax;
    const int64_t width = padL + std::max(p.outW, reach);
    const int nt = pool_threads();
    const int64_t imagesPer = std::max<int64_t>(1, p.batch / (8 * nt));
    ConvIn1Task t{dy, w, dx, p, padL, width, imagesPer};
    const int64_t chunks = (p.batch + imagesPer - 1) / imagesPer;
    if (chunks == 1) conv_in1_chunk(&t, 0);
    else pool_run(conv_in1_chunk, &t, chunks);
    return;
  }
  if (p.oc == 1) {
    const int nt = pool_threads();
    const int64_t imagesPer = std::max<int64_t>(1, p.batch / (4 * nt));
    ConvInOc1Task t{dy, w, dx, p, imagesPer};
    const int64_t chunks = (p.batch + imagesPer - 1) / imagesPer;
    if (chunks == 1) conv_in_oc1_chunk(&t, 0);
    else pool_run(conv_in_oc1_chunk, &t, chunks);
    return;
  }
  // The filter read transposed: panel ct holds, per tap and output channel o, 16 input channels.
  float* packed = convPack.get(tiles * taps * p.oc * 16);
  for (int64_t ct = 0; ct < tiles; ct++)
    for (int64_t tap = 0; tap < taps; tap++)
      for (int64_t o = 0; o < p.oc; o++)
        for (int64_t l = 0; l < 16; l++) {
          const int64_t c = ct * 16 + l;
          packed[((ct * taps + tap) * p.oc + o) * 16 + l] = c < p.ic ? w[(tap * p.ic + c) * p.oc + o] : 0.0f;
        }
  float* zeros = convZeros.get(std::max<int64_t>(p.oc, 1));
  std::memset(zeros, 0, std::max<int64_t>(p.oc, 1) * sizeof(float));
  const int nt = pool_threads();
  const int64_t planes = p.batch * p.sh * p.sw;
  const int64_t planesPer = std::max<int64_t>(1, planes / (16 * nt));
  ConvInTask t{dy, packed, dx, p, zeros, planesPer};
  const int64_t chunks = (planes + planesPer - 1) / planesPer;
  if (chunks == 1) conv_in_chunk(&t, 0);
  else pool_run(conv_in_chunk, &t, chunks);
}

void conv2d_filter_grad(const float* x, const float* dy, float* dw, const Conv& p) {
  const int64_t K = p.fh * p.fw * p.ic;
  if (K <= 0 || p.oc <= 0) return;
  const int64_t kPad = (K + 5) / 6 * 6, ocPad = (p.oc + 15) / 16 * 16;
  if (p.batch <= 0 || p.outH * p.outW <= 0) {
    std::memset(dw, 0, K * p.oc * sizeof(float));
    return;
  }
  if (p.oc == 1) return conv2d_filter_grad_oc1(x, dy, dw, p);
  std::vector<int64_t> offs(kPad);
  int64_t* off = offs.data();
  for (int64_t k = 0; k < kPad; k++) {
    const int64_t kk = std::min(k, K - 1), c = kk % p.ic, tap = kk / p.ic, i = tap / p.fw, j = tap % p.fw;
    off[k] = (i * p.inW + j) * p.ic + c;
  }
  const int64_t imagesPer = images_per_chunk(p.batch), chunks = (p.batch + imagesPer - 1) / imagesPer;
  const int64_t bytes = (p.inH * p.inW * p.ic + p.outH * p.outW * p.oc) * 4;
  const int64_t group = std::max<int64_t>(1, std::min<int64_t>(imagesPer, (int64_t(128) << 10) / std::max<int64_t>(bytes, 1)));
  float* partial = convPartial.get(chunks * kPad * ocPad);
  ConvFilterTask t{x, dy, partial, p, off, K, kPad, ocPad, imagesPer, group};
  if (chunks == 1) conv_filter_chunk(&t, 0);
  else pool_run(conv_filter_chunk, &t, chunks);
  for (int64_t k = 0; k < K; k++)
    for (int64_t o = 0; o < p.oc; o++) {
      float s = 0;
      for (int64_t q = 0; q < chunks; q++) s += partial[(q * kPad + k) * ocPad + o];
      dw[k * p.oc + o] = s;
    }
}

// ---- max pooling's gradient ------------------------------------------------------------------
//
// Each window's gradient goes to its first tap equal to the pooled output (the cpu backend's
// rule; aelab's JS wasm kernel's too). Channels are contiguous in NHWC, so 8 of them are
// searched at once: a mask keeps the lanes whose maximum is still to be found, and each tap
// adds dy into the lanes of dx where it is that maximum (a blend, so the other lanes keep
// their bits). Outputs are visited in the same order as the scalar kernel, so overlapping
// windows sum into dx in the same order: the same values bit for bit.

namespace {

struct MaxPoolGradTask {
  const float* x;
  const float* y;
  const float* dy;
  float* dx;
  MaxPoolGrad p;
  int64_t itemsPer;
};

// Lanes c..c+7 of one window: taps (i, j) for i in [i0, i1), j in [j0, j1), x and dx at
// q0 + (i * inW + j) * C (q0 already includes the channel).
inline void pool_grad8(const float* x, float* dx, int64_t q0, int64_t rowStep, int64_t C, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                       __m256 m, __m256 g) {
  // No branch on the comparisons: which tap holds a maximum is as unpredictable as the data,
  // and every tap of a small window costs less than a mispredicted branch.
  __m256 open = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  for (int64_t i = i0; i < i1; i++) {
    for (int64_t j = j0, q = q0 + i * rowStep + j0 * C; j < j1; j++, q += C) {
      const __m256 hit = _mm256_and_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + q), m, _CMP_EQ_OQ), open);
      const __m256 d = _mm256_loadu_ps(dx + q);
      _mm256_storeu_ps(dx + q, _mm256_blendv_ps(d, _mm256_add_ps(d, g), hit));
      open = _mm256_andnot_ps(hit, open);
    }
  }
}

// One channel of one window, as pool_grad8.
inline void pool_grad1(const float* x, float* dx, int64_t q0, int64_t rowStep, int64_t C, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                       float m, float g) {
  for (int64_t i = i0; i < i1; i++) {
    for (int64_t j = j0, q = q0 + i * rowStep + j0 * C; j < j1; j++, q += C) {
      if (x[q] == m) {
        dx[q] += g;
        return;
      }
    }
  }
}

// Chunk c: batch items [c * itemsPer, (c + 1) * itemsPer).
void max_pool_grad_chunk(void* ctx, int64_t chunk) {
  const MaxPoolGradTask& t = *static_cast<MaxPoolGradTask*>(ctx);
  const MaxPoolGrad& p = t.p;
  const int64_t C = p.c, inItem = p.inH * p.inW * C, outItem = p.outH * p.outW * C, rowStep = p.inW * C, cv = C / 8 * 8;
  const int64_t b1 = std::min(p.batch, (chunk + 1) * t.itemsPer);
  for (int64_t b = chunk * t.itemsPer; b < b1; b++) {
    const float* x = t.x + b * inItem;
    float* dx = t.dx + b * inItem;
    const float* y = t.y + b * outItem;
    const float* dy = t.dy + b * outItem;
    std::memset(dx, 0, inItem * sizeof(float));
    for (int64_t oy = 0; oy < p.outH; oy++) {
      const int64_t y0 = oy * p.sh - p.top;
      const int64_t i0 = std::max<int64_t>(0, -y0), i1 = std::min<int64_t>(p.fh, p.inH - y0);
      for (int64_t ox = 0; ox < p.outW; ox++, y += C, dy += C) {
        const int64_t x0 = ox * p.sw - p.left;
        const int64_t j0 = std::max<int64_t>(0, -x0), j1 = std::min<int64_t>(p.fw, p.inW - x0);
        if (i0 >= i1 || j0 >= j1) continue;
        // The window's corner (y0, x0) may lie in the padding: only taps inside are read.
        const int64_t corner = y0 * rowStep + x0 * C;
        int64_t c = 0;
        for (; c < cv; c += 8) pool_grad8(x, dx, corner + c, rowStep, C, i0, i1, j0, j1, _mm256_loadu_ps(y + c), _mm256_loadu_ps(dy + c));
        for (; c < C; c++) pool_grad1(x, dx, corner + c, rowStep, C, i0, i1, j0, j1, y[c], dy[c]);
      }
    }
  }
}

}  // namespace

void max_pool_grad(const float* x, const float* y, const float* dy, float* dx, const MaxPoolGrad& p) {
  const int64_t inItem = p.inH * p.inW * p.c;
  if (p.batch <= 0 || inItem <= 0) return;
  // About 32K taps (and an item's dx) per chunk.
  const int64_t perItem = std::max<int64_t>(1, p.outH * p.outW * p.c * p.fh * p.fw + inItem);
  MaxPoolGradTask t{x, y, dy, dx, p, std::max<int64_t>(1, (int64_t(1) << 15) / perItem)};
  const int64_t chunks = (p.batch + t.itemsPer - 1) / t.itemsPer;
  if (chunks == 1) max_pool_grad_chunk(&t, 0);
  else pool_run(max_pool_grad_chunk, &t, chunks);
}

// ---- batch normalisation over the rows of [rows, C] (channels innermost) ----------------
//
// Per-channel sums over row chunks into float partials (4096 rows at most each, added in
// double at the end), then one element-wise pass. Statistics take two passes over x (the
// mean, then squared deviations), so no variance is lost to cancellation.

namespace {

constexpr int64_t kBnRows = 4096;

// Channel vectors padded to a multiple of 8 with zeros.
thread_local AlignedBuf bnPartial, bnVec;

struct BnSumTask {
  const float* x;
  const float* dy;    // mode 2
  const float* mean;  // Cpad (modes 1, 2)
  float* partial;     // chunks x 2 x Cpad
  int64_t rows, C, Cpad, rowsPer;
  int mode;           // 0: sum x; 1: sum (x - mean)^2; 2: sum dy and dy * (x - mean)
};

void bn_sum_chunk(void* ctx, int64_t c) {
  const BnSumTask& t = *static_cast<BnSumTask*>(ctx);
  float* s0 = t.partial + c * 2 * t.Cpad;
  float* s1 = s0 + t.Cpad;
  std::memset(s0, 0, 2 * t.Cpad * sizeof(float));
  const int64_t r0 = c * t.rowsPer, r1 = std::min(t.rows, r0 + t.rowsPer), cv = t.C / 8 * 8;
  const __m256i tail = col_mask(t.C - cv, 0);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = t.x + r * t.C;
    const float* dr = t.mode == 2 ? t.dy + r * t.C : nullptr;
    for (int64_t j = 0; j < t.C; j += 8) {
      const bool full = j < cv;
      const __m256 xv = full ? _mm256_loadu_ps(xr + j) : _mm256_maskload_ps(xr + j, tail);
      if (t.mode == 0) {
        _mm256_store_ps(s0 + j, _mm256_add_ps(_mm256_load_ps(s0 + j), xv));
        continue;
      }
      // Masked lanes: x = 0 and mean = 0 (padding), so they add nothing.
      const __m256 d = _mm256_sub_ps(xv, _mm256_load_ps(t.mean + j));
      if (t.mode == 1) {
        _mm256_store_ps(s0 + j, _mm256_fmadd_ps(d, d, _mm256_load_ps(s0 + j)));
      } else {
        const __m256 g = full ? _mm256_loadu_ps(dr + j) : _mm256_maskload_ps(dr + j, tail);
        _mm256_store_ps(s0 + j, _mm256_add_ps(_mm256_load_ps(s0 + j), g));
        _mm256_store_ps(s1 + j, _mm256_fmadd_ps(g, d, _mm256_load_ps(s1 + j)));
      }
    }
  }
}

// out[j] (j < C) = the sum over chunks of partial row `which` (0 or 1), in double.
void bn_sums(const BnSumTask& t, int64_t chunks, int which, double* out) {
  for (int64_t j = 0; j < t.C; j++) out[j] = 0;
  for (int64_t c = 0; c < chunks; c++) {
    const float* s = t.partial + (c * 2 + which) * t.Cpad;
    for (int64_t j = 0; j < t.C; j++) out[j] += s[j];
  }
}

int64_t bn_run_sums(BnSumTask& t) {
  t.rowsPer = std::min<int64_t>(kBnRows, std::max<int64_t>(64, (t.rows + 4 * pool_threads() - 1) / (4 * pool_threads())));
  const int64_t chunks = (t.rows + t.rowsPer - 1) / t.rowsPer;
  t.partial = bnPartial.get(chunks * 2 * t.Cpad);
  if (chunks == 1 || t.rows * t.C < (int64_t(1) << 15)) {
    for (int64_t c = 0; c < chunks; c++) bn_sum_chunk(&t, c);
  } else {
    pool_run(bn_sum_chunk, &t, chunks);
  }
  return chunks;
}

struct BnApplyTask {
  const float* x;
  const float* dy;  // backward only
  float* out;
  const float* mean; const float* k; const float* m2; const float* q;  // Cpad each
  int64_t rows, C, rowsPer;
  bool backward;
};

// forward: out = (x - mean) * k + m2; backward: out = ((dy - m2) - (x - mean) * q) * k.
void bn_apply_chunk(void* ctx, int64_t c) {
  const BnApplyTask& t = *static_cast<BnApplyTask*>(ctx);
  const int64_t r0 = c * t.rowsPer, r1 = std::min(t.rows, r0 + t.rowsPer), cv = t.C / 8 * 8;
  const __m256i tail = col_mask(t.C - cv, 0);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = t.x + r * t.C;
    float* o = t.out + r * t.C;
    for (int64_t j = 0; j < t.C; j += 8) {
      const bool full = j < cv;
      const __m256 d = _mm256_sub_ps(full ? _mm256_loadu_ps(xr + j) : _mm256_maskload_ps(xr + j, tail), _mm256_load_ps(t.mean + j));
      __m256 v;
      if (!t.backward) {
        v = _mm256_fmadd_ps(d, _mm256_load_ps(t.k + j), _mm256_load_ps(t.m2 + j));
      } else {
        const __m256 g = full ? _mm256_loadu_ps(t.dy + r * t.C + j) : _mm256_maskload_ps(t.dy + r * t.C + j, tail);
        v = _mm256_mul_ps(_mm256_fnmadd_ps(d, _mm256_load_ps(t.q + j), _mm256_sub_ps(g, _mm256_load_ps(t.m2 + j))), _mm256_load_ps(t.k + j));
      }
      if (full) _mm256_storeu_ps(o + j, v);
      else _mm256_maskstore_ps(o + j, tail, v);
    }
  }
}

void bn_apply(BnApplyTask& t) {
  t.rowsPer = std::max<int64_t>(16, (t.rows + 4 * pool_threads() - 1) / (4 * pool_threads()));
  const int64_t chunks = (t.rows + t.rowsPer - 1) / t.rowsPer;
  if (chunks == 1 || t.rows * t.C < (int64_t(1) << 15)) {
    for (int64_t c = 0; c < chunks; c++) bn_apply_chunk(&t, c);
  } else {
    pool_run(bn_apply_chunk, &t, chunks);
  }
}

}  // namespace

void batch_norm(const BatchNormArgs& a) {
  const int64_t rows = a.rows, C = a.C, Cpad = (C + 7) / 8 * 8;
  if (rows <= 0 || C <= 0) return;
  // Five padded channel vectors: mean, k, m2, q, and a spare.
  float* vec = bnVec.get(5 * Cpad);
  std::memset(vec, 0, 5 * Cpad * sizeof(float));
  float *mean = vec, *k = vec + Cpad, *m2 = vec + 2 * Cpad, *q = vec + 3 * Cpad;
  std::vector<double> s0(C), s1(C);
  std::vector<float> var(C);
  BnSumTask st{a.x, a.dy, mean, nullptr, rows, C, Cpad, 0, 0};
  if (a.mode == 0) {
    st.mode = 0;
    int64_t chunks = bn_run_sums(st);
    bn_sums(st, chunks, 0, s0.data());
    for (int64_t j = 0; j < C; j++) mean[j] = static_cast<float>(s0[j] / rows);
    st.mode = 1;
    chunks = bn_run_sums(st);
    bn_sums(st, chunks, 0, s1.data());
    for (int64_t j = 0; j < C; j++) {
      var[j] = static_cast<float>(s1[j] / rows);
      a.meanOut[j] = mean[j];
      a.varOut[j] = var[j];
    }
  } else {
    for (int64_t j = 0; j < C; j++) {
      mean[j] = a.mean[j];
      var[j] = a.var[j];
    }
  }
  BnApplyTask at{a.x, a.dy, a.out, mean, k, m2, q, rows, C, 0, a.mode == 2};
  if (a.mode != 2) {
    // The coefficient in double, rounded once (as the cpu backend computes it): with small
    // variances the next layers amplify every rounding here.
    for (int64_t j = 0; j < C; j++) {
      k[j] = static_cast<float>((a.gamma ? static_cast<double>(a.gamma[j]) : 1.0) / std::sqrt(static_cast<double>(var[j]) + a.eps));
      m2[j] = a.beta ? a.beta[j] : 0.0f;
    }
    bn_apply(at);
    return;
  }
  st.mode = 2;
  const int64_t chunks = bn_run_sums(st);
  bn_sums(st, chunks, 0, s0.data());  // sum dy
  bn_sums(st, chunks, 1, s1.data());  // sum dy * (x - mean)
  for (int64_t j = 0; j < C; j++) {
    const double rstd = 1.0 / std::sqrt(static_cast<double>(var[j]) + a.eps);
    const double dgamma = s1[j] * rstd;
    a.dgamma[j] = static_cast<float>(dgamma);
    a.dbeta[j] = static_cast<float>(s0[j]);
    k[j] = static_cast<float>((a.gamma ? a.gamma[j] : 1.0f) * rstd);
    m2[j] = static_cast<float>(s0[j] / rows);
    q[j] = static_cast<float>(rstd * dgamma / rows);
  }
  bn_apply(at);
}

}  // namespace aelab
