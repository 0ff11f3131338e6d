/* The portable kernels: plain C for every kind of weight, compiled for the architecture's baseline.
 * They are what a CPU without a faster variant runs, the fallback for any entry an ISA file leaves
 * empty, and the reference the other variants are tested against (tests/unit/test_fast_path.py,
 * tests/native/kernel_check.c). One-token products stay in float32 here (no int8 rounding of x);
 * pg_ref_* below compute them the int8 way, for the checks only. */
#include "attention.h"
#include "blocks.h"

/* ------------------------------------------------------------------ q4: w = d*q + m */
static void q4_dequant(const pg_mat *w, int r, float *out) {
    const int nb = w->cols / QK;
    for (int b = 0; b < nb; b++) {
        const uint8_t *q = q4_group(w, r, b);
        const float d = h2f_c(w->d[(size_t)r * nb + b]), m = h2f_c(w->m[(size_t)r * nb + b]);
        for (int i = 0; i < 16; i++) {
            out[QK * b + i] = d * (float)(q[i] & 15) + m;
            out[QK * b + 16 + i] = d * (float)(q[i] >> 4) + m;
        }
    }
}

/* ------------------------------------------------------------------ q8: w = d*q */
static void q8_dequant(const pg_mat *w, int r, float *out) {
    const int nb = w->cols / QK;
    for (int b = 0; b < nb; b++) {
        const int8_t *q = q8_group(w, r, b);
        const float d = h2f_c(w->d[(size_t)r * nb + b]);
        for (int i = 0; i < QK; i++) out[QK * b + i] = d * (float)q[i];
    }
}

/* ------------------------------------------------------------------ bfloat16 rows (dense prefill) */
static void q4_dequant_bf16(const pg_mat *w, int r, uint16_t *out) {
    const int nb = w->cols / QK;
    for (int b = 0; b < nb; b++) {
        const uint8_t *q = q4_group(w, r, b);
        const float d = h2f_c(w->d[(size_t)r * nb + b]), m = h2f_c(w->m[(size_t)r * nb + b]);
        for (int i = 0; i < 16; i++) {
            out[QK * b + i] = f32_to_bf16(d * (float)(q[i] & 15) + m);
            out[QK * b + 16 + i] = f32_to_bf16(d * (float)(q[i] >> 4) + m);
        }
    }
}

static void q8_dequant_bf16(const pg_mat *w, int r, uint16_t *out) {
    const int nb = w->cols / QK;
    for (int b = 0; b < nb; b++) {
        const int8_t *q = q8_group(w, r, b);
        const float d = h2f_c(w->d[(size_t)r * nb + b]);
        for (int i = 0; i < QK; i++) out[QK * b + i] = f32_to_bf16(d * (float)q[i]);
    }
}

/* float32 tiles: up to 4 tokens against one weight row, the row's groups dequantized once */
static void rows_generic(void (*group)(const pg_mat *, int, int, float *), const pg_mat *w, int r, const float *x,
                         int T, int ldx, float *y, int ldy) {
    const int nb = w->cols / QK;
    float wb[QK], acc[4];
    for (int t0 = 0; t0 < T; t0 += 4) {
        const int nt = T - t0 < 4 ? T - t0 : 4;
        for (int i = 0; i < 4; i++) acc[i] = 0.f;
        for (int b = 0; b < nb; b++) {
            group(w, r, b, wb);
            for (int i = 0; i < nt; i++) {
                const float *xb = x + (size_t)(t0 + i) * ldx + QK * b;
                float s = 0.f;
                for (int k = 0; k < QK; k++) s += wb[k] * xb[k];
                acc[i] += s;
            }
        }
        for (int i = 0; i < nt; i++) y[(size_t)(t0 + i) * ldy] = acc[i];
    }
}

static void q4_group_f32(const pg_mat *w, int r, int b, float *wb) {
    const uint8_t *q = q4_group(w, r, b);
    const int nb = w->cols / QK;
    const float d = h2f_c(w->d[(size_t)r * nb + b]), m = h2f_c(w->m[(size_t)r * nb + b]);
    for (int i = 0; i < 16; i++) {
        wb[i] = d * (float)(q[i] & 15) + m;
        wb[i + 16] = d * (float)(q[i] >> 4) + m;
    }
}

static void q8_group_f32(const pg_mat *w, int r, int b, float *wb) {
    const int8_t *q = q8_group(w, r, b);
    const float d = h2f_c(w->d[(size_t)r * (w->cols / QK) + b]);
    for (int i = 0; i < QK; i++) wb[i] = d * (float)q[i];
}

static void q4_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_generic(q4_group_f32, w, r, x, T, ldx, y, ldy);
}

static void q8_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_generic(q8_group_f32, w, r, x, T, ldx, y, ldy);
}

/* ------------------------------------------------------------------ attention, one head */
static void attend(const float *q, const uint16_t *K, const uint16_t *V, int n, int hd, float scale, float *sc,
                   float *out) {
    pg_attend_scalar(q, K, V, n, hd, scale, 0.f, sc, out);
}

/* ------------------------------------------------------------------ the gated MLP's activation */
static void glu(const float *g, const float *u, int n, int gelu, float *out) {
    for (int i = 0; i < n; i++) {
        const float x = g[i];
        const float a = gelu ? 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)))
                             : x / (1.0f + expf(-x));
        out[i] = a * u[i];
    }
}

/* ------------------------------------------------------------------ GGUF's own blocks (blocks.h) */
/* group b of row r as 32 floats: D[h]·q + M[h] (the float kinds: their values) */
static void raw_group_f32(const pg_mat *w, int r, int b, float *wb) {
    const uint8_t *row = pg_row(w, r);
    if (w->kind == PG_F16 || w->kind == PG_BF16) {
        for (int i = 0; i < QK; i++) wb[i] = pg_float_weight(w->kind, row, QK * b + i);
        return;
    }
    int8_t q[QK];
    float D[2], M[2];
    pg_unpack_group(w->kind, row, b, q, D, M);
    for (int i = 0; i < QK; i++) wb[i] = D[i / 16] * (float)q[i] + M[i / 16];
}

static void raw_dequant(const pg_mat *w, int r, float *out) {
    for (int b = 0; b < w->cols / QK; b++) raw_group_f32(w, r, b, out + QK * b);
}

static void raw_dequant_bf16(const pg_mat *w, int r, uint16_t *out) {
    float wb[QK];
    for (int b = 0; b < w->cols / QK; b++) {
        raw_group_f32(w, r, b, wb);
        for (int i = 0; i < QK; i++) out[QK * b + i] = f32_to_bf16(wb[i]);
    }
}

static void raw_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_generic(raw_group_f32, w, r, x, T, ldx, y, ldy);
}

#define RAW_OPS {raw_dequant, raw_dequant_bf16, raw_rows, NULL, NULL, NULL}

const pg_kernels pg_kernels_portable = {
    "portable",
    "none",
    {
        [PG_Q4] = {q4_dequant, q4_dequant_bf16, q4_rows, NULL, NULL, NULL},
        [PG_Q8] = {q8_dequant, q8_dequant_bf16, q8_rows, NULL, NULL, NULL},
        [PG_Q5_0] = RAW_OPS, [PG_Q5_1] = RAW_OPS, [PG_Q4_K] = RAW_OPS, [PG_Q5_K] = RAW_OPS, [PG_Q6_K] = RAW_OPS,
        [PG_Q3_K] = RAW_OPS, [PG_Q2_K] = RAW_OPS, [PG_IQ4_NL] = RAW_OPS, [PG_IQ4_XS] = RAW_OPS,
        [PG_F16] = RAW_OPS, [PG_BF16] = RAW_OPS,
    },
    attend,
    glu,
};

/* ------------------------------------------------------------------ the int8 reference */
/* x per group of 32: dx = max|x|/127, xq = round-to-even(x/dx) clamped to ±127, sx = dx·sum(xq)
 * (the sum of x *as rounded*); then a row's product is sum_b d_b·dx_b·(q·xq)_b (+ m_b·sx_b for q4),
 * in natural element order: exactly (x as rounded) · (the exact weight row), as llama.cpp's q8_1.
 * (With sx the sum of x itself, the rounding error of the d·q part is not cancelled by the m part,
 * whose magnitude is ~8d: SmolLM2 Q4_1's mean KL against the exact model was 0.02, not 0.004.) */
void pg_ref_quantize_x(const float *x, int cols, xscratch *s) {
    const int nb = cols / QK;
    for (int b = 0; b < nb; b++) {
        const float *xb = x + QK * b;
        float amax = 0.f;
        for (int i = 0; i < QK; i++) {
            const float a = fabsf(xb[i]);
            amax = a > amax ? a : amax;
        }
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        int32_t isum = 0;
        for (int i = 0; i < QK; i++) {
            const int q = (int)lrintf(xb[i] * inv);
            s->xq[QK * b + i] = (int8_t)(q > 127 ? 127 : (q < -127 ? -127 : q));
            isum += s->xq[QK * b + i];
        }
        s->sx[b] = s->dx[b] * (float)isum;
    }
}

void pg_half_sums(int cols, xscratch *s) {
    for (int b = 0; b < cols / QK; b++)
        for (int h = 0; h < 2; h++) {
            int32_t sum = 0;
            for (int i = 0; i < 16; i++) sum += s->xq[QK * b + 16 * h + i];
            s->sh[2 * b + h] = s->dx[b] * (float)sum;
        }
}

void pg_ref_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    float sum = 0.f;
    if (w->kind >= PG_Q5_0) { /* the raw kinds: per half, D·dx·(q·xq) + M·(dx·sum xq) */
        for (int b = 0; b < nb; b++) {
            int8_t q[QK];
            float D[2], M[2];
            pg_unpack_group(w->kind, pg_row(w, r), b, q, D, M);
            for (int h = 0; h < 2; h++) {
                int32_t acc = 0;
                for (int i = 16 * h; i < 16 * h + 16; i++) acc += (int32_t)q[i] * s->xq[QK * b + i];
                sum += D[h] * s->dx[b] * (float)acc + M[h] * s->sh[2 * b + h];
            }
        }
        *y = sum;
        return;
    }
    for (int b = 0; b < nb; b++) {
        const int8_t *xq = s->xq + QK * b;
        int32_t acc = 0;
        if (w->kind == PG_Q4) {
            const uint8_t *q = q4_group(w, r, b);
            for (int i = 0; i < 16; i++) acc += (int32_t)(q[i] & 15) * xq[i] + (int32_t)(q[i] >> 4) * xq[16 + i];
            sum += h2f_c(w->m[(size_t)r * nb + b]) * s->sx[b];
        } else {
            const int8_t *q = q8_group(w, r, b);
            for (int i = 0; i < QK; i++) acc += (int32_t)q[i] * xq[i];
        }
        sum += h2f_c(w->d[(size_t)r * nb + b]) * s->dx[b] * (float)acc;
    }
    *y = sum;
}
