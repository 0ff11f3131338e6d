/* Every kernels variant this CPU runs against the portable one, on random blocks: float tiles
 * (1-5 tokens), one-token int8 products (against the int8 reference in portable.c), bfloat16
 * dequantization, attention, and the threaded product. Built with PG_BUILD_CHECK=ON
 * (CMakeLists.txt); tests/unit/test_native_check.py builds and runs it here, with clang, for
 * ARM64 under qemu-aarch64 and for Windows under wine.
 * Prints one line per variant and check, then "N passed, M failed"; exits 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>

#include "blocks.h"

int pg_set_threads(int n);
int pg_gemm(const void *kernels, const pg_mat *w, const float *x, int T, float *y);

static unsigned long long rng = 88172645463325252ull;
static unsigned next(void) { /* xorshift64 */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng >> 11);
}
static float uniform(void) { return (float)(next() % 2000001) / 1000000.0f - 1.0f; } /* [-1, 1] */
static uint16_t half(int negative) { /* a normal float16 between 2^-6 and 2 */
    return (uint16_t)((negative ? 0x8000u : 0) | ((9u + next() % 7u) << 10) | (next() & 0x3ffu));
}

static int passed, failed;
static void report(const char *variant, const char *what, double err, double tol) {
    const int ok = err <= tol;
    printf("%-8s %-40s err %.3g (tol %.3g) %s\n", variant, what, err, tol, ok ? "ok" : "FAILED");
    ok ? passed++ : failed++;
}

typedef struct {
    pg_mat w;
    uint16_t *d, *m;
    uint8_t *qs;
} matrix;

/* the float16 scale fields of each raw kind: (byte offset, exponent range) */
static void raw_scales(int kind, uint8_t *block) {
    static const struct { int kind, off[2]; } F[] = {
        {PG_Q5_0, {0, -1}}, {PG_Q5_1, {0, 2}}, {PG_Q4_K, {0, 2}}, {PG_Q5_K, {0, 2}}, {PG_Q6_K, {208, -1}},
        {PG_Q3_K, {108, -1}}, {PG_Q2_K, {80, 82}}, {PG_IQ4_NL, {0, -1}}, {PG_IQ4_XS, {0, -1}},
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        if (F[i].kind != kind) continue;
        for (int j = 0; j < 2; j++) {
            if (F[i].off[j] < 0) continue;
            const uint16_t h = (uint16_t)(((2u + next() % 5u) << 10) | (next() & 0x3ffu)); /* 2^-13 .. 2^-9 */
            block[F[i].off[j]] = (uint8_t)(h & 0xff);
            block[F[i].off[j] + 1] = (uint8_t)(h >> 8);
        }
    }
}

static matrix random_matrix(int kind, int rows, int cols) {
    matrix M;
    const int nb = cols / QK;
    M.d = malloc(sizeof(uint16_t) * rows * nb);
    M.m = malloc(sizeof(uint16_t) * rows * nb);
    if (kind >= PG_Q5_0) { /* GGUF's own blocks: random bits, sane scales (floats: sane values) */
        const size_t bytes = (size_t)rows * pg_row_bytes(kind, cols);
        M.qs = malloc(bytes);
        for (size_t i = 0; i < bytes; i++) M.qs[i] = (uint8_t)next();
        if (kind == PG_F16 || kind == PG_BF16) {
            for (size_t i = 0; i < bytes / 2; i++) {
                uint16_t h = kind == PG_F16 ? half(next() & 1) : f32_to_bf16(uniform());
                /* and the values a conversion gets wrong first: zeros and subnormals */
                static const uint16_t f16_odd[] = {0x0000, 0x8000, 0x0001, 0x03ff, 0x8200, 0x0400};
                static const uint16_t bf16_odd[] = {0x0000, 0x8000, 0x0001, 0x007f, 0x8040, 0x0080};
                if (i % 7 == 3) h = (kind == PG_F16 ? f16_odd : bf16_odd)[(i / 7) % 6];
                M.qs[2 * i] = (uint8_t)(h & 0xff), M.qs[2 * i + 1] = (uint8_t)(h >> 8);
            }
        } else {
            const int bb = pg_block_bytes(kind);
            for (size_t b = 0; b < bytes / bb; b++) raw_scales(kind, M.qs + b * bb);
        }
        pg_mat w = {kind, rows, cols, NULL, NULL, M.qs, NULL, 0};
        M.w = w;
        return M;
    }
    const size_t bytes = kind == PG_Q4 ? (size_t)rows * cols / 2 : (size_t)rows * cols;
    M.qs = malloc(bytes);
    for (int i = 0; i < rows * nb; i++) M.d[i] = half(0), M.m[i] = half(1);
    for (size_t i = 0; i < bytes; i++) M.qs[i] = (uint8_t)next();
    pg_mat w = {kind, rows, cols, M.d, kind == PG_Q4 ? M.m : NULL, M.qs, NULL, 0};
    M.w = w;
    return M;
}

static void free_matrix(matrix *M) {
    free(M->d);
    free(M->m);
    free(M->qs);
}

static double max_rel(const float *a, const float *b, int n, double scale) {
    double e = 0;
    for (int i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]) / scale;
        if (d > e || d != d) e = d != d ? INFINITY : d;
    }
    return e;
}

static void xscratch_new(xscratch *s, int cols) {
    const int nb = cols / QK + 1;
    s->sx = malloc(sizeof(float) * nb);
    s->dx = malloc(sizeof(float) * nb);
    s->dxv = malloc(sizeof(float) * 16 * nb);
    s->xq = malloc((size_t)QK * nb + 64);
    s->sh = malloc(sizeof(float) * 2 * nb);
}

static void xscratch_del(xscratch *s) {
    free(s->sx);
    free(s->dx);
    free(s->dxv);
    free(s->xq);
    free(s->sh);
}

static void check_products(const pg_kernels *K, const pg_kernels *P, int kind, int rows, int cols) {
    char what[96];
    matrix M = random_matrix(kind, rows, cols);
    const int T = 5;
    float *x = malloc(sizeof(float) * T * cols), *y = malloc(sizeof(float) * T * rows),
          *ref = malloc(sizeof(float) * T * rows), *wrow = malloc(sizeof(float) * cols);
    for (int i = 0; i < T * cols; i++) x[i] = uniform();
    double scale = 0; /* the size of a product: sum |w||x| over a row, at most */
    for (int r = 0; r < rows; r++) {
        P->ops[kind].dequant(&M.w, r, wrow);
        double s = 0;
        for (int i = 0; i < cols; i++) s += fabs(wrow[i]);
        scale = s > scale ? s : scale;
    }
    static const char *names[] = {"q4", "q8", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k", "q3_k", "q2_k", "iq4_nl",
                                  "iq4_xs", "f16", "bf16"};
    const char *kn = names[kind];
    for (int t = 1; t <= T; t++) { /* float tiles: 1 to 5 tokens */
        for (int r = 0; r < rows; r++) {
            K->ops[kind].rows(&M.w, r, x, t, cols, y + r, rows);
            P->ops[kind].rows(&M.w, r, x, t, cols, ref + r, rows);
        }
        snprintf(what, sizeof what, "%s rows %dx%d, %d tokens", kn, rows, cols, t);
        report(K->name, what, max_rel(y, ref, t * rows, scale), 1e-5);
    }
    if (K->ops[kind].dot_int8) { /* one token as int8, against the plain-C int8 reference */
        xscratch s, sr;
        xscratch_new(&s, cols);
        xscratch_new(&sr, cols);
        K->ops[kind].quantize_x(x, cols, &s);
        pg_ref_quantize_x(x, cols, &sr);
        if (kind >= PG_Q5_0) pg_half_sums(cols, &s), pg_half_sums(cols, &sr);
        for (int r = 0; r < rows; r++) {
            K->ops[kind].dot_int8(&M.w, r, &s, y + r);
            pg_ref_dot_int8(&M.w, r, &sr, ref + r);
        }
        snprintf(what, sizeof what, "%s int8 (%s) %dx%d", kn, K->int8, rows, cols);
        report(K->name, what, max_rel(y, ref, rows, scale), 1e-5);
        /* and int8 rounding stays within its bound of the float product */
        for (int r = 0; r < rows; r++) P->ops[kind].rows(&M.w, r, x, 1, cols, ref + r, rows);
        snprintf(what, sizeof what, "%s int8 vs float32 %dx%d", kn, rows, cols);
        report(K->name, what, max_rel(y, ref, rows, scale), 1.0 / 127);
        /* a precise product (x as two int8 roundings, engine.c) is within float32's reach */
        M.w.precise = 1;
        pg_gemm(K, &M.w, x, 1, y);
        M.w.precise = 0;
        snprintf(what, sizeof what, "%s precise int8 vs float32 %dx%d", kn, rows, cols);
        report(K->name, what, max_rel(y, ref, rows, scale), 1e-4);
        xscratch_del(&s);
        xscratch_del(&sr);
    }
    { /* float32 rows (embeddings): the float kinds' values exactly; the others to float32 rounding */
        float *a = malloc(sizeof(float) * cols);
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            K->ops[kind].dequant(&M.w, r, a);
            P->ops[kind].dequant(&M.w, r, wrow);
            const double e = max_rel(a, wrow, cols, 1.0);
            worst = e > worst ? e : worst;
        }
        snprintf(what, sizeof what, "%s float32 rows %dx%d", kn, rows, cols);
        report(K->name, what, worst, kind == PG_F16 || kind == PG_BF16 ? 0 : 1e-6);
        free(a);
    }
    { /* bfloat16 rows: equal, or one unit apart where a fused multiply-add rounded differently */
        uint16_t *a = malloc(sizeof(uint16_t) * cols), *b = malloc(sizeof(uint16_t) * cols);
        int worst = 0;
        for (int r = 0; r < rows; r++) {
            K->ops[kind].dequant_bf16(&M.w, r, a);
            P->ops[kind].dequant_bf16(&M.w, r, b);
            for (int i = 0; i < cols; i++) {
                const int diff = abs((int)a[i] - (int)b[i]);
                worst = diff > worst ? diff : worst;
            }
        }
        snprintf(what, sizeof what, "%s bfloat16 rows %dx%d (units)", kn, rows, cols);
        report(K->name, what, worst, kind == PG_F16 || kind == PG_BF16 ? 0 : 1); /* one rounding: exact */
        free(a);
        free(b);
    }
    { /* the threaded product (the pool under this platform's threads) equals the rows one by one */
        for (int t = 1; t <= 3; t += 2) {
            for (int threads = 1; threads <= 3; threads += 2) {
                pg_set_threads(threads);
                if (pg_gemm(K, &M.w, x, t, y) != 0) {
                    report(K->name, "pg_gemm refused its arguments", 1, 0);
                    continue;
                }
                float *one = malloc(sizeof(float) * t * rows);
                pg_set_threads(1);
                pg_gemm(K, &M.w, x, t, one);
                snprintf(what, sizeof what, "%s pg_gemm %d tokens, %d threads", kn, t, threads);
                report(K->name, what, max_rel(y, one, t * rows, scale), 0);
                free(one);
            }
        }
    }
    free(x);
    free(y);
    free(ref);
    free(wrow);
    free_matrix(&M);
}

static void check_attention(const pg_kernels *K, const pg_kernels *P, int n, int hd) {
    uint16_t *Kc = malloc(sizeof(uint16_t) * n * hd), *Vc = malloc(sizeof(uint16_t) * n * hd);
    float *q = malloc(sizeof(float) * hd), *sc = malloc(sizeof(float) * n), *o = malloc(sizeof(float) * hd),
          *ref = malloc(sizeof(float) * hd);
    for (int i = 0; i < n * hd; i++) Kc[i] = f32_to_bf16(uniform() * 2), Vc[i] = f32_to_bf16(uniform());
    for (int i = 0; i < hd; i++) q[i] = uniform() * 2;
    const float scale = 1.0f / sqrtf((float)hd);
    K->attend(q, Kc, Vc, n, hd, scale, sc, o);
    P->attend(q, Kc, Vc, n, hd, scale, sc, ref);
    char what[96];
    snprintf(what, sizeof what, "attention %d keys, head size %d", n, hd);
    report(K->name, what, max_rel(o, ref, hd, 1.0), 2e-6);
    free(Kc);
    free(Vc);
    free(q);
    free(sc);
    free(o);
    free(ref);
}

/* a prompt's queries of one head (attend_prompt, where a variant has it) against the portable attend
 * run once per query */
static void check_attend_prompt(const pg_kernels *K, const pg_kernels *P, int T, int start, int window, int hd) {
    if (!K->attend_prompt) return;
    const int n = start + T;
    uint16_t *Kc = malloc(sizeof(uint16_t) * n * hd), *Vc = malloc(sizeof(uint16_t) * n * hd);
    const int ld = hd + 3; /* q and out rows apart from each other, as a (T, heads, hd) layout has them */
    float *q = malloc(sizeof(float) * T * ld), *o = malloc(sizeof(float) * T * ld), *ref = malloc(sizeof(float) * T * ld),
          *work = malloc(sizeof(float) * 2 * n);
    for (int i = 0; i < n * hd; i++) Kc[i] = f32_to_bf16(uniform() * 2), Vc[i] = f32_to_bf16(uniform());
    for (int i = 0; i < T * ld; i++) q[i] = uniform() * 2, o[i] = ref[i] = 0.f;
    const float scale = 1.0f / sqrtf((float)hd);
    K->attend_prompt(q, ld, Kc, Vc, T, start, window, hd, scale, work, o, ld);
    for (int t = 0; t < T; t++) {
        const int pos = start + t, first = window > 0 && pos + 1 > window ? pos + 1 - window : 0;
        P->attend(q + t * ld, Kc + (size_t)first * hd, Vc + (size_t)first * hd, pos + 1 - first, hd, scale, work,
                  ref + t * ld);
    }
    char what[96];
    snprintf(what, sizeof what, "prompt attention %d+%d keys, window %d, head %d", start, T, window, hd);
    report(K->name, what, max_rel(o, ref, T * ld, 1.0), 2e-6);
    free(Kc);
    free(Vc);
    free(q);
    free(o);
    free(ref);
    free(work);
}

/* the gated MLP's activation against the portable tanhf/expf form: error relative to |g·u|
 * (the sigmoid form is the more accurate where 1 + tanh cancels) */
static void check_glu(const pg_kernels *K, const pg_kernels *P, int n, int gelu) {
    float *g = malloc(sizeof(float) * n), *u = malloc(sizeof(float) * n), *o = malloc(sizeof(float) * n),
          *ref = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) {
        g[i] = uniform() * (i % 7 == 3 ? 40.0f : 6.0f); /* some far into either tail */
        u[i] = uniform() * 2;
    }
    K->glu(g, u, n, gelu, o);
    P->glu(g, u, n, gelu, ref);
    double err = 0;
    for (int i = 0; i < n; i++) {
        const double e = fabs((double)o[i] - ref[i]) / (fabs((double)g[i] * u[i]) + 1e-30);
        err = e > err ? e : err;
    }
    char what[96];
    snprintf(what, sizeof what, "%s · up, %d values", gelu ? "GELU (tanh)" : "SiLU", n);
    report(K->name, what, err, 1e-6);
    free(g);
    free(u);
    free(o);
    free(ref);
}

int main(int argc, char **argv) {
    /* the variants to check: those named on the command line, else every one this CPU runs */
    static const char *all[] = {"avx512", "avx2", "neon", "neon-nodotprod"};
    const char **names = argc > 1 ? (const char **)argv + 1 : all;
    const int count = argc > 1 ? argc - 1 : (int)(sizeof all / sizeof all[0]);
    const pg_kernels *P = pg_resolve("portable");
    int checked = 0;
    printf("best variant here: %s (int8: %s)\n", pg_resolve("native")->name, pg_resolve("native")->int8);
    for (int v = 0; v < count; v++) {
        const pg_kernels *K = pg_resolve(names[v]);
        if (!K) {
            printf("%-8s not built for this architecture, or this CPU cannot run it: skipped\n", names[v]);
            if (argc > 1) failed++; /* asked for by name: it must run */
            continue;
        }
        checked++;
        static const int shapes[][2] = {{37, 32}, {21, 64}, {19, 160}, {16, 1184}};
        static const int k_shapes[][2] = {{19, 256}, {16, 1280}}; /* super-blocks of 256 */
        for (int kind = 0; kind < PG_KINDS; kind++) {
            const int sb = pg_block_weights(kind) == 256;
            const int n = sb ? 2 : (int)(sizeof shapes / sizeof shapes[0]);
            for (int s = 0; s < n; s++)
                check_products(K, P, kind, sb ? k_shapes[s][0] : shapes[s][0], sb ? k_shapes[s][1] : shapes[s][1]);
        }
        static const int heads[][2] = {{1, 64}, {17, 64}, {40, 64}, {33, 128}, {20, 256}, {9, 48}, {5, 6}};
        for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) check_attention(K, P, heads[h][0], heads[h][1]);
        static const int prompts[][4] = {{41, 0, 0, 64}, {40, 5, 0, 128}, {9, 30, 16, 128}, {12, 3, 10, 64},
                                         {5, 3, 0, 256}, {24, 0, 0, 256}, {7, 2, 4, 48}, {3, 0, 0, 6}};
        for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++)
            check_attend_prompt(K, P, prompts[i][0], prompts[i][1], prompts[i][2], prompts[i][3]);
        static const int glu_sizes[] = {1, 7, 37, 2053};
        for (int gelu = 0; gelu < 2; gelu++)
            for (size_t i = 0; i < sizeof glu_sizes / sizeof glu_sizes[0]; i++) check_glu(K, P, glu_sizes[i], gelu);
    }
    if (!checked) printf("no SIMD variant runs here: nothing to compare with the portable kernels\n");
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
