/* The sampler's passes over the whole vocabulary in one call: the k most likely tokens, the largest
 * logit, and the two sums that softmax and entropy need. sampling.py's `sample` does the rest (the
 * stages, the draw) on those k, so nothing the teaching views show changes.
 *
 * Why native: a decode step spent ~0.4 ms (SmolLM2, 49,152 logits) and ~1.2 ms (a Gemma-3-shaped
 * model, 262,144) in a dozen PyTorch passes (max, exp, sums, a top-k over everything), each with a
 * vocabulary-sized temporary that also pushed the model's weights out of the cache. Here: two passes,
 * no allocation.
 *
 * CMakeLists.txt compiles this file once per instruction set of the target: plain (the portable
 * copy, scalar), and on x86-64 again with the AVX2 and with the AVX-512 flags, PG_SAMPLE_SUFFIX
 * naming each copy's entry point (pg_logit_scan_portable, _avx2, _avx512). Python calls the copy of
 * the variant the kernels run (sampling_native.py); no C file calls into this one.
 *
 * The top k come in a fixed order: larger logit first, between equal logits the smaller token id
 * first (torch.topk promises no order for ties). Their ids and values are the logits' own; the sums
 * use a polynomial exp (relative error ~2e-7), summed in float32 per lane over 1,024 logits, then in
 * double.
 */
#include <stdlib.h>

#include "kernels.h"

#if defined(PG_X86) && (defined(__AVX2__) || defined(__AVX512F__))
#include <immintrin.h>
#endif

#ifndef PG_SAMPLE_SUFFIX
#define PG_SAMPLE_SUFFIX portable
#endif
#define PG_CAT2(a, b) a##b
#define PG_CAT(a, b) PG_CAT2(a, b)
#define PG_SAMPLE_FN PG_CAT(pg_logit_scan_, PG_SAMPLE_SUFFIX)

#define MAX_K 1024

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static int lowest_bit(unsigned v) {
    unsigned long i;
    _BitScanForward(&i, v);
    return (int)i;
}
#else
static int lowest_bit(unsigned v) { return __builtin_ctz(v); }
#endif
#define CHUNK 1024 /* logits summed in float32 before the running sums (double) take them */
#define EXP_LO -87.0f /* exp below this is under FLT_MIN: counted as 0 */

/* Insert (v, id) among the k best so far (vals descending, ties by id ascending; *have of them).
 * Called in ascending id order and only for v above the k-th (or while fewer than k are kept), so
 * an equal value never displaces one kept before it. */
static void keep_best(float v, int32_t id, int32_t k, int32_t *ids, float *vals, int32_t *have) {
    int32_t j = *have;
    if (j == k) {
        if (!(v > vals[k - 1])) return;
        j = k - 1;
    } else {
        (*have)++;
    }
    while (j > 0 && v > vals[j - 1]) {
        vals[j] = vals[j - 1];
        ids[j] = ids[j - 1];
        j--;
    }
    vals[j] = v;
    ids[j] = id;
}

/* exp(t) for t <= 0 (or -inf): t = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial,
 * times 2^n. The constants are Cephes' expf (ln2 split in two so n ln2 is exact). */
#define C_LOG2E 1.44269504088896341f
#define C_LN2_HI 0.693359375f
#define C_LN2_LO -2.12194440e-4f
#define C_P0 1.9875691500e-4f
#define C_P1 1.3981999507e-3f
#define C_P2 8.3334519073e-3f
#define C_P3 4.1665795894e-2f
#define C_P4 1.6666665459e-1f
#define C_P5 5.0000001201e-1f

static inline float exp_scalar(float t) {
    if (!(t >= EXP_LO)) return 0.0f;
    const float n = floorf(t * C_LOG2E + 0.5f);
    float r = t - n * C_LN2_HI;
    r = r - n * C_LN2_LO;
    float p = C_P0;
    p = p * r + C_P1;
    p = p * r + C_P2;
    p = p * r + C_P3;
    p = p * r + C_P4;
    p = p * r + C_P5;
    p = p * r * r + r + 1.0f;
    return ldexpf(p, (int)n);
}

/* Scalar tail (and the whole of the portable copy) of pass 1: the top k, the max, NaN/+inf. */
static int scan_scalar(const float *x, int64_t from, int64_t n, int32_t k, int32_t *ids, float *vals, int32_t *have,
                       float *m) {
    int bad = 0;
    float mx = *m;
    for (int64_t i = from; i < n; i++) {
        const float v = x[i];
        bad |= (v != v) | (v == INFINITY);
        mx = v > mx ? v : mx;
        if (k && (*have < k || v > vals[k - 1])) keep_best(v, (int32_t)i, k, ids, vals, have);
    }
    *m = mx;
    return bad;
}

static void sums_scalar(const float *x, int64_t from, int64_t n, float m, double *z, double *d) {
    for (int64_t i = from; i < n; i++) {
        const float t = x[i] - m;
        const float e = exp_scalar(t);
        *z += e;
        if (e > 0.0f) *d += (double)e * t;
    }
}

#if defined(PG_X86) && defined(__AVX512F__)
#define W 16
static int64_t scan_simd(const float *x, int64_t n, int32_t k, int32_t *ids, float *vals, int32_t *have, float *m,
                         int *bad) {
    const int64_t end = n / W * W;
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    const __m512 inf = _mm512_set1_ps(INFINITY);
    __mmask16 badm = 0;
    for (int64_t i = 0; i < end; i += W) {
        const __m512 v = _mm512_loadu_ps(x + i);
        vmax = _mm512_max_ps(v, vmax);
        badm |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(v, inf, _CMP_EQ_OQ);
        if (k) {
            const float thr = *have < k ? -INFINITY : vals[k - 1];
            __mmask16 hit = *have < k ? (__mmask16)0xFFFF : _mm512_cmp_ps_mask(v, _mm512_set1_ps(thr), _CMP_GT_OQ);
            while (hit) {
                const int j = lowest_bit(hit);
                hit &= hit - 1;
                if (*have < k || x[i + j] > vals[k - 1]) keep_best(x[i + j], (int32_t)(i + j), k, ids, vals, have);
            }
        }
    }
    *m = _mm512_reduce_max_ps(vmax);
    *bad = badm != 0;
    return end;
}

static int64_t sums_simd(const float *x, int64_t n, float m, double *z, double *d) {
    const int64_t nc = n / CHUNK;
    const __m512 vm = _mm512_set1_ps(m), lo = _mm512_set1_ps(EXP_LO);
    for (int64_t c = 0; c < nc; c++) {
        __m512 zs = _mm512_setzero_ps(), ds = _mm512_setzero_ps();
        for (int64_t i = c * CHUNK; i < (c + 1) * CHUNK; i += W) {
            const __m512 t = _mm512_sub_ps(_mm512_loadu_ps(x + i), vm);
            const __mmask16 live = _mm512_cmp_ps_mask(t, lo, _CMP_GE_OQ);
            const __m512 tc = _mm512_max_ps(t, lo);
            const __m512 nn = _mm512_roundscale_ps(_mm512_mul_ps(tc, _mm512_set1_ps(C_LOG2E)),
                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512 r = _mm512_fnmadd_ps(nn, _mm512_set1_ps(C_LN2_HI), tc);
            r = _mm512_fnmadd_ps(nn, _mm512_set1_ps(C_LN2_LO), r);
            __m512 p = _mm512_set1_ps(C_P0);
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C_P1));
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C_P2));
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C_P3));
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C_P4));
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(C_P5));
            p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
            const __m512 e = _mm512_maskz_mov_ps(live, _mm512_scalef_ps(p, nn));
            zs = _mm512_add_ps(zs, e);
            ds = _mm512_mask3_fmadd_ps(e, t, ds, live);
        }
        *z += _mm512_reduce_add_ps(zs);
        *d += _mm512_reduce_add_ps(ds);
    }
    return nc * CHUNK;
}
#elif defined(PG_X86) && defined(__AVX2__)
#define W 8
static float hmax256(__m256 v) {
    __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_max_ps(a, _mm_movehl_ps(a, a));
    a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

static float hsum256(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

static int64_t scan_simd(const float *x, int64_t n, int32_t k, int32_t *ids, float *vals, int32_t *have, float *m,
                         int *bad) {
    const int64_t end = n / W * W;
    __m256 vmax = _mm256_set1_ps(-INFINITY), badv = _mm256_setzero_ps();
    const __m256 inf = _mm256_set1_ps(INFINITY);
    for (int64_t i = 0; i < end; i += W) {
        const __m256 v = _mm256_loadu_ps(x + i);
        vmax = _mm256_max_ps(v, vmax);
        badv = _mm256_or_ps(badv, _mm256_or_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), _mm256_cmp_ps(v, inf, _CMP_EQ_OQ)));
        if (k) {
            int hit = 0xFF;
            if (*have >= k) hit = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(vals[k - 1]), _CMP_GT_OQ));
            while (hit) {
                const int j = lowest_bit((unsigned)hit);
                hit &= hit - 1;
                if (*have < k || x[i + j] > vals[k - 1]) keep_best(x[i + j], (int32_t)(i + j), k, ids, vals, have);
            }
        }
    }
    *m = hmax256(vmax);
    *bad = _mm256_movemask_ps(badv) != 0;
    return end;
}

static int64_t sums_simd(const float *x, int64_t n, float m, double *z, double *d) {
    const int64_t nc = n / CHUNK;
    const __m256 vm = _mm256_set1_ps(m), lo = _mm256_set1_ps(EXP_LO);
    for (int64_t c = 0; c < nc; c++) {
        __m256 zs = _mm256_setzero_ps(), ds = _mm256_setzero_ps();
        for (int64_t i = c * CHUNK; i < (c + 1) * CHUNK; i += W) {
            const __m256 t = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
            const __m256 live = _mm256_cmp_ps(t, lo, _CMP_GE_OQ);
            const __m256 tc = _mm256_max_ps(t, lo);
            const __m256 nn = _mm256_round_ps(_mm256_mul_ps(tc, _mm256_set1_ps(C_LOG2E)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m256 r = _mm256_fnmadd_ps(nn, _mm256_set1_ps(C_LN2_HI), tc);
            r = _mm256_fnmadd_ps(nn, _mm256_set1_ps(C_LN2_LO), r);
            __m256 p = _mm256_set1_ps(C_P0);
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C_P1));
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C_P2));
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C_P3));
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C_P4));
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(C_P5));
            p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
            const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nn), _mm256_set1_epi32(127)), 23);
            const __m256 e = _mm256_and_ps(live, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
            zs = _mm256_add_ps(zs, e);
            ds = _mm256_add_ps(ds, _mm256_and_ps(live, _mm256_mul_ps(e, t)));
        }
        *z += hsum256(zs);
        *d += hsum256(ds);
    }
    return nc * CHUNK;
}
#else
static int64_t scan_simd(const float *x, int64_t n, int32_t k, int32_t *ids, float *vals, int32_t *have, float *m,
                         int *bad) {
    (void)x, (void)n, (void)k, (void)ids, (void)vals, (void)have, (void)m, (void)bad;
    return 0;
}

static int64_t sums_simd(const float *x, int64_t n, float m, double *z, double *d) {
    (void)x, (void)n, (void)m, (void)z, (void)d;
    return 0;
}
#endif

/* x: n logits. Fills ids/vals with the k largest (0 <= k <= min(n, 1024); their order above) and
 * stats with {max, sum of exp(x - max), sum of exp(x - max) * (x - max) over the terms not under
 * FLT_MIN}. Returns 0; 1 (ids, vals, stats undefined) when a logit is NaN or +inf: sanitize them and
 * call again; 2 when n or k is out of range. */
PG_EXPORT int PG_SAMPLE_FN(const float *x, int64_t n, int32_t k, int32_t *ids, float *vals, double *stats) {
    if (n <= 0 || k < 0 || k > MAX_K || k > n) return 2;
    int32_t have = 0;
    float m = -INFINITY;
    int bad = 0;
    const int64_t done = scan_simd(x, n, k, ids, vals, &have, &m, &bad);
    bad |= scan_scalar(x, done, n, k, ids, vals, &have, &m);
    if (bad) return 1;
    double z = 0.0, d = 0.0;
    if (m != -INFINITY) sums_scalar(x, sums_simd(x, n, m, &z, &d), n, m, &z, &d);
    stats[0] = m;
    stats[1] = z;
    stats[2] = d;
    return 0;
}
