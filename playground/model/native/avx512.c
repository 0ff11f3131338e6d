/* AVX-512 kernels (F, BW, VL, DQ, VNNI; with AVX2, FMA and F16C), compiled with those flags only for
 * this file (CMakeLists.txt) and run only where dispatch.c finds the CPU and the OS support them.
 * Float tiles 16 lanes wide; one-token products as int8 with VPDPBUSD; bfloat16 dequantization;
 * attention for head sizes 64, 128 and 256 with 16 keys' scores summed at once. */
#include "attention.h"
#include "kernels.h"

#if defined(PG_X86)
#include <immintrin.h>

PG_INLINE float h2f(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

PG_INLINE __m128 two_h2f(const uint16_t *p) { /* p[0], p[1] as the low two floats */
    uint32_t two;
    memcpy(&two, p, sizeof two);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)two));
}

PG_INLINE __m512 q4_lo(__m512i v) { return _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15))); }
PG_INLINE __m512 q4_hi(__m512i v) { return _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4)); }
PG_INLINE __m512i q4_load(const uint8_t *q) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q)); }
PG_INLINE __m512 q8_load(const int8_t *q) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)q))); }

/* a group of 32 weights as two vectors of 16 floats */
PG_INLINE void group(const pg_mat *w, int r, int b, const int kind, __m512 *w0, __m512 *w1) {
    const int nb = w->cols / QK;
    const __m512 dv = _mm512_set1_ps(h2f(w->d[(size_t)r * nb + b]));
    if (kind == PG_Q4) {
        __m512i v = q4_load(q4_group(w, r, b));
        __m512 mv = _mm512_set1_ps(h2f(w->m[(size_t)r * nb + b]));
        *w0 = _mm512_fmadd_ps(q4_lo(v), dv, mv);
        *w1 = _mm512_fmadd_ps(q4_hi(v), dv, mv);
    } else {
        const int8_t *qb = q8_group(w, r, b);
        *w0 = _mm512_mul_ps(q8_load(qb), dv);
        *w1 = _mm512_mul_ps(q8_load(qb + 16), dv);
    }
}

/* ------------------------------------------------------------------ float32 tiles */
/* NT activation rows against one weight row, NT a constant after inlining (accumulators in registers) */
PG_INLINE void tile(const pg_mat *w, int r, const float *x, int ldx, float *y, int ldy, const int NT, const int kind) {
    const int nb = w->cols / QK;
    __m512 lo[4], hi[4];
    for (int i = 0; i < NT; i++) lo[i] = hi[i] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m512 w0, w1;
        group(w, r, b, kind, &w0, &w1);
        for (int i = 0; i < NT; i++) {
            const float *xb = x + (size_t)i * ldx + QK * b;
            lo[i] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xb), lo[i]);
            hi[i] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), hi[i]);
        }
    }
    for (int i = 0; i < NT; i++) y[(size_t)i * ldy] = _mm512_reduce_add_ps(_mm512_add_ps(lo[i], hi[i]));
}

PG_INLINE void rows_k(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy, const int kind) {
    int t = 0;
    for (; t + 4 <= T; t += 4) tile(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 4, kind);
    for (; t + 2 <= T; t += 2) tile(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 2, kind);
    for (; t < T; t++) tile(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 1, kind);
}

static void q4_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_k(w, r, x, T, ldx, y, ldy, PG_Q4);
}

static void q8_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_k(w, r, x, T, ldx, y, ldy, PG_Q8);
}

/* ------------------------------------------------------------------ one token, int8 */
/* x rounded to int8 per group of 32 (as llama.cpp does), weights unpacked to bytes, and byte
 * products summed by VPDPBUSD (64 weight bytes × 64 activation bytes per instruction). q4 pairs of
 * groups are loaded as 32 bytes [group b | group b+1]; their low nibbles (elements 0..15 of each)
 * and high nibbles (16..31) make 64 bytes, so x is stored in that order for each pair. */
PG_INLINE void quantize_k(const float *x, int cols, xscratch *s, xscratch *s2, const int kind) {
    const int nb = cols / QK;
    for (int b = 0; b < nb; b++) {
        const float *xb = x + QK * b;
        const __m512 lo = _mm512_loadu_ps(xb), hi = _mm512_loadu_ps(xb + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        const __m512 iv = _mm512_set1_ps(inv); /* round to nearest even, like lrintf */
        __m512i ilo = _mm512_cvtps_epi32(_mm512_mul_ps(lo, iv)), ihi = _mm512_cvtps_epi32(_mm512_mul_ps(hi, iv));
        /* the sum of x as rounded (not of x itself): it multiplies q4's minimum, and the rounding
         * errors of d·q and m must cancel as they do in the exact product (as llama.cpp's q8_1) */
        s->sx[b] = s->dx[b] * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(ilo, ihi));
        for (int k = 0; k < 1 + (s2 != NULL); k++) {
            xscratch *o = k ? s2 : s;
            if (k) { /* the second rounding: what the first left out, at exactly 1/256 of its scale */
                const __m512 dv = _mm512_set1_ps(s->dx[b]), iv2 = _mm512_set1_ps(256.f * inv);
                const __m512i top = _mm512_set1_epi32(127), bottom = _mm512_set1_epi32(-127);
                const __m512 rlo = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ilo), dv, lo);
                const __m512 rhi = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(ihi), dv, hi);
                ilo = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(rlo, iv2)), top), bottom);
                ihi = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(rhi, iv2)), top), bottom);
                o->dx[b] = s->dx[b] * (1.0f / 256);
                o->sx[b] = o->dx[b] * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(ilo, ihi));
            }
            const __m128i qlo = _mm512_cvtsepi32_epi8(ilo), qhi = _mm512_cvtsepi32_epi8(ihi);
            if (kind == PG_Q4 && (b + 1 < nb || (b % 2 == 1))) { /* a q4 pair: [b lo16, b+1 lo16, b hi16, b+1 hi16] */
                int8_t *pair = o->xq + QK * (b & ~1);
                const int at = b % 2 ? 16 : 0;
                _mm_storeu_si128((__m128i *)(pair + at), qlo);
                _mm_storeu_si128((__m128i *)(pair + 32 + at), qhi);
            } else {
                _mm_storeu_si128((__m128i *)(o->xq + QK * b), qlo);
                _mm_storeu_si128((__m128i *)(o->xq + QK * b + 16), qhi);
            }
        }
    }
    for (int k = 0; k < 1 + (s2 != NULL); k++) {
        xscratch *o = k ? s2 : s;
        for (int p = 0; p + 1 < nb; p += 2) {
            float *v = o->dxv + 8 * p;
            for (int i = 0; i < 16; i++) v[i] = kind == PG_Q4 ? o->dx[p + ((i / 4) % 2)] : o->dx[p + i / 8];
        }
    }
}

static void q4_quantize_x(const float *x, int cols, xscratch *s) { quantize_k(x, cols, s, NULL, PG_Q4); }
static void q8_quantize_x(const float *x, int cols, xscratch *s) { quantize_k(x, cols, s, NULL, PG_Q8); }
/* a precise product's two roundings, the second at exactly 1/256 of the first's scale */
static void q4_quantize_x2(const float *x, int cols, xscratch *s, xscratch *s2) { quantize_k(x, cols, s, s2, PG_Q4); }
static void q8_quantize_x2(const float *x, int cols, xscratch *s, xscratch *s2) { quantize_k(x, cols, s, s2, PG_Q8); }

PG_INLINE float hsum_i32x8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return (float)_mm_cvtsi128_si32(s);
}

/* x as one int8 rounding (s), or as two (s and s2, a precise product: engine.c), the weights
 * unpacked once for both. s2 comes from quantize_x2: its scale is exactly 1/256 of s's, so the two
 * integer sums combine as 256·p1 + p2 (at most 4·128·127·257 per lane: far inside int32). */
PG_INLINE void q4_dot_k(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    const int nb = w->cols / QK;
    const xscratch *sd = s2 ? s2 : s; /* the scale of the integer sums (256·p1 + p2 for a precise product) */
    const uint8_t *q = q4_group(w, r, 0);
    const uint16_t *d = w->d + (size_t)r * nb, *m = w->m + (size_t)r * nb;
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m256i m4 = _mm256_set1_epi8(15);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int b = 0;
#define Q4PAIR(acc)                                                                                               \
    do {                                                                                                       \
        __m256i v = _mm256_loadu_si256((const __m256i *)(q + 16 * b));                                         \
        __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m4)),                        \
                                        _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), 1);                      \
        __m512 dw = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(two_h2f(d + b)));                        \
        __m512i pi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, _mm512_loadu_si512(s->xq + QK * b));      \
        if (s2) pi = _mm512_dpbusd_epi32(_mm512_slli_epi32(pi, 8), wv, _mm512_loadu_si512(s2->xq + QK * b));  \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pi), _mm512_mul_ps(dw, _mm512_loadu_ps(sd->dxv + 8 * b)), acc); \
    } while (0)
    for (; b + 3 < nb; b += 2) {
        Q4PAIR(acc0);
        b += 2;
        Q4PAIR(acc1);
    }
    for (; b + 1 < nb; b += 2) Q4PAIR(acc0);
#undef Q4PAIR
    /* the minimum's part, sum_j m[j] * sx[j], 16 groups at a time (a scalar loop here was a
     * chain of dependent multiply-adds that cost as much as the products themselves) */
    int j = 0;
    for (; j + 16 <= nb; j += 16) {
        const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(m + j)));
        acc1 = _mm512_fmadd_ps(mv, _mm512_loadu_ps(s->sx + j), acc1);
        if (s2) acc1 = _mm512_fmadd_ps(mv, _mm512_loadu_ps(s2->sx + j), acc1);
    }
    if (j < nb) {
        const __mmask16 k = (__mmask16)((1u << (nb - j)) - 1);
        const __m512 mv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, m + j));
        acc1 = _mm512_fmadd_ps(mv, _mm512_maskz_loadu_ps(k, s->sx + j), acc1);
        if (s2) acc1 = _mm512_fmadd_ps(mv, _mm512_maskz_loadu_ps(k, s2->sx + j), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (b < nb) { /* a last, unpaired group: its 32 bytes in natural order */
        __m128i v = _mm_loadu_si128((const __m128i *)(q + 16 * b));
        const __m128i m4x = _mm_set1_epi8(15);
        __m256i wv = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4x), _mm_and_si128(v, m4x));
        __m256i pi = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, _mm256_loadu_si256((const __m256i *)(s->xq + QK * b)));
        if (s2) pi = _mm256_dpbusd_epi32(_mm256_slli_epi32(pi, 8), wv, _mm256_loadu_si256((const __m256i *)(s2->xq + QK * b)));
        sum += h2f(d[b]) * sd->dx[b] * hsum_i32x8(pi);
    }
    *y = sum;
}

static void q4_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) { q4_dot_k(w, r, s, NULL, y); }
static void q4_dot_int8_2(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    q4_dot_k(w, r, s, s2, y);
}

PG_INLINE void q8_dot_k(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    const int nb = w->cols / QK;
    const xscratch *sd = s2 ? s2 : s; /* the scale of the integer sums (256·p1 + p2 for a precise product) */
    const int8_t *q = q8_group(w, r, 0);
    const uint16_t *d = w->d + (size_t)r * nb;
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int b = 0;
#define Q8PAIR(acc)                                                                                               \
    do {                                                                                                       \
        __m512i wv = _mm512_loadu_si512(q + QK * b);                                                           \
        const __mmask64 neg = _mm512_movepi8_mask(wv);                                                         \
        const __m512i wa = _mm512_abs_epi8(wv);                                                                \
        __m512 dw = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(two_h2f(d + b)));                        \
        __m512i xv = _mm512_loadu_si512(s->xq + QK * b);                                                       \
        xv = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);                                        \
        __m512i pi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wa, xv);                                      \
        if (s2) {                                                                                              \
            __m512i x2 = _mm512_loadu_si512(s2->xq + QK * b);                                                  \
            x2 = _mm512_mask_sub_epi8(x2, neg, _mm512_setzero_si512(), x2);                                    \
            pi = _mm512_dpbusd_epi32(_mm512_slli_epi32(pi, 8), wa, x2);                                        \
        }                                                                                                      \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pi), _mm512_mul_ps(dw, _mm512_loadu_ps(sd->dxv + 8 * b)), acc); \
    } while (0)
    for (; b + 3 < nb; b += 2) {
        Q8PAIR(acc0);
        b += 2;
        Q8PAIR(acc1);
    }
    for (; b + 1 < nb; b += 2) Q8PAIR(acc0);
#undef Q8PAIR
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (b < nb) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)(q + QK * b));
        __m256i xv = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(s->xq + QK * b)), wv);
        __m256i pi = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(wv), xv);
        if (s2) {
            xv = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(s2->xq + QK * b)), wv);
            pi = _mm256_dpbusd_epi32(_mm256_slli_epi32(pi, 8), _mm256_abs_epi8(wv), xv);
        }
        sum += h2f(d[b]) * sd->dx[b] * hsum_i32x8(pi);
    }
    *y = sum;
}

static void q8_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) { q8_dot_k(w, r, s, NULL, y); }
static void q8_dot_int8_2(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    q8_dot_k(w, r, s, s2, y);
}

/* ------------------------------------------------------------------ bfloat16 rows (dense prefill) */
PG_INLINE void dequant_bf16_k(const pg_mat *w, int r, uint16_t *o, const int kind) {
    const int nb = w->cols / QK;
    const __m512i round = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
    for (int b = 0; b < nb; b++) {
        __m512 v[2];
        group(w, r, b, kind, &v[0], &v[1]);
        for (int h = 0; h < 2; h++) { /* round to nearest even, as PyTorch converts */
            __m512i u = _mm512_castps_si512(v[h]);
            u = _mm512_add_epi32(u, _mm512_add_epi32(round, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
            _mm256_storeu_si256((__m256i *)(o + QK * b + 16 * h), _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16)));
        }
    }
}

static void q4_dequant_bf16(const pg_mat *w, int r, uint16_t *o) { dequant_bf16_k(w, r, o, PG_Q4); }
static void q8_dequant_bf16(const pg_mat *w, int r, uint16_t *o) { dequant_bf16_k(w, r, o, PG_Q8); }

/* ------------------------------------------------------------------ attention */
PG_INLINE __m512 bf16x16(const uint16_t *p) { /* 16 bfloat16 values widened to float32 */
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

/* r[k] = sum of v[k]'s 16 lanes, for 16 vectors at once: ~3 operations a vector instead of ~8 */
PG_INLINE __m512 sum16x16(const __m512 *v) {
    __m512 w[8], x[4], y[2];
    for (int k = 0; k < 8; k++) /* halves: each 256 bits of w[k] hold 8 partial sums of one vector */
        w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int k = 0; k < 4; k++) /* quarters: 128-bit lane j of x[k] holds 4 partial sums of vector 4k + j */
        x[k] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int k = 0; k < 2; k++)
        y[k] = _mm512_add_ps(_mm512_unpacklo_ps(x[2 * k], x[2 * k + 1]), _mm512_unpackhi_ps(x[2 * k], x[2 * k + 1]));
    const __m512 z = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(y[0]), _mm512_castps_pd(y[1]))),
                                   _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(y[0]), _mm512_castps_pd(y[1]))));
    /* z[4j + i] is the sum of vector 4i + j */
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), z);
}

/* e^x for x <= 0 (scores minus their maximum), Cephes' expf polynomial: relative error < 2e-7 */
PG_INLINE __m512 exp_neg512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* scores of query q (head 16·NV) against key row kr, as a 16-lane partial sum (attend_vec's order) */
PG_INLINE __m512 score16(const float *q, const uint16_t *kr, const int NV) {
    __m512 a = _mm512_mul_ps(bf16x16(kr), _mm512_loadu_ps(q));
    for (int j = 1; j < NV; j++) a = _mm512_fmadd_ps(bf16x16(kr + 16 * j), _mm512_loadu_ps(q + 16 * j), a);
    return a;
}

/* e^(sc - max) in place over n scores; returns their sum */
PG_INLINE float exp_scores(float *sc, int n) {
    __m512 mxv = _mm512_set1_ps(-INFINITY);
    int s = 0;
    for (; s + 16 <= n; s += 16) mxv = _mm512_max_ps(mxv, _mm512_loadu_ps(sc + s));
    float mx = _mm512_reduce_max_ps(mxv);
    for (; s < n; s++) mx = sc[s] > mx ? sc[s] : mx;
    __m512 sumv = _mm512_setzero_ps();
    const __m512 mv = _mm512_set1_ps(mx);
    for (s = 0; s + 16 <= n; s += 16) {
        const __m512 e = exp_neg512(_mm512_sub_ps(_mm512_loadu_ps(sc + s), mv));
        _mm512_storeu_ps(sc + s, e);
        sumv = _mm512_add_ps(sumv, e);
    }
    float sum = _mm512_reduce_add_ps(sumv);
    for (; s < n; s++) {
        sc[s] = expf(sc[s] - mx);
        sum += sc[s];
    }
    return sum;
}

/* One head of size 16·NV over keys 0..n-1: scores and their exponentials 16 keys at a time, the
 * output in registers (head size 64 at 1,800 tokens of context: 4.4 → ~3 ms of a token's attention). */
PG_INLINE void attend_vec(const float *q, const uint16_t *K, const uint16_t *V, int n, float scale, float *sc,
                          float *out, const int NV) {
    const int hd = 16 * NV;
    int s = 0;
    for (; s + 16 <= n; s += 16) {
        __m512 acc[16];
        for (int k = 0; k < 16; k++) acc[k] = score16(q, K + (size_t)(s + k) * hd, NV);
        _mm512_storeu_ps(sc + s, _mm512_mul_ps(sum16x16(acc), _mm512_set1_ps(scale)));
    }
    for (; s < n; s++) sc[s] = _mm512_reduce_add_ps(score16(q, K + (size_t)s * hd, NV)) * scale;
    const float sum = exp_scores(sc, n);
    __m512 o[16];
    for (int j = 0; j < NV; j++) o[j] = _mm512_setzero_ps();
    for (s = 0; s < n; s++) {
        const uint16_t *vr = V + (size_t)s * hd;
        const __m512 p = _mm512_set1_ps(sc[s]);
        for (int j = 0; j < NV; j++) o[j] = _mm512_fmadd_ps(p, bf16x16(vr + 16 * j), o[j]);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (int j = 0; j < NV; j++) _mm512_storeu_ps(out + 16 * j, _mm512_mul_ps(o[j], inv));
}

/* any head size: scores one key at a time, 16 values a step where hd allows */
static void attend(const float *q, const uint16_t *K, const uint16_t *V, int n, int hd, float scale, float *sc,
                   float *out) {
    switch (hd) { /* the common head sizes, with their loops unrolled */
    case 64: attend_vec(q, K, V, n, scale, sc, out, 4); return;
    case 128: attend_vec(q, K, V, n, scale, sc, out, 8); return;
    case 256: attend_vec(q, K, V, n, scale, sc, out, 16); return;
    default: break;
    }
    if (hd % 16) {  /* a head size the vectors do not divide: one value at a time */
        pg_attend_scalar(q, K, V, n, hd, scale, 0.f, sc, out);
        return;
    }
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) {
        const uint16_t *k = K + (size_t)s * hd;
        float dot = 0.f;
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < hd; i += 16) acc = _mm512_fmadd_ps(bf16x16(k + i), _mm512_loadu_ps(q + i), acc);
        dot = _mm512_reduce_add_ps(acc);
        sc[s] = dot * scale;
        if (sc[s] > mx) mx = sc[s];
    }
    float sum = 0.f;
    for (int s = 0; s < n; s++) {
        sc[s] = expf(sc[s] - mx);
        sum += sc[s];
    }
    for (int i = 0; i < hd; i++) out[i] = 0.f;
    const float inv = 1.0f / sum;
    for (int s = 0; s < n; s++) {
        const uint16_t *v = V + (size_t)s * hd;
        const float a = sc[s] * inv;
        const __m512 av = _mm512_set1_ps(a);
        for (int i = 0; i < hd; i += 16)
            _mm512_storeu_ps(out + i, _mm512_fmadd_ps(av, bf16x16(v + i), _mm512_loadu_ps(out + i)));
    }
}


/* Two queries of one head at consecutive positions: q0 over keys 0..n-1, q1 over keys 0..n. Each key's
 * and value's row is widened once for both (attend_vec widens it once per query: most of its work). */
PG_INLINE void attend_vec2(const float *q0, const float *q1, const uint16_t *K, const uint16_t *V, int n, float scale,
                           float *sc0, float *sc1, float *out0, float *out1, const int NV) {
    const int hd = 16 * NV, n1 = n + 1;
    int s = 0;
    for (; s + 8 <= n1; s += 8) {
        __m512 acc[16]; /* 0-7: q0's 8 keys, 8-15: q1's */
        for (int k = 0; k < 8; k++) {
            const uint16_t *kr = K + (size_t)(s + k) * hd;
            __m512 kv = bf16x16(kr);
            __m512 a0 = _mm512_mul_ps(kv, _mm512_loadu_ps(q0)), a1 = _mm512_mul_ps(kv, _mm512_loadu_ps(q1));
            for (int j = 1; j < NV; j++) {
                kv = bf16x16(kr + 16 * j);
                a0 = _mm512_fmadd_ps(kv, _mm512_loadu_ps(q0 + 16 * j), a0);
                a1 = _mm512_fmadd_ps(kv, _mm512_loadu_ps(q1 + 16 * j), a1);
            }
            acc[k] = a0;
            acc[8 + k] = a1;
        }
        const __m512 d = _mm512_mul_ps(sum16x16(acc), _mm512_set1_ps(scale));
        _mm256_storeu_ps(sc0 + s, _mm512_castps512_ps256(d));
        _mm256_storeu_ps(sc1 + s, _mm512_extractf32x8_ps(d, 1));
    }
    for (; s < n1; s++) {
        const uint16_t *kr = K + (size_t)s * hd;
        sc0[s] = _mm512_reduce_add_ps(score16(q0, kr, NV)) * scale;
        sc1[s] = _mm512_reduce_add_ps(score16(q1, kr, NV)) * scale;
    }
    const __m512 inv0 = _mm512_set1_ps(1.0f / exp_scores(sc0, n)), inv1 = _mm512_set1_ps(1.0f / exp_scores(sc1, n1));
    const int NO = NV < 8 ? NV : 8; /* outputs in registers: 8 vectors a pass (head 256: two passes) */
    for (int c = 0; c < NV; c += NO) {
        __m512 o0[8], o1[8];
        for (int j = 0; j < NO; j++) o0[j] = o1[j] = _mm512_setzero_ps();
        for (s = 0; s < n; s++) {
            const uint16_t *vr = V + (size_t)s * hd + 16 * c;
            const __m512 p0 = _mm512_set1_ps(sc0[s]), p1 = _mm512_set1_ps(sc1[s]);
            for (int j = 0; j < NO; j++) {
                const __m512 v = bf16x16(vr + 16 * j);
                o0[j] = _mm512_fmadd_ps(p0, v, o0[j]);
                o1[j] = _mm512_fmadd_ps(p1, v, o1[j]);
            }
        }
        const __m512 p1 = _mm512_set1_ps(sc1[n]);
        for (int j = 0; j < NO; j++) o1[j] = _mm512_fmadd_ps(p1, bf16x16(V + (size_t)n * hd + 16 * (c + j)), o1[j]);
        for (int j = 0; j < NO; j++) {
            _mm512_storeu_ps(out0 + 16 * (c + j), _mm512_mul_ps(o0[j], inv0));
            _mm512_storeu_ps(out1 + 16 * (c + j), _mm512_mul_ps(o1[j], inv1));
        }
    }
}

/* A prompt's queries of one head (kernels.h): in pairs for head sizes 64, 128 and 256, one at a time
 * else. One core, 512 queries over their causal keys: head 64 0.33 → 0.23 ms, 128 0.57 → 0.43 ms,
 * 256 1.13 → 0.86 ms. */
static void attend_prompt(const float *q, int64_t q_tok, const uint16_t *K, const uint16_t *V, int T, int start,
                          int window, int hd, float scale, float *work, float *out, int64_t out_tok) {
    const int pairs = hd == 64 || hd == 128 || hd == 256;
    int t = 0;
    for (; pairs && t + 2 <= T; t += 2) {
        const int pos = start + t, first = window > 0 && pos + 2 > window ? pos + 2 - window : 0;
        if (first > 0) break; /* a window that moves between the two: one at a time from here */
        const int n = start + t + 1 - first, S = start + T;
        const float *q0 = q + t * q_tok, *q1 = q0 + q_tok;
        float *o0 = out + t * out_tok, *o1 = o0 + out_tok;
        if (hd == 64)
            attend_vec2(q0, q1, K, V, n, scale, work, work + S, o0, o1, 4);
        else if (hd == 128)
            attend_vec2(q0, q1, K, V, n, scale, work, work + S, o0, o1, 8);
        else
            attend_vec2(q0, q1, K, V, n, scale, work, work + S, o0, o1, 16);
    }
    for (; t < T; t++) {
        const int pos = start + t, first = window > 0 && pos + 1 > window ? pos + 1 - window : 0;
        attend(q + t * q_tok, K + (size_t)first * hd, V + (size_t)first * hd, pos + 1 - first, hd, scale, work,
               out + t * out_tok);
    }
}

/* ------------------------------------------------------------------ the gated MLP's activation */
/* act(g)·u as g·sigmoid(k)·u (kernels.h), sigmoid from e^-|k|, which never overflows:
 * 1/(1 + e) for k >= 0, e/(1 + e) below */
PG_INLINE __m512 glu16(__m512 g, __m512 u, const int gelu) {
    __m512 k = g;
    if (gelu) /* 2z = 2·0.79788·(g + 0.044715·g³) */
        k = _mm512_mul_ps(g, _mm512_fmadd_ps(_mm512_mul_ps(g, g), _mm512_set1_ps(0.0713548162726f),
                                             _mm512_set1_ps(1.5957691216057308f)));
    const __m512 e = exp_neg512(_mm512_castsi512_ps(
        _mm512_or_si512(_mm512_castps_si512(k), _mm512_set1_epi32((int)0x80000000u))));
    const __m512 r = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    const __m512 sg = _mm512_mask_mul_ps(r, _mm512_cmp_ps_mask(k, _mm512_setzero_ps(), _CMP_LT_OQ), r, e);
    return _mm512_mul_ps(_mm512_mul_ps(g, sg), u);
}

PG_INLINE void glu_k(const float *g, const float *u, int n, float *out, const int gelu) {
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, glu16(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i), gelu));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m, glu16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i), gelu));
    }
}

static void glu(const float *g, const float *u, int n, int gelu, float *out) {
    if (gelu)
        glu_k(g, u, n, out, 1);
    else
        glu_k(g, u, n, out, 0);
}

#include "blocks_x86.h"
#include "floats.h"
#include "kquant_avx512.h"

/* the raw kinds: x in natural order, its two roundings for precise products from quantize_k */
#define BX_OPS2(dot, dot2) {bx_dequant, bx_dequant_bf16, bx_rows, q8_quantize_x, dot, dot2, q8_quantize_x2}

const pg_kernels pg_kernels_avx512 = {
    "avx512",
    "vnni",
    {
        [PG_Q4] = {NULL, q4_dequant_bf16, q4_rows, q4_quantize_x, q4_dot_int8, q4_dot_int8_2, q4_quantize_x2},
        [PG_Q8] = {NULL, q8_dequant_bf16, q8_rows, q8_quantize_x, q8_dot_int8, q8_dot_int8_2, q8_quantize_x2},
        [PG_Q4_K] = BX_OPS2(kq_q4k_dot, kq_q4k_dot2), [PG_Q6_K] = BX_OPS2(kq_q6k_dot, kq_q6k_dot2),
        [PG_Q5_0] = BX_OPS2(bx_dot_int8, bx_dot_int8_2), [PG_Q5_1] = BX_OPS2(bx_dot_int8, bx_dot_int8_2),
        [PG_Q5_K] = BX_OPS2(bx_dot_int8, bx_dot_int8_2), [PG_Q3_K] = BX_OPS2(bx_dot_int8, bx_dot_int8_2),
        [PG_Q2_K] = BX_OPS2(bx_dot_int8, bx_dot_int8_2), [PG_IQ4_NL] = BX_OPS2(bx_dot_int8, bx_dot_int8_2),
        [PG_IQ4_XS] = BX_OPS2(bx_dot_int8, bx_dot_int8_2),
        [PG_F16] = FX_F16_OPS, [PG_BF16] = FX_BF16_OPS,
    },
    attend,
    glu,
    attend_prompt,
};
#endif
