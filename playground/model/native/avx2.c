/* AVX2 kernels (with FMA and F16C): what most x86 laptops and desktops without AVX-512 run.
 * Compiled with -mavx2 -mfma -mf16c for this file only (CMakeLists.txt), run only where
 * dispatch.c finds them. Float tiles 8 lanes wide; one-token products as int8 with
 * VPMADDUBSW + VPMADDWD; bfloat16 dequantization; attention 8 values a step. */
#include "attention.h"
#include "kernels.h"

#if defined(PG_X86)
#include <immintrin.h>

PG_INLINE float h2f(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

PG_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* a group of 32 weights as four vectors of 8 floats */
PG_INLINE void group8(const pg_mat *w, int r, int b, const int kind, __m256 *v) {
    const int nb = w->cols / QK;
    const __m256 dv = _mm256_set1_ps(h2f(w->d[(size_t)r * nb + b]));
    if (kind == PG_Q4) {
        const __m128i m4 = _mm_set1_epi8(15);
        __m128i q = _mm_loadu_si128((const __m128i *)q4_group(w, r, b));
        __m128i lo = _mm_and_si128(q, m4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), m4);
        const __m256 mv = _mm256_set1_ps(h2f(w->m[(size_t)r * nb + b]));
        v[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), dv, mv);
        v[1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), dv, mv);
        v[2] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), dv, mv);
        v[3] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), dv, mv);
    } else {
        const int8_t *qb = q8_group(w, r, b);
        for (int i = 0; i < 4; i++)
            v[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(qb + 8 * i)))), dv);
    }
}

/* ------------------------------------------------------------------ float32 tiles */
PG_INLINE void tile8(const pg_mat *w, int r, const float *x, int ldx, float *y, int ldy, const int NT, const int kind) {
    const int nb = w->cols / QK;
    __m256 a0[4], a1[4];
    for (int i = 0; i < NT; i++) a0[i] = a1[i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256 v[4];
        group8(w, r, b, kind, v);
        for (int i = 0; i < NT; i++) {
            const float *xb = x + (size_t)i * ldx + QK * b;
            a0[i] = _mm256_fmadd_ps(v[0], _mm256_loadu_ps(xb), a0[i]);
            a1[i] = _mm256_fmadd_ps(v[1], _mm256_loadu_ps(xb + 8), a1[i]);
            a0[i] = _mm256_fmadd_ps(v[2], _mm256_loadu_ps(xb + 16), a0[i]);
            a1[i] = _mm256_fmadd_ps(v[3], _mm256_loadu_ps(xb + 24), a1[i]);
        }
    }
    for (int i = 0; i < NT; i++) y[(size_t)i * ldy] = hsum8(_mm256_add_ps(a0[i], a1[i]));
}

PG_INLINE void rows_k(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy, const int kind) {
    int t = 0;
    for (; t + 4 <= T; t += 4) tile8(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 4, kind);
    for (; t + 2 <= T; t += 2) tile8(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 2, kind);
    for (; t < T; t++) tile8(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 1, kind);
}

static void q4_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_k(w, r, x, T, ldx, y, ldy, PG_Q4);
}

static void q8_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_k(w, r, x, T, ldx, y, ldy, PG_Q8);
}

/* ------------------------------------------------------------------ one token, int8 */
/* x rounded to int8 per group of 32, in natural order (both kinds) */
static void quantize_x(const float *x, int cols, xscratch *s) {
    const int nb = cols / QK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int b = 0; b < nb; b++) {
        const float *xb = x + QK * b;
        const __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8), v2 = _mm256_loadu_ps(xb + 16),
                     v3 = _mm256_loadu_ps(xb + 24);
        __m256 mv = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                  _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        const __m256 iv = _mm256_set1_ps(inv); /* round to nearest even, like lrintf */
        const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, iv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, iv)),
                      i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, iv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, iv));
        /* the sum of x as rounded, for q4's minimum (see portable.c's pg_ref_quantize_x) */
        s->sx[b] = s->dx[b] * hsum8(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(i0, i1),
                                                                         _mm256_add_epi32(i2, i3))));
        /* pack 32 int32 to int8; the packs work per 128-bit lane, the permutation restores the order */
        const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)(s->xq + QK * b),
                            _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
}

PG_INLINE __m256 dot32(__m256i w_u8, __m256i x_s8) { /* 8 partial sums of 4 byte products */
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(w_u8, x_s8), _mm256_set1_epi16(1)));
}

static void q4_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const uint8_t *q = q4_group(w, r, 0);
    const uint16_t *d = w->d + (size_t)r * nb, *m = w->m + (size_t)r * nb;
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < nb; b++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(q + 16 * b));
        __m256i wv = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
        __m256 p = dot32(wv, _mm256_loadu_si256((const __m256i *)(s->xq + QK * b)));
        acc[b & 1] = _mm256_fmadd_ps(p, _mm256_set1_ps(h2f(d[b]) * s->dx[b]), acc[b & 1]);
    }
    int j = 0; /* the minimum's part, sum_j m[j] * sx[j], 8 groups at a time */
    for (; j + 8 <= nb; j += 8)
        acc[j & 8 ? 1 : 0] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(m + j))),
                                             _mm256_loadu_ps(s->sx + j), acc[j & 8 ? 1 : 0]);
    float sum = hsum8(_mm256_add_ps(acc[0], acc[1]));
    for (; j < nb; j++) sum += h2f(m[j]) * s->sx[j];
    *y = sum;
}

static void q8_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const int8_t *q = q8_group(w, r, 0);
    const uint16_t *d = w->d + (size_t)r * nb;
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < nb; b++) {
        __m256i wv = _mm256_loadu_si256((const __m256i *)(q + QK * b));
        __m256i xv = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(s->xq + QK * b)), wv);
        __m256 p = dot32(_mm256_abs_epi8(wv), xv);
        acc[b & 1] = _mm256_fmadd_ps(p, _mm256_set1_ps(h2f(d[b]) * s->dx[b]), acc[b & 1]);
    }
    *y = hsum8(_mm256_add_ps(acc[0], acc[1]));
}

/* ------------------------------------------------------------------ bfloat16 rows (dense prefill) */
PG_INLINE void dequant_bf16_k(const pg_mat *w, int r, uint16_t *o, const int kind) {
    const int nb = w->cols / QK;
    const __m256i round = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
    for (int b = 0; b < nb; b++) {
        __m256 v[4];
        group8(w, r, b, kind, v);
        __m256i h[4];
        for (int k = 0; k < 4; k++) { /* round to nearest even, as PyTorch converts */
            __m256i u = _mm256_castps_si256(v[k]);
            u = _mm256_add_epi32(u, _mm256_add_epi32(round, _mm256_and_si256(_mm256_srli_epi32(u, 16), one)));
            h[k] = _mm256_srli_epi32(u, 16);
        }
        /* 32 values of 16 bits: packs work per 128-bit lane, the permutation restores the order */
        const __m256i p01 = _mm256_permute4x64_epi64(_mm256_packus_epi32(h[0], h[1]), 0xd8);
        const __m256i p23 = _mm256_permute4x64_epi64(_mm256_packus_epi32(h[2], h[3]), 0xd8);
        _mm256_storeu_si256((__m256i *)(o + QK * b), p01);
        _mm256_storeu_si256((__m256i *)(o + QK * b + 16), p23);
    }
}

static void q4_dequant_bf16(const pg_mat *w, int r, uint16_t *o) { dequant_bf16_k(w, r, o, PG_Q4); }
static void q8_dequant_bf16(const pg_mat *w, int r, uint16_t *o) { dequant_bf16_k(w, r, o, PG_Q8); }

/* ------------------------------------------------------------------ attention */
PG_INLINE __m256 bf16x8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

static void attend(const float *q, const uint16_t *K, const uint16_t *V, int n, int hd, float scale, float *sc,
                   float *out) {
    if (hd % 8) {  /* a head size the vectors do not divide: one value at a time */
        pg_attend_scalar(q, K, V, n, hd, scale, 0.f, sc, out);
        return;
    }
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) {
        const uint16_t *k = K + (size_t)s * hd;
        float dot = 0.f;
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < hd; i += 8) acc = _mm256_fmadd_ps(bf16x8(k + i), _mm256_loadu_ps(q + i), acc);
        dot = hsum8(acc);
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
        const __m256 av = _mm256_set1_ps(a);
        for (int i = 0; i < hd; i += 8)
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(av, bf16x8(v + i), _mm256_loadu_ps(out + i)));
    }
}

/* ------------------------------------------------------------------ the gated MLP's activation */
/* e^x for x <= 0, Cephes' expf polynomial (as avx512.c's exp_neg512): relative error < 2e-7 */
PG_INLINE __m256 exp_neg256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* 2^n for n in -126..0: the exponent field alone */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* act(g)·u as g·sigmoid(k)·u (kernels.h), sigmoid from e^-|k|: 1/(1 + e) for k >= 0, e/(1 + e) below */
PG_INLINE __m256 glu8(__m256 g, __m256 u, const int gelu) {
    __m256 k = g;
    if (gelu)
        k = _mm256_mul_ps(g, _mm256_fmadd_ps(_mm256_mul_ps(g, g), _mm256_set1_ps(0.0713548162726f),
                                             _mm256_set1_ps(1.5957691216057308f)));
    const __m256 e = exp_neg256(_mm256_or_ps(k, _mm256_set1_ps(-0.0f)));
    const __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    const __m256 sg = _mm256_blendv_ps(r, _mm256_mul_ps(r, e), _mm256_cmp_ps(k, _mm256_setzero_ps(), _CMP_LT_OQ));
    return _mm256_mul_ps(_mm256_mul_ps(g, sg), u);
}

PG_INLINE void glu_k(const float *g, const float *u, int n, float *out, const int gelu) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, glu8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i), gelu));
    if (i < n) { /* the tail through a padded copy */
        float gb[8] = {0}, ub[8] = {0}, ob[8];
        memcpy(gb, g + i, sizeof(float) * (n - i));
        memcpy(ub, u + i, sizeof(float) * (n - i));
        _mm256_storeu_ps(ob, glu8(_mm256_loadu_ps(gb), _mm256_loadu_ps(ub), gelu));
        memcpy(out + i, ob, sizeof(float) * (n - i));
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

const pg_kernels pg_kernels_avx2 = {
    "avx2",
    "avx2",
    {
        [PG_Q4] = {NULL, q4_dequant_bf16, q4_rows, quantize_x, q4_dot_int8},
        [PG_Q8] = {NULL, q8_dequant_bf16, q8_rows, quantize_x, q8_dot_int8},
        [PG_Q5_0] = BX_OPS(quantize_x), [PG_Q5_1] = BX_OPS(quantize_x), [PG_Q4_K] = BX_OPS(quantize_x),
        [PG_Q5_K] = BX_OPS(quantize_x), [PG_Q6_K] = BX_OPS(quantize_x), [PG_Q3_K] = BX_OPS(quantize_x),
        [PG_Q2_K] = BX_OPS(quantize_x), [PG_IQ4_NL] = BX_OPS(quantize_x), [PG_IQ4_XS] = BX_OPS(quantize_x),
        [PG_F16] = FX_F16_OPS, [PG_BF16] = FX_BF16_OPS,
    },
    attend,
    glu,
};
#endif
