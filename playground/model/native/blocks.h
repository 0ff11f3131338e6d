/* GGUF's block formats, kept as the file stores them (raw bytes, row after row), and each one's
 * groups of 32 weights read out in plain C.
 *
 * Every format here is, per group of 32 consecutive weights of a row, an integer q per weight with
 * a scale and an offset per half-group of 16: w = D[h]·q + M[h]. pg_unpack_group gives q as int8
 * in natural order (Q5_0's q - 16, Q6_K's q - 32, IQ4's codebook values: all fit) and D, M as
 * float32, computed from the block's own fields exactly as ggml and gguf.quants compute them. The
 * portable kernels build every product on it; the SIMD files unpack the common formats with vector
 * instructions instead, and are checked against it (tests/native/kernel_check.c).
 *
 * Layouts (ggml-common.h), bytes per block of `PG_BLOCK` weights:
 *   Q5_0  (32, 22): d f16, qh u32 (bit 4 of each q), qs[16] (low nibbles: q[i], high: q[i+16]); w = d·(q-16)
 *   Q5_1  (32, 24): d, m f16, qh, qs[16]; w = d·q + m
 *   Q4_K  (256, 144): d, dmin f16, scales[12] (6-bit sc, m per 32), qs[128]; w = d·sc·q - dmin·m
 *   Q5_K  (256, 176): d, dmin, scales[12], qh[32], qs[128]; w = d·sc·q - dmin·m (q 5 bits)
 *   Q6_K  (256, 210): ql[128], qh[64], scales[16] int8 (per 16), d f16; w = d·sc·(q - 32)
 *   Q3_K  (256, 110): hmask[32], qs[64], scales[12] (6-bit, per 16, minus 32), d f16; w = d·sc·q, q in -4..3
 *   Q2_K  (256, 84): scales[16] (4-bit sc | 4-bit m per 16), qs[64], d, dmin f16; w = d·sc·q - dmin·m
 *   IQ4_NL (32, 18): d f16, qs[16]; w = d·kvalues[nibble]
 *   IQ4_XS (256, 136): d f16, scales_h u16, scales_l[4], qs[128]; w = d·(ls - 32)·kvalues[nibble]
 */
#ifndef PG_BLOCKS_H
#define PG_BLOCKS_H

#include "kernels.h"

static const int8_t pg_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* weights per block and bytes per block of each raw kind (0 for the split kinds and the floats) */
PG_INLINE int pg_block_weights(int kind) {
    switch (kind) {
    case PG_Q5_0: case PG_Q5_1: case PG_IQ4_NL: return 32;
    case PG_Q4_K: case PG_Q5_K: case PG_Q6_K: case PG_Q3_K: case PG_Q2_K: case PG_IQ4_XS: return 256;
    case PG_F16: case PG_BF16: return 1;
    default: return 0;
    }
}

PG_INLINE int pg_block_bytes(int kind) {
    switch (kind) {
    case PG_Q5_0: return 22;
    case PG_Q5_1: return 24;
    case PG_IQ4_NL: return 18;
    case PG_Q4_K: return 144;
    case PG_Q5_K: return 176;
    case PG_Q6_K: return 210;
    case PG_Q3_K: return 110;
    case PG_Q2_K: return 84;
    case PG_IQ4_XS: return 136;
    case PG_F16: case PG_BF16: return 2;
    default: return 0;
    }
}

/* bytes of one row of a raw kind */
PG_INLINE size_t pg_row_bytes(int kind, int cols) {
    return (size_t)cols / (size_t)pg_block_weights(kind) * (size_t)pg_block_bytes(kind);
}

PG_INLINE const uint8_t *pg_row(const pg_mat *w, int r) { return w->qs + (size_t)r * pg_row_bytes(w->kind, w->cols); }

PG_INLINE uint16_t pg_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* Q4_K / Q5_K: sub-block j's 6-bit scale and minimum (ggml's get_scale_min_k4) */
PG_INLINE void pg_scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q3_K's sixteen 6-bit scales, minus 32 */
PG_INLINE void pg_q3k_scales(const uint8_t *s12, int8_t out[16]) {
    uint32_t aux[4];
    memcpy(aux, s12, 12);
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(out, aux, 16);
    for (int i = 0; i < 16; i++) out[i] = (int8_t)(out[i] - 32);
}

/* Group g (weights 32g..32g+31) of a row of a raw quantized kind: q as int8, D and M per half. */
PG_INLINE void pg_unpack_group(int kind, const uint8_t *row, int g, int8_t q[32], float D[2], float M[2]) {
    switch (kind) {
    case PG_Q5_0:
    case PG_Q5_1: {
        const uint8_t *b = row + (size_t)g * pg_block_bytes(kind);
        const float d = h2f_c(pg_u16(b));
        const int one = kind == PG_Q5_1;
        uint32_t qh;
        memcpy(&qh, b + 2 + 2 * one, 4);
        const uint8_t *qs = b + 6 + 2 * one;
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)(((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - (one ? 0 : 16));
            q[j + 16] = (int8_t)(((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - (one ? 0 : 16));
        }
        D[0] = D[1] = d;
        M[0] = M[1] = one ? h2f_c(pg_u16(b + 2)) : 0.f;
        return;
    }
    case PG_IQ4_NL: {
        const uint8_t *b = row + (size_t)g * 18;
        const float d = h2f_c(pg_u16(b));
        for (int j = 0; j < 16; j++) {
            q[j] = pg_kvalues_iq4nl[b[2 + j] & 0xF];
            q[j + 16] = pg_kvalues_iq4nl[b[2 + j] >> 4];
        }
        D[0] = D[1] = d;
        M[0] = M[1] = 0.f;
        return;
    }
    case PG_Q4_K:
    case PG_Q5_K: {
        const int five = kind == PG_Q5_K;
        const uint8_t *b = row + (size_t)(g / 8) * (five ? 176 : 144);
        const int j = g % 8; /* sub-block in the super-block */
        const float d = h2f_c(pg_u16(b)), dmin = h2f_c(pg_u16(b + 2));
        int sc, m;
        pg_scale_min_k4(j, b + 4, &sc, &m);
        const uint8_t *qs = b + 16 + (five ? 32 : 0) + 32 * (j / 2); /* 32 bytes: sub-blocks j (low), j+1 (high) */
        const int shift = (j % 2) * 4;
        for (int i = 0; i < 32; i++) {
            int v = (qs[i] >> shift) & 0xF;
            if (five) v |= ((b[16 + i] >> j) & 1) << 4;
            q[i] = (int8_t)v;
        }
        D[0] = D[1] = d * (float)sc;
        M[0] = M[1] = -dmin * (float)m;
        return;
    }
    case PG_Q6_K: {
        const uint8_t *b = row + (size_t)(g / 8) * 210;
        const int j = g % 8, n = j / 4, k = j % 4; /* 128-chunk n, quarter k of it */
        const uint8_t *ql = b + 64 * n + (k % 2) * 32, *qh = b + 128 + 32 * n;
        const int8_t *sc = (const int8_t *)(b + 192) + 8 * n;
        const float d = h2f_c(pg_u16(b + 208));
        for (int l = 0; l < 32; l++) {
            const int lo = k < 2 ? (ql[l] & 0xF) : (ql[l] >> 4);
            q[l] = (int8_t)((lo | (((qh[l] >> (2 * k)) & 3) << 4)) - 32);
        }
        D[0] = d * (float)sc[0 + 2 * k];
        D[1] = d * (float)sc[1 + 2 * k];
        M[0] = M[1] = 0.f;
        return;
    }
    case PG_Q3_K: {
        const uint8_t *b = row + (size_t)(g / 8) * 110;
        const int j = g % 8, n = j / 4, k = j % 4; /* 128-chunk n, shift 2k within it */
        const uint8_t *hm = b, *qs = b + 32 + 32 * n;
        int8_t scales[16];
        pg_q3k_scales(b + 96, scales);
        const float d = h2f_c(pg_u16(b + 108));
        const uint8_t bit = (uint8_t)(1u << (4 * n + k));
        for (int l = 0; l < 32; l++) q[l] = (int8_t)(((qs[l] >> (2 * k)) & 3) - ((hm[l] & bit) ? 0 : 4));
        D[0] = d * (float)scales[8 * n + 2 * k];
        D[1] = d * (float)scales[8 * n + 2 * k + 1];
        M[0] = M[1] = 0.f;
        return;
    }
    case PG_Q2_K: {
        const uint8_t *b = row + (size_t)(g / 8) * 84;
        const int j = g % 8, n = j / 4, k = j % 4;
        const uint8_t *sc = b + 8 * n + 2 * k, *qs = b + 16 + 32 * n;
        const float d = h2f_c(pg_u16(b + 80)), dmin = h2f_c(pg_u16(b + 82));
        for (int l = 0; l < 32; l++) q[l] = (int8_t)((qs[l] >> (2 * k)) & 3);
        D[0] = d * (float)(sc[0] & 0xF);
        D[1] = d * (float)(sc[1] & 0xF);
        M[0] = -dmin * (float)(sc[0] >> 4);
        M[1] = -dmin * (float)(sc[1] >> 4);
        return;
    }
    case PG_IQ4_XS: {
        const uint8_t *b = row + (size_t)(g / 8) * 136;
        const int ib = g % 8;
        const float d = h2f_c(pg_u16(b));
        const int ls = ((b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((pg_u16(b + 2) >> (2 * ib)) & 3) << 4);
        const uint8_t *qs = b + 8 + 16 * ib;
        for (int l = 0; l < 16; l++) {
            q[l] = pg_kvalues_iq4nl[qs[l] & 0xF];
            q[l + 16] = pg_kvalues_iq4nl[qs[l] >> 4];
        }
        D[0] = D[1] = d * (float)(ls - 32);
        M[0] = M[1] = 0.f;
        return;
    }
    default:
        memset(q, 0, 32);
        D[0] = D[1] = M[0] = M[1] = 0.f;
    }
}

/* a row of a float kind (F16, BF16) as float32 */
PG_INLINE float pg_float_weight(int kind, const uint8_t *row, int i) {
    const uint16_t h = pg_u16(row + 2 * (size_t)i);
    return kind == PG_F16 ? h2f_c(h) : bf16_to_f32(h);
}

#endif
