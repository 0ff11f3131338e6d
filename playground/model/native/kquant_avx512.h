/* One-token products of Q4_K and Q6_K rows with AVX-512 VNNI (included by avx512.c only): what
 * Qwen3's and most K-quant files' layers and output layers are made of, so what a decode step of
 * them mostly waits on.
 *
 * blocks_x86.h's general path unpacks each group's scale and offset in plain C and converts them
 * one by one (~180 instructions per Q4_K super-block of 256 weights: slower than the memory feeds
 * two cores). Here a super-block's eight (Q4_K) or sixteen (Q6_K) scales are unpacked and turned
 * into floats with a few vector instructions, the integer products of the super-block are summed
 * into one vector of 16 partial sums (one per quarter of each 64-byte product), and one multiply-add
 * applies every group's scale times x's scale: ~60 instructions per super-block.
 *
 * The numbers are the same as the general path's (x rounded to int8 per group of 32, integer sums,
 * float scales): the check program compares both with portable.c. A precise product (engine.c)
 * takes x's second rounding at exactly 1/256 of the first's scale (quantize_x2), so the two integer
 * sums combine exactly as 256·p1 + p2 before the float step: one more VPDPBUSD and a shift per 64
 * weights instead of a second float pass. */
#ifndef PG_KQUANT_AVX512_H
#define PG_KQUANT_AVX512_H

#include "blocks.h"

#include <immintrin.h>

/* q · x over 64 bytes, as 16 sums of 4 (x as one rounding, or as 256·x1 + x2 for a precise product) */
PG_INLINE __m512i kq_dot(__m512i q, const int8_t *x1, const int8_t *x2) {
    __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, _mm512_loadu_si512(x1));
    if (x2) p = _mm512_dpbusd_epi32(_mm512_slli_epi32(p, 8), q, _mm512_loadu_si512(x2));
    return p;
}

/* Four vectors of 16 int32 as one: lane 4k + m holds the sum of P[m]'s 128-bit lane k */
PG_INLINE __m512 kq_sum4(const __m512i P[4]) {
    const __m512i t0 = _mm512_add_epi32(_mm512_unpacklo_epi32(P[0], P[1]), _mm512_unpackhi_epi32(P[0], P[1]));
    const __m512i t1 = _mm512_add_epi32(_mm512_unpacklo_epi32(P[2], P[3]), _mm512_unpackhi_epi32(P[2], P[3]));
    return _mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_unpacklo_epi64(t0, t1), _mm512_unpackhi_epi64(t0, t1)));
}

PG_INLINE __m512i kq_halves(short lo, short hi) { /* 16-bit lanes: lo in the first 256 bits, hi in the rest */
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(lo)), _mm256_set1_epi16(hi), 1);
}

/* Q4_K: w = d·sc·q - dmin·m per group of 32 (q 4 bits; sc, m 6 bits). s2: the precise product's
 * second rounding of x (quantize_x2), or NULL. */
PG_INLINE void kq_q4k(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    const int nsb = w->cols / 256;
    const uint8_t *row = pg_row(w, r);
    const __m512i m4 = _mm512_set1_epi8(15), shift = kq_halves(0, 4);
    /* lane 4k + m of kq_sum4 is group 2m (k < 2) or 2m + 1 (k >= 2) of the super-block */
    const __m512i idx = _mm512_set_epi32(7, 5, 3, 1, 7, 5, 3, 1, 6, 4, 2, 0, 6, 4, 2, 0);
    const float unit = s2 ? 1.0f / 256 : 1.0f;
    __m512 acc = _mm512_setzero_ps();
    __m256 off = _mm256_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *b = row + (size_t)144 * sb;
        uint32_t u[4]; /* ggml's unpacking of the twelve scale bytes: sc[0..7] then m[0..7] */
        memcpy(u, b + 4, 12);
        u[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
        const uint32_t m_lo = u[1] & 0x3f3f3f3fu;
        u[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
        u[2] = m_lo;
        u[0] &= 0x3f3f3f3fu;
        const __m128i scm = _mm_loadu_si128((const __m128i *)u);
        const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scm));
        const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(scm, 8)));
        const float d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(pg_u16(b)))) * unit;
        const float dmin = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(pg_u16(b + 2))));
        const int g = 8 * sb;
        __m256 sx = _mm256_loadu_ps(s->sx + g);
        if (s2) sx = _mm256_add_ps(sx, _mm256_loadu_ps(s2->sx + g));
        off = _mm256_fmadd_ps(_mm256_mul_ps(mn, _mm256_set1_ps(dmin)), sx, off);
        const __m256 fac = _mm256_mul_ps(sc, _mm256_mul_ps(_mm256_set1_ps(d), _mm256_loadu_ps(s->dx + g)));
        __m512i P[4];
        for (int c = 0; c < 4; c++) { /* 32 bytes: group 2c in the low nibbles, 2c + 1 in the high */
            const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b + 16 + 32 * c)));
            const __m512i q = _mm512_and_si512(_mm512_srlv_epi16(v, shift), m4);
            P[c] = kq_dot(q, s->xq + QK * g + 64 * c, s2 ? s2->xq + QK * g + 64 * c : NULL);
        }
        acc = _mm512_fmadd_ps(kq_sum4(P), _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(fac)), acc);
    }
    const __m256 t = _mm256_sub_ps(_mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1)), off);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    *y = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

/* Q6_K: w = d·sc·(q - 32) per half-group of 16 (q 6 bits, sc int8). */
PG_INLINE void kq_q6k(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    const int nsb = w->cols / 256;
    const uint8_t *row = pg_row(w, r);
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    const __m512i up = kq_halves(4, 2), down = kq_halves(0, 2);
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0); /* half → its group */
    const __m512i tr = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0); /* lane 4k+m ← half 4m+k */
    const float unit = s2 ? 1.0f / 256 : 1.0f;
    __m512 acc = _mm512_setzero_ps(), off = _mm512_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *b = row + (size_t)210 * sb;
        const float d = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(pg_u16(b + 208))));
        const __m512 sc = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 192)))),
                                        _mm512_set1_ps(d));
        const int g = 8 * sb;
        __m512 sh = _mm512_loadu_ps(s->sh + 2 * g);
        if (s2) sh = _mm512_add_ps(sh, _mm512_loadu_ps(s2->sh + 2 * g));
        off = _mm512_fmadd_ps(sc, sh, off);
        const __m512 dx = _mm512_permutexvar_ps(dup, _mm512_castps256_ps512(_mm256_loadu_ps(s->dx + g)));
        const __m512 fac = _mm512_permutexvar_ps(tr, _mm512_mul_ps(sc, _mm512_mul_ps(dx, _mm512_set1_ps(unit))));
        __m512i P[4];
        for (int n = 0; n < 2; n++) { /* 128 weights: groups 4n..4n+3 */
            const __m512i ql = _mm512_loadu_si512(b + 64 * n);
            const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(b + 128 + 32 * n)));
            const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, up), m30));
            const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                                _mm512_and_si512(_mm512_srlv_epi16(qh, down), m30));
            const int at = QK * g + 128 * n;
            P[2 * n] = kq_dot(q01, s->xq + at, s2 ? s2->xq + at : NULL);
            P[2 * n + 1] = kq_dot(q23, s->xq + at + 64, s2 ? s2->xq + at + 64 : NULL);
        }
        acc = _mm512_fmadd_ps(kq_sum4(P), fac, acc);
    }
    *y = _mm512_reduce_add_ps(_mm512_fnmadd_ps(off, _mm512_set1_ps(32.f), acc));
}

static void kq_q4k_dot(const pg_mat *w, int r, const xscratch *s, float *y) { kq_q4k(w, r, s, NULL, y); }
static void kq_q4k_dot2(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    kq_q4k(w, r, s, s2, y);
}
static void kq_q6k_dot(const pg_mat *w, int r, const xscratch *s, float *y) { kq_q6k(w, r, s, NULL, y); }
static void kq_q6k_dot2(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    kq_q6k(w, r, s, s2, y);
}

#endif
