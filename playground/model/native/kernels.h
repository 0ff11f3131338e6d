/* Playground's native CPU kernels: what every file shares.
 *
 * The library is built once, when the package is built (CMakeLists.txt at the project root), for
 * every instruction set of its target architecture: portable.c (plain C, the reference every
 * other variant is checked against), avx2.c and avx512.c on x86-64, neon.c (twice: with and
 * without the dot-product instructions) on ARM64. Each ISA file is compiled with its own flags
 * and fills a table of function pointers (pg_kernels) with the hot loops it has; dispatch.c picks
 * the best table the CPU can run (or the one PLAYGROUND_NATIVE names, through Python) and fills
 * the entries a variant leaves empty from the portable table. engine.c (the thread pool, the
 * matrix products, the whole forward pass) is compiled for the baseline and calls the table.
 *
 * Weights stay as the file stores them, split into arrays (structure of arrays), per kind:
 *   PG_Q4: w = d*q + m for q in 0..15, groups of 32; Q4_1 as is, Q4_0 with m = -8d (d, m float16).
 *          Byte i of a group holds element i (low nibble) and element i + 16 (high nibble), as in GGUF.
 *   PG_Q8: w = d*q for q in -128..127, groups of 32 (Q8_0; d float16).
 *   the other kinds: GGUF's own blocks (Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, Q3_K, Q2_K, IQ4_NL, IQ4_XS,
 *   F16, BF16), read through blocks.h.
 * docs/architecture.md says how to add a kind.
 */
#ifndef PG_KERNELS_H
#define PG_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PG_ABI 10
#define QK 32 /* weights per group */

/* PG_Q4, PG_Q8: split into arrays (d, m, qs) at load. The others: GGUF's blocks as the file stores
 * them, row after row in qs (blocks.h says how each is read); d and m unused. */
enum {
    PG_Q4 = 0, PG_Q8 = 1,
    PG_Q5_0, PG_Q5_1, PG_Q4_K, PG_Q5_K, PG_Q6_K, PG_Q3_K, PG_Q2_K, PG_IQ4_NL, PG_IQ4_XS, PG_F16, PG_BF16,
    PG_KINDS
};

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64)
#define PG_X86 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#define PG_ARM 1
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define PG_INLINE static __forceinline
#else
#define PG_INLINE static inline __attribute__((always_inline))
#endif

#if defined(_WIN32)
#define PG_EXPORT __declspec(dllexport)
#else
#define PG_EXPORT __attribute__((visibility("default")))
#endif

typedef struct {
    int32_t kind; /* PG_Q4, PG_Q8, ... */
    int32_t rows, cols;
    const uint16_t *d, *m; /* float16 (rows, cols/32), as GGUF stores them; m unused for q8 */
    const uint8_t *qs;     /* q4: rows*cols/2 bytes; q8: rows*cols int8; the raw kinds: their blocks */
    const float *bias;     /* rows, or NULL */
    int32_t precise;       /* one token's x taken as two int8 roundings (engine.c), not one */
} pg_mat;

/* Scratch for one input row x of a one-token product: per-group sums (sx), and x rounded to int8
 * per group of 32 (xq, dx), in whatever order and with whatever extra scale layout (dxv) the
 * variant's int8 kernels want: only the variant that wrote it reads it. */
typedef struct {
    float *sx, *dx, *dxv;
    int8_t *xq;
    float *sh; /* the raw kinds: per half-group of 16, dx times the sum of xq (x as rounded) */
} xscratch;

/* The hot loops of one kind of weight. dequant is required (portable.c has it for every kind);
 * the others may be NULL in an ISA's table (the portable one is used then). quantize_x and
 * dot_int8 come as a pair: where they are NULL, one-token products use rows (float32). */
typedef struct {
    void (*dequant)(const pg_mat *w, int r, float *out);         /* row r → float32 (embeddings) */
    void (*dequant_bf16)(const pg_mat *w, int r, uint16_t *out); /* row r → bfloat16 (dense prefill) */
    /* y[t*ldy] = x[t*ldx ...] · row r, for t < T: the float32 tiles, several tokens at once */
    void (*rows)(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy);
    void (*quantize_x)(const float *x, int cols, xscratch *s); /* one token: x to int8 per group */
    void (*dot_int8)(const pg_mat *w, int r, const xscratch *s, float *y); /* and its product with row r */
    /* optional: the product with x given as two int8 roundings (x ≈ s + s2, see engine.c's precise
     * products), the weights read once; where NULL, dot_int8 runs twice */
    void (*dot_int8_2)(const pg_mat *w, int r, const xscratch *s, const xscratch *s2, float *y);
    /* optional: a precise product's two roundings at once, the second at exactly 1/256 of the
     * first's scale (a valid s2 for any dot_int8_2; a table's own dot_int8_2 may rely on the ratio).
     * Where NULL, engine.c rounds the residual with quantize_x (its own scale). */
    void (*quantize_x2)(const float *x, int cols, xscratch *s, xscratch *s2);
} pg_kind_ops;

/* One head's attention over keys 0..n-1 of a bfloat16 cache (rows of hd values): softmax(q·K*scale)·V.
 * sc is scratch for n scores. */
typedef void (*pg_attend_fn)(const float *q, const uint16_t *K, const uint16_t *V, int n, int hd, float scale,
                             float *sc, float *out);

/* out[i] = act(g[i])·u[i] for i < n, the gated MLP's activation: SiLU (gelu 0) or GELU's tanh
 * approximation (gelu 1), as PyTorch's approximate="tanh". The SIMD variants compute both as
 * g·sigmoid(k) (k = g, or 2·0.79788·(g + 0.044715·g³): 0.5·(1 + tanh(z)) is sigmoid(2z)) with a
 * vector exp; kernel_check holds them to the portable tanhf/expf form within 1e-6 of |g·u|. */
typedef void (*pg_glu_fn)(const float *g, const float *u, int n, int gelu, float *out);

/* T queries of one head at positions start..start+T (query t at q + t·q_tok, its output at out + t·out_tok),
 * each over keys 0..its position of K, V (rows of hd; only the last `window` where window > 0): what
 * attend gives for each query alone. work: scratch for 2·(start + T) floats. */
typedef void (*pg_attend_prompt_fn)(const float *q, int64_t q_tok, const uint16_t *K, const uint16_t *V, int T,
                                    int start, int window, int hd, float scale, float *work, float *out,
                                    int64_t out_tok);

typedef struct {
    const char *name; /* "avx512", "avx2", "neon", "portable" */
    const char *int8; /* how one-token products are summed: "vnni", "avx2", "dotprod", "neon", "none" */
    pg_kind_ops ops[PG_KINDS];
    pg_attend_fn attend;
    pg_glu_fn glu; /* may be NULL (the portable one is used then) */
    pg_attend_prompt_fn attend_prompt; /* optional: NULL runs attend once per query */
} pg_kernels;

/* the tables, each defined by its ISA file (the ones not built for this architecture are absent) */
extern const pg_kernels pg_kernels_portable;
#if defined(PG_X86)
extern const pg_kernels pg_kernels_avx2, pg_kernels_avx512;
#elif defined(PG_ARM)
extern const pg_kernels pg_kernels_neon, pg_kernels_neon_dotprod;
#endif

/* dispatch.c: a variant's table with its empty entries filled from the portable one, or NULL
 * where that variant is not built for this architecture or the CPU cannot run it. */
const pg_kernels *pg_resolve(const char *name);

/* portable.c: one-token products the way the SIMD int8 kernels compute them (x rounded to int8
 * per group, integer sums), in plain C — what the C check program compares them with. */
void pg_ref_quantize_x(const float *x, int cols, xscratch *s);
void pg_ref_dot_int8(const pg_mat *w, int r, const xscratch *s, float *y);
/* the half-group sums the raw kinds' int8 products need (s->sh from s->xq, s->dx) */
void pg_half_sums(int cols, xscratch *s);

/* ------------------------------------------------------------------ number formats */
PG_INLINE float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}

PG_INLINE uint16_t f32_to_bf16(float f) { /* round to nearest even, as PyTorch does */
    union { float f; uint32_t u; } v;
    v.f = f;
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40); /* NaN stays NaN */
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)(v.u >> 16);
}

/* float16 → float32 in plain C (ISA files use their conversion instructions) */
PG_INLINE float h2f_c(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    union { uint32_t u; float f; } v;
    if (e == 0) { /* zero or subnormal: man · 2^-24 */
        v.f = (float)man * (1.0f / 16777216.0f);
        v.u |= sign;
    } else if (e == 31) {
        v.u = sign | 0x7f800000u | (man << 13);
    } else {
        v.u = sign | ((e + 112u) << 23) | (man << 13);
    }
    return v.f;
}

/* where group b of row r starts */
PG_INLINE const uint8_t *q4_group(const pg_mat *w, int r, int b) { return w->qs + ((size_t)r * (w->cols / QK) + b) * 16; }
PG_INLINE const int8_t *q8_group(const pg_mat *w, int r, int b) {
    return (const int8_t *)w->qs + (size_t)r * w->cols + (size_t)QK * b;
}

#endif
