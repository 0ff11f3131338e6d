/* ARM64 NEON kernels. CMakeLists.txt compiles this file twice: as is (ARMv8 baseline, every
 * ARM64 CPU: table pg_kernels_neon) and with PG_DOTPROD and the ARMv8.2 dot-product instructions
 * (table pg_kernels_neon_dotprod: Apple Silicon, Graviton 2+, Snapdragon X, Raspberry Pi 5),
 * which dispatch.c picks where the CPU has them. Float tiles 4 lanes wide; one-token products
 * as int8 (SDOT, or SMULL + SADALP without it); bfloat16 dequantization; attention. */
#include "attention.h"
#include "kernels.h"

#if defined(PG_ARM)
#include <arm_neon.h>

#if defined(PG_DOTPROD)
#define TABLE pg_kernels_neon_dotprod
#define INT8_NAME "dotprod"
#else
#define TABLE pg_kernels_neon
#define INT8_NAME "neon"
#endif

PG_INLINE float h2f(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

PG_INLINE float32x4_t u8x4_to_f32(uint16x4_t v) { return vcvtq_f32_u32(vmovl_u16(v)); }
PG_INLINE float32x4_t s8x4_to_f32(int16x4_t v) { return vcvtq_f32_s32(vmovl_s16(v)); }

/* a group of 32 weights as eight vectors of 4 floats, in element order */
PG_INLINE void group4(const pg_mat *w, int r, int b, const int kind, float32x4_t *v) {
    const int nb = w->cols / QK;
    const float d = h2f(w->d[(size_t)r * nb + b]);
    if (kind == PG_Q4) {
        const uint8x16_t q = vld1q_u8(q4_group(w, r, b));
        const uint16x8_t lo0 = vmovl_u8(vget_low_u8(vandq_u8(q, vdupq_n_u8(15))));
        const uint16x8_t lo1 = vmovl_u8(vget_high_u8(vandq_u8(q, vdupq_n_u8(15))));
        const uint16x8_t hi0 = vmovl_u8(vget_low_u8(vshrq_n_u8(q, 4)));
        const uint16x8_t hi1 = vmovl_u8(vget_high_u8(vshrq_n_u8(q, 4)));
        const float32x4_t mv = vdupq_n_f32(h2f(w->m[(size_t)r * nb + b]));
        const uint16x4_t parts[8] = {vget_low_u16(lo0), vget_high_u16(lo0), vget_low_u16(lo1), vget_high_u16(lo1),
                                     vget_low_u16(hi0), vget_high_u16(hi0), vget_low_u16(hi1), vget_high_u16(hi1)};
        for (int i = 0; i < 8; i++) v[i] = vfmaq_n_f32(mv, u8x4_to_f32(parts[i]), d);
    } else {
        const int8_t *q = q8_group(w, r, b);
        for (int h = 0; h < 2; h++) {
            const int8x16_t qv = vld1q_s8(q + 16 * h);
            const int16x8_t a = vmovl_s8(vget_low_s8(qv)), c = vmovl_s8(vget_high_s8(qv));
            v[4 * h + 0] = vmulq_n_f32(s8x4_to_f32(vget_low_s16(a)), d);
            v[4 * h + 1] = vmulq_n_f32(s8x4_to_f32(vget_high_s16(a)), d);
            v[4 * h + 2] = vmulq_n_f32(s8x4_to_f32(vget_low_s16(c)), d);
            v[4 * h + 3] = vmulq_n_f32(s8x4_to_f32(vget_high_s16(c)), d);
        }
    }
}

/* ------------------------------------------------------------------ float32 tiles */
PG_INLINE void tile4(const pg_mat *w, int r, const float *x, int ldx, float *y, int ldy, const int NT, const int kind) {
    const int nb = w->cols / QK;
    float32x4_t a0[4], a1[4];
    for (int i = 0; i < NT; i++) a0[i] = a1[i] = vdupq_n_f32(0.f);
    for (int b = 0; b < nb; b++) {
        float32x4_t v[8];
        group4(w, r, b, kind, v);
        for (int i = 0; i < NT; i++) {
            const float *xb = x + (size_t)i * ldx + QK * b;
            for (int k = 0; k < 8; k += 2) {
                a0[i] = vfmaq_f32(a0[i], v[k], vld1q_f32(xb + 4 * k));
                a1[i] = vfmaq_f32(a1[i], v[k + 1], vld1q_f32(xb + 4 * k + 4));
            }
        }
    }
    for (int i = 0; i < NT; i++) y[(size_t)i * ldy] = vaddvq_f32(vaddq_f32(a0[i], a1[i]));
}

PG_INLINE void rows_k(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy, const int kind) {
    int t = 0;
    for (; t + 4 <= T; t += 4) tile4(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 4, kind);
    for (; t + 2 <= T; t += 2) tile4(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 2, kind);
    for (; t < T; t++) tile4(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 1, kind);
}

static void q4_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_k(w, r, x, T, ldx, y, ldy, PG_Q4);
}

static void q8_rows(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    rows_k(w, r, x, T, ldx, y, ldy, PG_Q8);
}

/* ------------------------------------------------------------------ one token, int8 */
/* x rounded to int8 per group of 32 (round to nearest even, like lrintf), in natural order */
static void quantize_x(const float *x, int cols, xscratch *s) {
    const int nb = cols / QK;
    for (int b = 0; b < nb; b++) {
        const float *xb = x + QK * b;
        float32x4_t v[8], mx = vdupq_n_f32(0.f);
        for (int i = 0; i < 8; i++) {
            v[i] = vld1q_f32(xb + 4 * i);
            mx = vmaxq_f32(mx, vabsq_f32(v[i]));
        }
        const float amax = vmaxvq_f32(mx);
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        int32x4_t isum = vdupq_n_s32(0);
        for (int i = 0; i < 8; i += 2) {
            const int32x4_t i0 = vcvtnq_s32_f32(vmulq_n_f32(v[i], inv)), i1 = vcvtnq_s32_f32(vmulq_n_f32(v[i + 1], inv));
            isum = vaddq_s32(isum, vaddq_s32(i0, i1));
            const int16x8_t h = vcombine_s16(vqmovn_s32(i0), vqmovn_s32(i1));
            vst1_s8(s->xq + QK * b + 4 * i, vqmovn_s16(h));
        }
        s->sx[b] = s->dx[b] * (float)vaddvq_s32(isum); /* x as rounded, for q4's minimum (see portable.c) */
    }
}

/* the sum of the 16 byte products a·b, as four 32-bit partial sums added to acc */
PG_INLINE int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(PG_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

static void q4_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const uint16_t *d = w->d + (size_t)r * nb, *m = w->m + (size_t)r * nb;
    float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = vdupq_n_f32(0.f);
    for (int b = 0; b < nb; b++) {
        const uint8x16_t q = vld1q_u8(q4_group(w, r, b));
        const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15))), hi = vreinterpretq_s8_u8(vshrq_n_u8(q, 4));
        int32x4_t p = dot16(vdupq_n_s32(0), lo, vld1q_s8(s->xq + QK * b));
        p = dot16(p, hi, vld1q_s8(s->xq + QK * b + 16));
        const float scale = h2f(d[b]) * s->dx[b];
        if (b & 1)
            acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(p), scale);
        else
            acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(p), scale);
    }
    int j = 0; /* the minimum's part, sum_j m[j] * sx[j], 4 groups at a time */
    for (; j + 4 <= nb; j += 4)
        acc1 = vfmaq_f32(acc1, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(m + j))), vld1q_f32(s->sx + j));
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; j < nb; j++) sum += h2f(m[j]) * s->sx[j];
    *y = sum;
}

static void q8_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const uint16_t *d = w->d + (size_t)r * nb;
    float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = vdupq_n_f32(0.f);
    for (int b = 0; b < nb; b++) {
        const int8_t *q = q8_group(w, r, b);
        int32x4_t p = dot16(vdupq_n_s32(0), vld1q_s8(q), vld1q_s8(s->xq + QK * b));
        p = dot16(p, vld1q_s8(q + 16), vld1q_s8(s->xq + QK * b + 16));
        const float scale = h2f(d[b]) * s->dx[b];
        if (b & 1)
            acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(p), scale);
        else
            acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(p), scale);
    }
    *y = vaddvq_f32(vaddq_f32(acc0, acc1));
}

/* ------------------------------------------------------------------ bfloat16 rows (dense prefill) */
PG_INLINE uint16x4_t to_bf16(float32x4_t v) { /* round to nearest even, as PyTorch converts */
    uint32x4_t u = vreinterpretq_u32_f32(v);
    u = vaddq_u32(u, vaddq_u32(vdupq_n_u32(0x7fff), vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1))));
    return vshrn_n_u32(u, 16);
}

PG_INLINE void dequant_bf16_k(const pg_mat *w, int r, uint16_t *o, const int kind) {
    const int nb = w->cols / QK;
    for (int b = 0; b < nb; b++) {
        float32x4_t v[8];
        group4(w, r, b, kind, v);
        for (int i = 0; i < 8; i += 2) vst1q_u16(o + QK * b + 4 * i, vcombine_u16(to_bf16(v[i]), to_bf16(v[i + 1])));
    }
}

static void q4_dequant_bf16(const pg_mat *w, int r, uint16_t *o) { dequant_bf16_k(w, r, o, PG_Q4); }
static void q8_dequant_bf16(const pg_mat *w, int r, uint16_t *o) { dequant_bf16_k(w, r, o, PG_Q8); }

/* ------------------------------------------------------------------ attention */
PG_INLINE float32x4_t bf16x4(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }

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
        float32x4_t a0 = vdupq_n_f32(0.f), a1 = vdupq_n_f32(0.f);
        for (int i = 0; i < hd; i += 8) {
            a0 = vfmaq_f32(a0, bf16x4(k + i), vld1q_f32(q + i));
            a1 = vfmaq_f32(a1, bf16x4(k + i + 4), vld1q_f32(q + i + 4));
        }
        dot = vaddvq_f32(vaddq_f32(a0, a1));
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
        for (int i = 0; i < hd; i += 4) vst1q_f32(out + i, vfmaq_n_f32(vld1q_f32(out + i), bf16x4(v + i), a));
    }
}

/* ------------------------------------------------------------------ the gated MLP's activation */
/* e^x for x <= 0, Cephes' expf polynomial (as avx512.c's exp_neg512): relative error < 2e-7 */
PG_INLINE float32x4_t exp_neg4(float32x4_t x) {
    x = vmaxq_f32(x, vdupq_n_f32(-87.0f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    /* 2^n for n in -126..0: the exponent field alone */
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

/* act(g)·u as g·sigmoid(k)·u (kernels.h), sigmoid from e^-|k|: 1/(1 + e) for k >= 0, e/(1 + e) below */
PG_INLINE float32x4_t glu4(float32x4_t g, float32x4_t u, const int gelu) {
    float32x4_t k = g;
    if (gelu)
        k = vmulq_f32(g, vfmaq_f32(vdupq_n_f32(1.5957691216057308f), vmulq_f32(g, g), vdupq_n_f32(0.0713548162726f)));
    const float32x4_t e = exp_neg4(vnegq_f32(vabsq_f32(k)));
    const float32x4_t r = vdivq_f32(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), e));
    const float32x4_t sg = vbslq_f32(vcltq_f32(k, vdupq_n_f32(0.f)), vmulq_f32(r, e), r);
    return vmulq_f32(vmulq_f32(g, sg), u);
}

PG_INLINE void glu_k(const float *g, const float *u, int n, float *out, const int gelu) {
    int i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(out + i, glu4(vld1q_f32(g + i), vld1q_f32(u + i), gelu));
    if (i < n) { /* the tail through a padded copy */
        float gb[4] = {0}, ub[4] = {0}, ob[4];
        memcpy(gb, g + i, sizeof(float) * (n - i));
        memcpy(ub, u + i, sizeof(float) * (n - i));
        vst1q_f32(ob, glu4(vld1q_f32(gb), vld1q_f32(ub), gelu));
        memcpy(out + i, ob, sizeof(float) * (n - i));
    }
}

static void glu(const float *g, const float *u, int n, int gelu, float *out) {
    if (gelu)
        glu_k(g, u, n, out, 1);
    else
        glu_k(g, u, n, out, 0);
}

#include "floats.h"

const pg_kernels TABLE = {
    "neon",
    INT8_NAME,
    {
        [PG_Q4] = {NULL, q4_dequant_bf16, q4_rows, quantize_x, q4_dot_int8},
        [PG_Q8] = {NULL, q8_dequant_bf16, q8_rows, quantize_x, q8_dot_int8},
        [PG_F16] = FX_F16_OPS, [PG_BF16] = FX_BF16_OPS,
    },
    attend,
    glu,
};
#endif
