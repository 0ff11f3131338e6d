/* F16 and BF16 rows (weights kept as stored: "exact" mode, BF16/F16 GGUFs) with vector
 * instructions: included by avx512.c, avx2.c and neon.c, and compiled with each file's flags,
 * which pick the section below (AVX-512: 16 lanes, AVX2 + F16C: 8, NEON: 4).
 *
 * Products keep x in float32: each weight is widened to float32 exactly (bfloat16: a 16-bit shift;
 * float16: the conversion instruction, VCVTPH2PS / FCVTL) and multiplied-added, so a product equals
 * the portable one up to the order of float32 additions (tests/native/kernel_check.c). A one-token
 * product is a stream through the row: at 2 bytes a weight it is bound by memory bandwidth, not
 * arithmetic (x rounded to bfloat16 for VDPBF16PS, as llama.cpp does, would read the same bytes).
 * Dequantization: bfloat16 rows are copied; float16 rows converted and rounded to nearest even. */
#ifndef PG_FLOATS_H
#define PG_FLOATS_H

#include "blocks.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define FX_W 16
typedef __m512 fx_v;
PG_INLINE fx_v fx_zero(void) { return _mm512_setzero_ps(); }
PG_INLINE fx_v fx_x(const float *p) { return _mm512_loadu_ps(p); }
PG_INLINE fx_v fx_fma(fx_v a, fx_v b, fx_v c) { return _mm512_fmadd_ps(a, b, c); }
PG_INLINE fx_v fx_add(fx_v a, fx_v b) { return _mm512_add_ps(a, b); }
PG_INLINE float fx_sum(fx_v a) { return _mm512_reduce_add_ps(a); }
PG_INLINE void fx_store(float *p, fx_v a) { _mm512_storeu_ps(p, a); }
PG_INLINE fx_v fx_bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
PG_INLINE fx_v fx_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
/* 16 floats to bfloat16, rounded to nearest even; NaN stays NaN (as f32_to_bf16) */
PG_INLINE void fx_store_bf16(uint16_t *o, fx_v v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i r = _mm512_srli_epi32(
        _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                                             _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)))),
        16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                  _mm512_set1_epi32(0x7f800000));
    const __m512i n = _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    _mm256_storeu_si256((__m256i *)o, _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(r, nan, n)));
}

#elif defined(__AVX2__)
#include <immintrin.h>
#define FX_W 8
typedef __m256 fx_v;
PG_INLINE fx_v fx_zero(void) { return _mm256_setzero_ps(); }
PG_INLINE fx_v fx_x(const float *p) { return _mm256_loadu_ps(p); }
PG_INLINE fx_v fx_fma(fx_v a, fx_v b, fx_v c) { return _mm256_fmadd_ps(a, b, c); }
PG_INLINE fx_v fx_add(fx_v a, fx_v b) { return _mm256_add_ps(a, b); }
PG_INLINE float fx_sum(fx_v v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
PG_INLINE void fx_store(float *p, fx_v a) { _mm256_storeu_ps(p, a); }
PG_INLINE fx_v fx_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
PG_INLINE fx_v fx_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
PG_INLINE void fx_store_bf16(uint16_t *o, fx_v v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i r = _mm256_srli_epi32(
        _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff),
                                             _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1)))),
        16);
    /* |u| > infinity's bits: a NaN (a signed compare is right: both sides are below 2^31) */
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                           _mm256_set1_epi32(0x7f800000));
    const __m256i n = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    const __m256i h = _mm256_blendv_epi8(r, n, nan);
    _mm_storeu_si128((__m128i *)o, _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

#elif defined(PG_ARM)
#include <arm_neon.h>
#define FX_W 4
typedef float32x4_t fx_v;
PG_INLINE fx_v fx_zero(void) { return vdupq_n_f32(0.f); }
PG_INLINE fx_v fx_x(const float *p) { return vld1q_f32(p); }
PG_INLINE fx_v fx_fma(fx_v a, fx_v b, fx_v c) { return vfmaq_f32(c, a, b); }
PG_INLINE fx_v fx_add(fx_v a, fx_v b) { return vaddq_f32(a, b); }
PG_INLINE float fx_sum(fx_v a) { return vaddvq_f32(a); }
PG_INLINE void fx_store(float *p, fx_v a) { vst1q_f32(p, a); }
PG_INLINE fx_v fx_bf16(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
PG_INLINE fx_v fx_f16(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
PG_INLINE void fx_store_bf16(uint16_t *o, fx_v v) {
    const uint32x4_t u = vreinterpretq_u32_f32(v);
    const uint32x4_t r = vshrq_n_u32(vaddq_u32(u, vaddq_u32(vdupq_n_u32(0x7fff), vandq_u32(vshrq_n_u32(u, 16),
                                                                                          vdupq_n_u32(1)))), 16);
    const uint32x4_t nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
    const uint32x4_t n = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40));
    vst1_u16(o, vmovn_u32(vbslq_u32(nan, n, r)));
}
#endif

#if defined(PG_X86)
PG_INLINE void fx_prefetch(const void *p) { _mm_prefetch((const char *)p, _MM_HINT_T0); }
#else
PG_INLINE void fx_prefetch(const void *p) { (void)p; } /* not measured on ARM: the hardware's own */
#endif

#if defined(FX_W)
/* how far ahead of the weights being read a one-token product asks for them: 2 KB (from 512 B to
 * 4 KB on a 2-core AMD EPYC (Zen 4), the whole model's one-token products took 5.2-5.3 ms at 2 KB
 * against 5.7-5.9 ms without: the hardware prefetcher restarts on each thread's share of each matrix) */
#define FX_AHEAD 2048

/* FX_W weights of a row from element i, as float32 */
PG_INLINE fx_v fx_w(const uint16_t *row, int i, const int f16) { return f16 ? fx_f16(row + i) : fx_bf16(row + i); }

/* one token: four accumulators over 4·FX_W weights a step (cols is a multiple of 32, so of FX_W) */
PG_INLINE float fx_one(const uint16_t *row, int cols, const float *x, const int f16) {
    fx_v a0 = fx_zero(), a1 = fx_zero(), a2 = fx_zero(), a3 = fx_zero();
    int i = 0;
    for (; i + 4 * FX_W <= cols; i += 4 * FX_W) {
        for (int k = 0; k < 8 * FX_W; k += 64) fx_prefetch((const char *)(row + i) + FX_AHEAD + k); /* per cache line */
        a0 = fx_fma(fx_w(row, i, f16), fx_x(x + i), a0);
        a1 = fx_fma(fx_w(row, i + FX_W, f16), fx_x(x + i + FX_W), a1);
        a2 = fx_fma(fx_w(row, i + 2 * FX_W, f16), fx_x(x + i + 2 * FX_W), a2);
        a3 = fx_fma(fx_w(row, i + 3 * FX_W, f16), fx_x(x + i + 3 * FX_W), a3);
    }
    for (; i < cols; i += FX_W) a0 = fx_fma(fx_w(row, i, f16), fx_x(x + i), a0);
    return fx_sum(fx_add(fx_add(a0, a1), fx_add(a2, a3)));
}

/* NT tokens (2..4, a constant after inlining) against one row, each weight vector widened once */
PG_INLINE void fx_tile(const uint16_t *row, int cols, const float *x, int ldx, float *y, int ldy, const int NT,
                       const int f16) {
    fx_v a[4][2];
    for (int t = 0; t < NT; t++) a[t][0] = a[t][1] = fx_zero();
    for (int i = 0; i < cols; i += 2 * FX_W) {
        const fx_v w0 = fx_w(row, i, f16), w1 = fx_w(row, i + FX_W, f16);
        for (int t = 0; t < NT; t++) {
            a[t][0] = fx_fma(w0, fx_x(x + (size_t)t * ldx + i), a[t][0]);
            a[t][1] = fx_fma(w1, fx_x(x + (size_t)t * ldx + i + FX_W), a[t][1]);
        }
    }
    for (int t = 0; t < NT; t++) y[(size_t)t * ldy] = fx_sum(fx_add(a[t][0], a[t][1]));
}

PG_INLINE void fx_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy, const int f16) {
    const uint16_t *row = (const uint16_t *)pg_row(w, r);
    int t = 0;
    for (; t + 4 <= T; t += 4) fx_tile(row, w->cols, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 4, f16);
    if (T - t == 3) fx_tile(row, w->cols, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 3, f16);
    if (T - t == 2) fx_tile(row, w->cols, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 2, f16);
    if (T - t == 1) y[(size_t)t * ldy] = fx_one(row, w->cols, x + (size_t)t * ldx, f16);
}

static void fx_f16_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    fx_rows(w, r, x, T, ldx, y, ldy, 1);
}

static void fx_bf16_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    fx_rows(w, r, x, T, ldx, y, ldy, 0);
}

static void fx_f16_dequant(const pg_mat *w, int r, float *out) {
    const uint16_t *row = (const uint16_t *)pg_row(w, r);
    for (int i = 0; i < w->cols; i += FX_W) fx_store(out + i, fx_f16(row + i));
}

static void fx_bf16_dequant(const pg_mat *w, int r, float *out) {
    const uint16_t *row = (const uint16_t *)pg_row(w, r);
    for (int i = 0; i < w->cols; i += FX_W) fx_store(out + i, fx_bf16(row + i));
}

static void fx_f16_dequant_bf16(const pg_mat *w, int r, uint16_t *out) {
    const uint16_t *row = (const uint16_t *)pg_row(w, r);
    for (int i = 0; i < w->cols; i += FX_W) fx_store_bf16(out + i, fx_f16(row + i));
}

static void fx_bf16_dequant_bf16(const pg_mat *w, int r, uint16_t *out) {
    memcpy(out, pg_row(w, r), sizeof(uint16_t) * (size_t)w->cols);
}

/* the table entries: float32 products (no int8 rounding of x) */
#define FX_F16_OPS {fx_f16_dequant, fx_f16_dequant_bf16, fx_f16_rows, NULL, NULL, NULL}
#define FX_BF16_OPS {fx_bf16_dequant, fx_bf16_dequant_bf16, fx_bf16_rows, NULL, NULL, NULL}
#endif

#endif
