/* GGUF's own block formats (blocks.h) on x86: included by avx2.c and by avx512.c, compiled with
 * each file's flags. A group of 32 weights is unpacked to 32 unsigned bytes q with a scale D and an
 * offset M per half of 16 (w = D·q + M); then
 *   one token (int8 x): VPDPBUSD (AVX-512 VNNI) or VPMADDUBSW + VPMADDWD (AVX2) sum q·x per 4
 *     bytes, lanes 0-3 holding the first half and 4-7 the second, scaled per lane by D·dx; the
 *     offsets add M·(dx·sum of x) per half. A precise product (engine.c) runs the second rounding
 *     of x through the same unpacked q;
 *   dequantization: q to floats, times D, plus M.
 * Q5_0, Q4_K and Q6_K (what llama.cpp's Q4_K_M files are mostly made of) are unpacked with vector
 * instructions; the other formats go through blocks.h's plain-C unpacking, then the same vector
 * products. The check program compares all of it with portable.c. */
#ifndef PG_BLOCKS_X86_H
#define PG_BLOCKS_X86_H

#include "blocks.h"

#include <immintrin.h>

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
PG_INLINE __m256i bx_dot(__m256i q, __m256i x) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, x); }
#else
PG_INLINE __m256i bx_dot(__m256i q, __m256i x) { /* q unsigned ≤ 127 · x: pairs stay inside int16 */
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), _mm256_set1_epi16(1));
}
#endif

PG_INLINE float bx_h2f(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

PG_INLINE float bx_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 32 bytes, each 0x10 where bit i of bits is set (Q5_0's fifth bit) */
PG_INLINE __m256i bx_bit4(uint32_t bits) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    return _mm256_maskz_mov_epi8((__mmask32)bits, _mm256_set1_epi8(16));
#else
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i r = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuf);
    r = _mm256_or_si256(r, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_and_si256(_mm256_cmpeq_epi8(r, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(16));
#endif
}

PG_INLINE __m256i bx_lo(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(15)); }
PG_INLINE __m256i bx_hi(__m256i v) { return _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(15)); }

/* ------------------------------------------------------------------ the unpacked groups of a row */
/* Calls emit(g, q, D0, D1, M0, M1, ctx) for each group of 32 weights of a row, in order. q unsigned;
 * for the formats without a vector unpacker, blocks.h's signed q is shifted by 128 (M takes it back). */
typedef struct {
    const xscratch *s, *s2;
    __m256 acc, acc2;
    __m128 off;      /* products: the offsets' part, M·(dx·sum of x) per half */
    float *out;      /* dequantization: where group g goes, as floats (NULL for products) */
    uint16_t *out16; /* or as bfloat16 */
#if defined(__AVX512VNNI__)
    __m512 acc5;
#endif
} bx_ctx;

PG_INLINE void bx_dequant_group(bx_ctx *c, int g, __m256i q, const int sgn, float D0, float D1, float M0, float M1) {
#if defined(__AVX512F__) && defined(__AVX512BW__)
    /* 16 lanes at a time: a half of 16 weights per step, the same arithmetic and rounding as below
     * (a dense prefill dequantizes every matrix: Q5_0 6.5 → 9.7 G weights/s on one core) */
    const __m128i halves[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
    for (int i = 0; i < 2; i++) {
        const __m512i qi = sgn ? _mm512_cvtepi8_epi32(halves[i]) : _mm512_cvtepu8_epi32(halves[i]);
        const __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(qi), _mm512_set1_ps(i ? D1 : D0), _mm512_set1_ps(i ? M1 : M0));
        if (c->out) {
            _mm512_storeu_ps(c->out + QK * g + 16 * i, v);
        } else {
            __m512i u = _mm512_castps_si512(v);
            u = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff),
                                                     _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
            _mm256_storeu_si256((__m256i *)(c->out16 + QK * g + 16 * i), _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16)));
        }
    }
#else
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
    for (int i = 0; i < 4; i++) {
        const __m256 d = _mm256_set1_ps(i < 2 ? D0 : D1), m = _mm256_set1_ps(i < 2 ? M0 : M1);
        const __m256i qi = sgn ? _mm256_cvtepi8_epi32(parts[i]) : _mm256_cvtepu8_epi32(parts[i]);
        const __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(qi), d, m);
        if (c->out) {
            _mm256_storeu_ps(c->out + QK * g + 8 * i, v);
        } else { /* round to nearest even, as f32_to_bf16 (no NaN here) */
            __m256i u = _mm256_castps_si256(v);
            u = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff),
                                                     _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1))));
            u = _mm256_srli_epi32(u, 16);
            const __m128i p = _mm_packus_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
            _mm_storeu_si128((__m128i *)(c->out16 + QK * g + 8 * i), p);
        }
    }
#endif
}

/* q: 32 weights' integers, unsigned (sgn 0) or signed (sgn 1: the products then take |q| and x with
 * q's sign, so VPMADDUBSW's pairs stay inside int16) */
PG_INLINE void bx_emit(bx_ctx *c, int g, __m256i q, const int sgn, float D0, float D1, float M0, float M1) {
    if (c->out || c->out16) {
        bx_dequant_group(c, g, q, sgn, D0, D1, M0, M1);
        return;
    }
    const __m256 sc = _mm256_set_m128(_mm_set1_ps(D1), _mm_set1_ps(D0)); /* lanes 0-3: half 0; 4-7: half 1 */
    const __m256i qa = sgn ? _mm256_abs_epi8(q) : q;
    __m256i x = _mm256_loadu_si256((const __m256i *)(c->s->xq + QK * g));
    if (sgn) x = _mm256_sign_epi8(x, q);
    c->acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bx_dot(qa, x)), _mm256_mul_ps(sc, _mm256_set1_ps(c->s->dx[g])), c->acc);
    const __m128 m = _mm_set_ps(0.f, 0.f, M1, M0);
    c->off = _mm_fmadd_ps(m, _mm_castpd_ps(_mm_load_sd((const double *)(c->s->sh + 2 * g))), c->off);
    if (c->s2) {
        c->off = _mm_fmadd_ps(m, _mm_castpd_ps(_mm_load_sd((const double *)(c->s2->sh + 2 * g))), c->off);
        __m256i x2 = _mm256_loadu_si256((const __m256i *)(c->s2->xq + QK * g));
        if (sgn) x2 = _mm256_sign_epi8(x2, q);
        c->acc2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(bx_dot(qa, x2)), _mm256_mul_ps(sc, _mm256_set1_ps(c->s2->dx[g])),
                                  c->acc2);
    }
}

/* groups g and g+1 together (unsigned q): on AVX-512 one 512-bit product for both */
PG_INLINE void bx_emit2(bx_ctx *c, int g, __m256i q0, __m256i q1, const float D[4], const float M[4]) {
#if defined(__AVX512VNNI__)
    if (!c->out && !c->out16) {
        const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
        const __m512i idx = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
        const __m128 dd = _mm_set_ps(D[3], D[2], D[1], D[0]);
        const __m128 d1 = _mm_mul_ps(dd, _mm_set_ps(c->s->dx[g + 1], c->s->dx[g + 1], c->s->dx[g], c->s->dx[g]));
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, _mm512_loadu_si512(c->s->xq + QK * g));
        /* a precise product: on AVX-512 s2 comes from quantize_x2 (its scale exactly 1/256 of s's),
         * so the two integer sums combine as 256·p1 + p2 (d1 already holds s's scale: times 1/256) */
        if (c->s2) p = _mm512_dpbusd_epi32(_mm512_slli_epi32(p, 8), q, _mm512_loadu_si512(c->s2->xq + QK * g));
        const __m128 d1s = c->s2 ? _mm_mul_ps(d1, _mm_set1_ps(1.0f / 256)) : d1;
        c->acc5 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(d1s)), c->acc5);
        const __m128 m = _mm_loadu_ps(M);
        c->off = _mm_fmadd_ps(m, _mm_loadu_ps(c->s->sh + 2 * g), c->off);
        if (c->s2) c->off = _mm_fmadd_ps(m, _mm_loadu_ps(c->s2->sh + 2 * g), c->off);
        return;
    }
#endif
    bx_emit(c, g, q0, 0, D[0], D[1], M[0], M[1]);
    bx_emit(c, g + 1, q1, 0, D[2], D[3], M[2], M[3]);
}

PG_INLINE void bx_row(int kind, const uint8_t *row, int cols, bx_ctx *c) {
    const int nb = cols / QK;
    if (kind == PG_Q5_0) {
        int g = 0;
        for (; g + 1 < nb; g += 2) {
            const uint8_t *b0 = row + (size_t)22 * g, *b1 = b0 + 22;
            const float d0 = bx_h2f(pg_u16(b0)), d1 = bx_h2f(pg_u16(b1));
            uint32_t h0, h1;
            memcpy(&h0, b0 + 2, 4);
            memcpy(&h1, b1 + 2, 4);
            const __m128i s0 = _mm_loadu_si128((const __m128i *)(b0 + 6)), s1 = _mm_loadu_si128((const __m128i *)(b1 + 6));
            const __m256i q0 = _mm256_or_si256(bx_lo(_mm256_set_m128i(_mm_srli_epi16(s0, 4), s0)), bx_bit4(h0));
            const __m256i q1 = _mm256_or_si256(bx_lo(_mm256_set_m128i(_mm_srli_epi16(s1, 4), s1)), bx_bit4(h1));
            const float D[4] = {d0, d0, d1, d1}, M[4] = {-16.f * d0, -16.f * d0, -16.f * d1, -16.f * d1};
            bx_emit2(c, g, q0, q1, D, M);
        }
        if (g < nb) {
            const uint8_t *b = row + (size_t)22 * g;
            const float d = bx_h2f(pg_u16(b));
            uint32_t qh;
            memcpy(&qh, b + 2, 4);
            const __m128i qs = _mm_loadu_si128((const __m128i *)(b + 6));
            const __m256i q = _mm256_or_si256(bx_lo(_mm256_set_m128i(_mm_srli_epi16(qs, 4), qs)), bx_bit4(qh));
            bx_emit(c, g, q, 0, d, d, -16.f * d, -16.f * d);
        }
    } else if (kind == PG_Q4_K) {
        for (int sb = 0; sb < nb / 8; sb++) {
            const uint8_t *b = row + (size_t)144 * sb;
            const float d = bx_h2f(pg_u16(b)), dmin = bx_h2f(pg_u16(b + 2));
            for (int c2 = 0; c2 < 4; c2++) {
                int sc0, m0, sc1, m1;
                pg_scale_min_k4(2 * c2, b + 4, &sc0, &m0);
                pg_scale_min_k4(2 * c2 + 1, b + 4, &sc1, &m1);
                const __m256i v = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * c2));
                const float D0 = d * (float)sc0, D1 = d * (float)sc1, M0 = -dmin * (float)m0, M1 = -dmin * (float)m1;
                const float D[4] = {D0, D0, D1, D1}, M[4] = {M0, M0, M1, M1};
                bx_emit2(c, 8 * sb + 2 * c2, bx_lo(v), bx_hi(v), D, M);
            }
        }
    } else if (kind == PG_Q6_K) {
        const __m256i three = _mm256_set1_epi8(3);
        for (int sb = 0; sb < nb / 8; sb++) {
            const uint8_t *b = row + (size_t)210 * sb;
            const float d = bx_h2f(pg_u16(b + 208));
            const int8_t *scales = (const int8_t *)(b + 192);
            for (int n = 0; n < 2; n++) {
                const __m256i qa = _mm256_loadu_si256((const __m256i *)(b + 64 * n)),
                              qb = _mm256_loadu_si256((const __m256i *)(b + 64 * n + 32)),
                              qh = _mm256_loadu_si256((const __m256i *)(b + 128 + 32 * n));
                const __m256i hi[4] = {
                    _mm256_slli_epi16(_mm256_and_si256(qh, three), 4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), three), 4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), three), 4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), three), 4),
                };
                const __m256i lo[4] = {bx_lo(qa), bx_lo(qb), bx_hi(qa), bx_hi(qb)};
                for (int k = 0; k < 4; k += 2) {
                    const int8_t *sc = scales + 8 * n + 2 * k;
                    const float D[4] = {d * (float)sc[0], d * (float)sc[1], d * (float)sc[2], d * (float)sc[3]};
                    const float M[4] = {-32.f * D[0], -32.f * D[1], -32.f * D[2], -32.f * D[3]};
                    bx_emit2(c, 8 * sb + 4 * n + k, _mm256_or_si256(lo[k], hi[k]), _mm256_or_si256(lo[k + 1], hi[k + 1]), D, M);
                }
            }
        }
    } else { /* the other formats: blocks.h's plain-C unpacking (signed q) */
        for (int g = 0; g < nb; g++) {
            int8_t q[QK];
            float D[2], M[2];
            pg_unpack_group(kind, row, g, q, D, M);
            bx_emit(c, g, _mm256_loadu_si256((const __m256i *)q), 1, D[0], D[1], M[0], M[1]);
        }
    }
}

/* ------------------------------------------------------------------ the kernel table's entries */
PG_INLINE void bx_dot_k(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    bx_ctx c = {s, s2, _mm256_setzero_ps(), _mm256_setzero_ps(), _mm_setzero_ps(), NULL, NULL};
#if defined(__AVX512VNNI__)
    c.acc5 = _mm512_setzero_ps();
#endif
    bx_row(w->kind, pg_row(w, r), w->cols, &c);
    __m256 t = _mm256_add_ps(c.acc, c.acc2);
#if defined(__AVX512VNNI__)
    const __m512 a = c.acc5;
    t = _mm256_add_ps(t, _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1)));
#endif
    t = _mm256_add_ps(t, _mm256_castps128_ps256(c.off));
    *y = bx_hsum(t);
}

static void bx_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) { bx_dot_k(w, r, s, NULL, y); }

static void bx_dot_int8_2(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y) {
    bx_dot_k(w, r, s, s2, y);
}

static void bx_dequant(const pg_mat *w, int r, float *out) {
    bx_ctx c = {NULL, NULL, _mm256_setzero_ps(), _mm256_setzero_ps(), _mm_setzero_ps(), out, NULL};
    bx_row(w->kind, pg_row(w, r), w->cols, &c);
}

static void bx_dequant_bf16(const pg_mat *w, int r, uint16_t *out) {
    bx_ctx c = {NULL, NULL, _mm256_setzero_ps(), _mm256_setzero_ps(), _mm_setzero_ps(), NULL, out};
    bx_row(w->kind, pg_row(w, r), w->cols, &c);
}

/* several tokens: the row dequantized once (a few groups at a time, in a buffer on the stack),
 * then float32 products with each token */
static void bx_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    enum { CHUNK = 2048 }; /* weights per buffer (a multiple of 256) */
    float buf[CHUNK];
    float acc[32] = {0};
    const int nt = T < 32 ? T : 32;
    const uint8_t *row = pg_row(w, r);
    const int per = pg_block_weights(w->kind);
    for (int c0 = 0; c0 < w->cols; c0 += CHUNK) {
        const int n = w->cols - c0 < CHUNK ? w->cols - c0 : CHUNK;
        bx_ctx c = {NULL, NULL, _mm256_setzero_ps(), _mm256_setzero_ps(), _mm_setzero_ps(), buf, NULL};
        bx_row(w->kind, row + (size_t)c0 / per * pg_block_bytes(w->kind), n, &c);
        for (int t = 0; t < nt; t++) {
            const float *xt = x + (size_t)t * ldx + c0;
            __m256 a = _mm256_setzero_ps();
            for (int i = 0; i < n; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(buf + i), _mm256_loadu_ps(xt + i), a);
            acc[t] += bx_hsum(a);
        }
    }
    for (int t = 0; t < nt; t++) y[(size_t)t * ldy] = acc[t];
    if (T > 32) bx_rows(w, r, x + (size_t)32 * ldx, T - 32, ldx, y + (size_t)32 * ldy, ldy);
}

/* x to int8 per group of 32, in natural order (this file's own: the int8 tables' q8 quantizer) */
#define BX_OPS(quantize) {bx_dequant, bx_dequant_bf16, bx_rows, quantize, bx_dot_int8, bx_dot_int8_2}

#endif
