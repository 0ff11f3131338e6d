/* Playground's native CPU kernels: the Llama-family forward pass for a few tokens at a time
 * (decode, short prompts) over GGUF-quantized weights, in one call from Python.
 *
 * Weights stay as the file stores them, split into arrays (structure of arrays):
 *   q4: w = d*q + m for q in 0..15, groups of 32; Q4_1 as is, Q4_0 with m = -8d (d, m float16).
 *       Byte i of a group holds element i (low nibble) and element i + 16 (high nibble), as in GGUF.
 *   q8: w = d*q for q in -128..127, groups of 32 (Q8_0; other types are requantized to it; d float16).
 * Activations are float32; the KV cache is the PyTorch path's bfloat16 tensor (L, 1, n_kv, S, hd),
 * so a prompt prefilled by PyTorch is decoded here and vice versa.
 *
 * Threads: a small pool of our own (the caller plus n-1 workers that spin briefly, then sleep),
 * so one token costs one call from Python and no interpreter work.
 *
 * Built on first use by playground/model/native/__init__.py with the machine's C compiler
 * (-O3 -march=native): AVX-512 (with VNNI) or AVX2 intrinsics where the CPU has them, portable loops
 * otherwise (or with -DPG_SCALAR, which the tests use to check the others against).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(PG_SCALAR) && defined(__AVX512F__) && defined(__F16C__)
#include <immintrin.h>
#define PG_AVX512 1
#elif !defined(PG_SCALAR) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define PG_AVX2 1
#endif

#define QK 32
#define MAX_THREADS 64
#define SPIN 4000

typedef struct {
    int32_t kind; /* 0 = q4, 1 = q8 */
    int32_t rows, cols;
    const uint16_t *d, *m; /* float16 (rows, cols/32), as GGUF stores them; m unused for q8 */
    const uint8_t *qs;  /* q4: rows*cols/2 bytes; q8: rows*cols int8 */
    const float *bias;  /* rows, or NULL */
} pg_mat;

typedef struct {
    const float *attn_norm, *ffn_norm;
    pg_mat qkv, wo, gate_up, down;
} pg_layer;

typedef struct {
    int32_t dim, n_layers, n_heads, n_kv, head_dim, hidden, vocab, max_tokens, max_seq;
    float eps, rope_scale;
    const float *inv_freq; /* head_dim/2 */
    const float *out_norm;
    pg_mat embed, output;
    const pg_layer *layers;
} pg_desc;

const char *pg_simd(void) {
#if defined(PG_AVX512)
    return "avx512";
#elif defined(PG_AVX2)
    return "avx2";
#else
    return "scalar";
#endif
}

int pg_abi(void) { return 7; }

/* ------------------------------------------------------------------ thread pool */
typedef void (*pg_task)(void *arg, int ith, int nth);

static struct {
    int n;
    pthread_t th[MAX_THREADS];
    atomic_uint gen;
    atomic_int pending;
    atomic_int sleepers;
    pg_task fn;
    void *arg;
    int quit;
    unsigned start_gen; /* the generation a new worker starts from (gen cannot move while workers start) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} P = {.n = 1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one forward pass or product at a time */

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static unsigned wait_gen(unsigned seen) {
    for (int i = 0; i < SPIN; i++) {
        unsigned g = atomic_load_explicit(&P.gen, memory_order_acquire);
        if (g != seen) return g;
        relax();
    }
    pthread_mutex_lock(&P.mu);
    atomic_fetch_add(&P.sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&P.gen)) == seen && !P.quit) pthread_cond_wait(&P.cv, &P.mu);
    atomic_fetch_sub(&P.sleepers, 1);
    pthread_mutex_unlock(&P.mu);
    return g;
}

static void *worker_main(void *p) {
    int ith = (int)(intptr_t)p;
    unsigned seen = P.start_gen; /* not P.gen: a job may already have been posted */
    for (;;) {
        seen = wait_gen(seen);
        if (P.quit) return NULL;
        P.fn(P.arg, ith, P.n);
        atomic_fetch_sub_explicit(&P.pending, 1, memory_order_release);
    }
}

static void pool_stop(void) {
    if (P.n <= 1) return;
    pthread_mutex_lock(&P.mu);
    P.quit = 1;
    atomic_fetch_add(&P.gen, 1);
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    for (int i = 1; i < P.n; i++) pthread_join(P.th[i], NULL);
    P.quit = 0;
    P.n = 1;
}

/* A child of fork() has none of the workers (and maybe a lock some other thread held): it starts
 * over single-threaded, and pg_set_threads can grow its pool again. */
static void pool_after_fork(void) {
    P.n = 1;
    P.quit = 0;
    atomic_store(&P.pending, 0);
    atomic_store(&P.sleepers, 0);
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cv, NULL);
    pthread_mutex_init(&call_mu, NULL);
}

/* Threads used by the next calls (the caller counts as one). Returns the number in effect. */
int pg_set_threads(int n) {
    static int fork_handler;
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&call_mu);
    if (!fork_handler) fork_handler = pthread_atfork(NULL, NULL, pool_after_fork) == 0;
    if (n != P.n) {
        pool_stop();
        P.start_gen = atomic_load(&P.gen);
        int started = 1;
        for (int i = 1; i < n; i++) {
            if (pthread_create(&P.th[i], NULL, worker_main, (void *)(intptr_t)i) != 0) break;
            started++;
        }
        P.n = started;
    }
    n = P.n;
    pthread_mutex_unlock(&call_mu);
    return n;
}

static void run(pg_task fn, void *arg) {
    if (P.n <= 1) {
        fn(arg, 0, 1);
        return;
    }
    P.fn = fn;
    P.arg = arg;
    atomic_store(&P.pending, P.n - 1);
    atomic_fetch_add(&P.gen, 1);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.cv);
        pthread_mutex_unlock(&P.mu);
    }
    fn(arg, 0, P.n);
    while (atomic_load_explicit(&P.pending, memory_order_acquire) > 0) relax();
}

static inline void split(int n, int ith, int nth, int align, int *a, int *b) {
    int chunks = (n + align - 1) / align;
    int per = chunks / nth, extra = chunks % nth;
    int c0 = ith * per + (ith < extra ? ith : extra);
    int c1 = c0 + per + (ith < extra ? 1 : 0);
    *a = c0 * align < n ? c0 * align : n;
    *b = c1 * align < n ? c1 * align : n;
}

/* ------------------------------------------------------------------ bfloat16 */
static inline float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}

static inline uint16_t f32_to_bf16(float f) { /* round to nearest even, as PyTorch does */
    union { float f; uint32_t u; } v = {.f = f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40); /* NaN stays NaN */
    v.u += 0x7fffu + ((v.u >> 16) & 1u);
    return (uint16_t)(v.u >> 16);
}

/* ------------------------------------------------------------------ float16 (the scales) */
static inline float h2f(uint16_t h) {
#if defined(PG_AVX512) || defined(PG_AVX2)
    return _cvtsh_ss(h);
#else
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
#endif
}

#if defined(PG_AVX512)
static inline __m128 two_h2f(const uint16_t *p) { /* p[0], p[1] as the low two floats */
    uint32_t two;
    memcpy(&two, p, sizeof two);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)two));
}
#endif

/* ------------------------------------------------------------------ products, one weight row */
/* Scratch for one input row x: per-group sums (sx), and for the int8 kernels x quantized per group
 * of 32 (xq, dx) with the scales laid out as the kernels' lanes want them (dxv). */
typedef struct {
    float *sx, *dx, *dxv;
    int8_t *xq;
} xscratch;

static int xscratch_alloc(xscratch *s, int cols) {
    int nb = cols / QK + 1;
    s->sx = malloc(sizeof(float) * nb);
    s->dx = malloc(sizeof(float) * nb);
    s->dxv = malloc(sizeof(float) * 16 * nb);
    s->xq = malloc((size_t)QK * nb + 64);
    return s->sx && s->dx && s->dxv && s->xq;
}

static void xscratch_free(xscratch *s) {
    free(s->sx); free(s->dx); free(s->dxv); free(s->xq);
}

#if defined(PG_AVX512)
static inline __m512 q4_lo(__m512i v) { return _mm512_cvtepi32_ps(_mm512_and_si512(v, _mm512_set1_epi32(15))); }
static inline __m512 q4_hi(__m512i v) { return _mm512_cvtepi32_ps(_mm512_srli_epi32(v, 4)); }
static inline __m512i q4_load(const uint8_t *q) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q)); }
static inline __m512 q8_load(const int8_t *q) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)q))); }

/* a group of 32 weights as two vectors of 16 floats */
static inline void group(const pg_mat *w, int r, int b, __m512 *w0, __m512 *w1) {
    const int nb = w->cols / QK;
    const __m512 dv = _mm512_set1_ps(h2f(w->d[(size_t)r * nb + b]));
    if (w->kind == 0) {
        __m512i v = q4_load(w->qs + (size_t)r * nb * 16 + 16 * b);
        __m512 mv = _mm512_set1_ps(h2f(w->m[(size_t)r * nb + b]));
        *w0 = _mm512_fmadd_ps(q4_lo(v), dv, mv);
        *w1 = _mm512_fmadd_ps(q4_hi(v), dv, mv);
    } else {
        const int8_t *qb = (const int8_t *)w->qs + (size_t)r * w->cols + QK * b;
        *w0 = _mm512_mul_ps(q8_load(qb), dv);
        *w1 = _mm512_mul_ps(q8_load(qb + 16), dv);
    }
}

/* NT activation rows against one weight row, NT a constant after inlining (accumulators in registers) */
static inline __attribute__((always_inline)) void tile(const pg_mat *w, int r, const float *x, int ldx, float *y,
                                                       int ldy, const int NT) {
    const int nb = w->cols / QK;
    __m512 lo[4], hi[4];
    for (int i = 0; i < NT; i++) lo[i] = hi[i] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m512 w0, w1;
        group(w, r, b, &w0, &w1);
        for (int i = 0; i < NT; i++) {
            const float *xb = x + (size_t)i * ldx + QK * b;
            lo[i] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xb), lo[i]);
            hi[i] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xb + 16), hi[i]);
        }
    }
    for (int i = 0; i < NT; i++) y[(size_t)i * ldy] = _mm512_reduce_add_ps(_mm512_add_ps(lo[i], hi[i]));
}

static void row_many(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    int t = 0;
    for (; t + 4 <= T; t += 4) tile(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 4);
    for (; t + 2 <= T; t += 2) tile(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 2);
    for (; t < T; t++) tile(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 1);
}
#elif defined(PG_AVX2)
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* a group of 32 weights as four vectors of 8 floats */
static inline void group8(const pg_mat *w, int r, int b, __m256 *v) {
    const int nb = w->cols / QK;
    const __m256 dv = _mm256_set1_ps(h2f(w->d[(size_t)r * nb + b]));
    if (w->kind == 0) {
        const __m128i m4 = _mm_set1_epi8(15);
        __m128i q = _mm_loadu_si128((const __m128i *)(w->qs + (size_t)r * nb * 16 + 16 * b));
        __m128i lo = _mm_and_si128(q, m4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), m4);
        const __m256 mv = _mm256_set1_ps(h2f(w->m[(size_t)r * nb + b]));
        v[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), dv, mv);
        v[1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), dv, mv);
        v[2] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), dv, mv);
        v[3] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), dv, mv);
    } else {
        const int8_t *qb = (const int8_t *)w->qs + (size_t)r * w->cols + QK * b;
        for (int i = 0; i < 4; i++)
            v[i] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(qb + 8 * i)))), dv);
    }
}

static inline __attribute__((always_inline)) void tile8(const pg_mat *w, int r, const float *x, int ldx, float *y,
                                                        int ldy, const int NT) {
    const int nb = w->cols / QK;
    __m256 a0[4], a1[4];
    for (int i = 0; i < NT; i++) a0[i] = a1[i] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        __m256 v[4];
        group8(w, r, b, v);
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

static void row_many(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    int t = 0;
    for (; t + 4 <= T; t += 4) tile8(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 4);
    for (; t + 2 <= T; t += 2) tile8(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 2);
    for (; t < T; t++) tile8(w, r, x + (size_t)t * ldx, ldx, y + (size_t)t * ldy, ldy, 1);
}
#else
/* portable: plain loops the compiler vectorizes for the machine it builds on (-march=native) */
static void row_many(const pg_mat *w, int r, const float *x, int T, int ldx, float *y, int ldy) {
    const int nb = w->cols / QK;
    float wb[QK];
    float acc[4];
    for (int t0 = 0; t0 < T; t0 += 4) {
        int nt = T - t0 < 4 ? T - t0 : 4;
        for (int i = 0; i < 4; i++) acc[i] = 0.f;
        for (int b = 0; b < nb; b++) {
            float d = h2f(w->d[(size_t)r * nb + b]);
            if (w->kind == 0) {
                const uint8_t *qb = w->qs + (size_t)r * nb * 16 + 16 * b;
                float m = h2f(w->m[(size_t)r * nb + b]);
                for (int i = 0; i < 16; i++) {
                    wb[i] = d * (float)(qb[i] & 15) + m;
                    wb[i + 16] = d * (float)(qb[i] >> 4) + m;
                }
            } else {
                const int8_t *qb = (const int8_t *)w->qs + (size_t)r * w->cols + QK * b;
                for (int i = 0; i < QK; i++) wb[i] = d * (float)qb[i];
            }
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
#endif

#if defined(PG_AVX512) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define PG_VNNI 1
#endif
#if defined(PG_VNNI) || defined(PG_AVX2)
#define PG_INT8 1
/* One token: x rounded to int8 per group of 32 (as llama.cpp does), weights unpacked to bytes,
 * and byte products summed by VPDPBUSD (AVX-512 VNNI: 64 weight bytes × 64 activation bytes per
 * instruction) or VPMADDUBSW + VPMADDWD (AVX2: 32 at a time). With VNNI, q4 pairs of groups are
 * loaded as 32 bytes [group b | group b+1]; their low nibbles (elements 0..15 of each) and high
 * nibbles (16..31) make 64 bytes, so x is stored in that order for each pair. */
static void quantize_x(const float *x, int cols, int kind, xscratch *s) {
    const int nb = cols / QK;
    for (int b = 0; b < nb; b++) {
        const float *xb = x + QK * b;
        int8_t *out = s->xq + QK * b;
#if defined(PG_VNNI)
        const __m512 lo = _mm512_loadu_ps(xb), hi = _mm512_loadu_ps(xb + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        s->sx[b] = _mm512_reduce_add_ps(_mm512_add_ps(lo, hi));
        const __m512 iv = _mm512_set1_ps(inv); /* round to nearest even, like lrintf below */
        __m128i qlo = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(lo, iv)));
        __m128i qhi = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(hi, iv)));
        if (kind == 0 && (b + 1 < nb || (b % 2 == 1))) { /* a q4 pair: [b lo16, b+1 lo16, b hi16, b+1 hi16] */
            int8_t *pair = s->xq + QK * (b & ~1);
            const int at = b % 2 ? 16 : 0;
            _mm_storeu_si128((__m128i *)(pair + at), qlo);
            _mm_storeu_si128((__m128i *)(pair + 32 + at), qhi);
        } else {
            _mm_storeu_si128((__m128i *)out, qlo);
            _mm_storeu_si128((__m128i *)(out + 16), qhi);
        }
#elif defined(PG_AVX2)
        (void)kind;
        const __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8), v2 = _mm256_loadu_ps(xb + 16),
                     v3 = _mm256_loadu_ps(xb + 24);
        const __m256 sign = _mm256_set1_ps(-0.0f);
        __m256 mv = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                  _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        s->sx[b] = hsum8(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)));
        const __m256 iv = _mm256_set1_ps(inv); /* round to nearest even, like lrintf below */
        const __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, iv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, iv)),
                      i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, iv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, iv));
        /* pack 32 int32 to int8; the packs work per 128-bit lane, the permutation restores the order */
        const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)out, _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
#else
        (void)kind;
        float amax = 0.f, sum = 0.f;
        for (int i = 0; i < QK; i++) {
            float a = fabsf(xb[i]);
            amax = a > amax ? a : amax;
            sum += xb[i];
        }
        const float inv = amax > 0.f ? 127.f / amax : 0.f;
        s->dx[b] = amax / 127.f;
        s->sx[b] = sum;
        for (int i = 0; i < QK; i++) {
            int q = (int)lrintf(xb[i] * inv);
            out[i] = (int8_t)(q > 127 ? 127 : (q < -127 ? -127 : q));
        }
#endif
    }
#if defined(PG_VNNI)
    for (int p = 0; p + 1 < nb; p += 2) {
        float *v = s->dxv + 8 * p;
        for (int i = 0; i < 16; i++)
            v[i] = kind == 0 ? s->dx[p + ((i / 4) % 2)] : s->dx[p + i / 8];
    }
#endif
}
#endif

#if defined(PG_VNNI)
static inline float hsum_i32x8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return (float)_mm_cvtsi128_si32(s);
}

static void row_q4_vnni(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const uint8_t *q = w->qs + (size_t)r * nb * 16;
    const uint16_t *d = w->d + (size_t)r * nb, *m = w->m + (size_t)r * nb;
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m256i m4 = _mm256_set1_epi8(15);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int b = 0;
#define Q4PAIR(acc)                                                                                        \
    do {                                                                                                   \
        __m256i v = _mm256_loadu_si256((const __m256i *)(q + 16 * b));                                     \
        __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m4)),                    \
                                        _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), 1);                  \
        __m512i pi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, _mm512_loadu_si512(s->xq + QK * b));  \
        __m512 dw = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(two_h2f(d + b))); \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pi), _mm512_mul_ps(dw, _mm512_loadu_ps(s->dxv + 8 * b)), acc); \
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
    for (; j + 16 <= nb; j += 16)
        acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(m + j))), _mm512_loadu_ps(s->sx + j), acc1);
    if (j < nb) {
        const __mmask16 k = (__mmask16)((1u << (nb - j)) - 1);
        acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, m + j)), _mm512_maskz_loadu_ps(k, s->sx + j), acc1);
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (b < nb) { /* a last, unpaired group: its 32 bytes in natural order */
        __m128i v = _mm_loadu_si128((const __m128i *)(q + 16 * b));
        const __m128i m4x = _mm_set1_epi8(15);
        __m256i wv = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4x), _mm_and_si128(v, m4x));
        __m256i pi = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv, _mm256_loadu_si256((const __m256i *)(s->xq + QK * b)));
        sum += h2f(d[b]) * s->dx[b] * hsum_i32x8(pi);
    }
    *y = sum;
}

static void row_q8_vnni(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const int8_t *q = (const int8_t *)w->qs + (size_t)r * w->cols;
    const uint16_t *d = w->d + (size_t)r * nb;
    const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int b = 0;
#define Q8PAIR(acc)                                                                                        \
    do {                                                                                                   \
        __m512i wv = _mm512_loadu_si512(q + QK * b);                                                       \
        __m512i xv = _mm512_loadu_si512(s->xq + QK * b);                                                   \
        xv = _mm512_mask_sub_epi8(xv, _mm512_movepi8_mask(wv), _mm512_setzero_si512(), xv);               \
        __m512i pi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(wv), xv);                 \
        __m512 dw = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(two_h2f(d + b))); \
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pi), _mm512_mul_ps(dw, _mm512_loadu_ps(s->dxv + 8 * b)), acc); \
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
        sum += h2f(d[b]) * s->dx[b] * hsum_i32x8(pi);
    }
    *y = sum;
}
#endif

#if defined(PG_AVX2)
static inline __m256 dot32(__m256i w_u8, __m256i x_s8) { /* 8 partial sums of 4 byte products */
#if defined(__AVXVNNI__)
    return _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), w_u8, x_s8));
#else
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(w_u8, x_s8), _mm256_set1_epi16(1)));
#endif
}

static void row_q4_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const uint8_t *q = w->qs + (size_t)r * nb * 16;
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

static void row_q8_int8(const pg_mat *w, int r, const xscratch *s, float *y) {
    const int nb = w->cols / QK;
    const int8_t *q = (const int8_t *)w->qs + (size_t)r * w->cols;
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
#elif defined(PG_VNNI)
#define row_q4_int8 row_q4_vnni
#define row_q8_int8 row_q8_vnni
#endif

const char *pg_int8(void) {
#if defined(PG_VNNI)
    return "vnni";
#elif defined(PG_AVX2) && defined(__AVXVNNI__)
    return "avx-vnni";
#elif defined(PG_AVX2)
    return "avx2";
#else
    return "none";
#endif
}

/* ------------------------------------------------------------------ matrix products */
typedef struct {
    const pg_mat *w;
    const float *x;
    const xscratch *s;
    int T;
    float *y; /* (T, rows) */
} gemm_args;

static void gemm_task(void *p, int ith, int nth) {
    gemm_args *a = p;
    const pg_mat *w = a->w;
    int r0, r1;
    split(w->rows, ith, nth, 16, &r0, &r1);
#if defined(PG_INT8)
    if (a->T == 1) {
        if (w->kind == 0)
            for (int r = r0; r < r1; r++) row_q4_int8(w, r, a->s, a->y + r);
        else
            for (int r = r0; r < r1; r++) row_q8_int8(w, r, a->s, a->y + r);
    } else
#endif
        for (int r = r0; r < r1; r++) row_many(w, r, a->x, a->T, w->cols, a->y + r, w->rows);
    if (w->bias)
        for (int t = 0; t < a->T; t++)
            for (int r = r0; r < r1; r++) a->y[(size_t)t * w->rows + r] += w->bias[r];
}

static void gemm(const pg_mat *w, const float *x, int T, float *y, xscratch *s) {
#if defined(PG_INT8)
    if (T == 1) quantize_x(x, w->cols, w->kind, s);
#endif
    gemm_args a = {w, x, s, T, y};
    run(gemm_task, &a);
}

/* y (T, rows) = x (T, cols) · wᵀ (+ bias), for Python's quantized layers. 0 on success. */
int pg_gemm(const pg_mat *w, const float *x, int T, float *y) {
    if (!w || !x || !y || T < 1 || w->cols % QK || (w->kind != 0 && w->kind != 1)) return -1;
    xscratch s;
    if (!xscratch_alloc(&s, w->cols)) {
        xscratch_free(&s);
        return -2;
    }
    pthread_mutex_lock(&call_mu);
    gemm(w, x, T, y, &s);
    pthread_mutex_unlock(&call_mu);
    xscratch_free(&s);
    return 0;
}

/* ------------------------------------------------------------------ dequantization */
/* The whole weight as bfloat16 (rows, cols), for wide products (prefill) done by a dense matmul. */
typedef struct {
    const pg_mat *w;
    uint16_t *out;
} deq_args;

static void deq_task(void *p, int ith, int nth) {
    deq_args *a = p;
    const pg_mat *w = a->w;
    const int nb = w->cols / QK;
    int r0, r1;
    split(w->rows, ith, nth, 16, &r0, &r1);
    for (int r = r0; r < r1; r++) {
        uint16_t *o = a->out + (size_t)r * w->cols;
#if defined(PG_AVX512)
        const __m512i round = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1);
        for (int b = 0; b < nb; b++) {
            __m512 v[2];
            group(w, r, b, &v[0], &v[1]);
            for (int h = 0; h < 2; h++) { /* round to nearest even, as PyTorch converts */
                __m512i u = _mm512_castps_si512(v[h]);
                u = _mm512_add_epi32(u, _mm512_add_epi32(round, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
                _mm256_storeu_si256((__m256i *)(o + QK * b + 16 * h), _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16)));
            }
        }
#else
        for (int b = 0; b < nb; b++) {
            float d = h2f(w->d[(size_t)r * nb + b]);
            for (int i = 0; i < QK; i++) {
                float x;
                if (w->kind == 0) {
                    uint8_t byte = w->qs[(size_t)r * nb * 16 + 16 * b + (i & 15)];
                    x = d * (float)(i < 16 ? (byte & 15) : (byte >> 4)) + h2f(w->m[(size_t)r * nb + b]);
                } else {
                    x = d * (float)((const int8_t *)w->qs)[(size_t)r * w->cols + QK * b + i];
                }
                o[QK * b + i] = f32_to_bf16(x);
            }
        }
#endif
    }
}

int pg_dequant_bf16(const pg_mat *w, uint16_t *out) {
    if (!w || !out || w->cols % QK || (w->kind != 0 && w->kind != 1)) return -1;
    pthread_mutex_lock(&call_mu);
    deq_args a = {w, out};
    run(deq_task, &a);
    pthread_mutex_unlock(&call_mu);
    return 0;
}

/* ------------------------------------------------------------------ the model */
typedef struct {
    pg_desc d;
    pg_layer *layers;
    float *x, *h, *qkv, *att, *gu, *act, *tmp, *cs, *scores;
    xscratch xs;
} pg_model;

void pg_model_free(void *p) {
    pg_model *M = p;
    if (!M) return;
    free(M->layers);
    free(M->x); free(M->h); free(M->qkv); free(M->att); free(M->gu); free(M->act); free(M->tmp);
    xscratch_free(&M->xs);
    free(M->cs); free(M->scores);
    free(M);
}

static int mat_ok(const pg_mat *w, int rows, int cols) {
    return w->qs && w->d && (w->kind == 1 || (w->kind == 0 && w->m)) && w->rows == rows && w->cols == cols &&
           cols % QK == 0;
}

void *pg_model_new(const pg_desc *desc) {
    const pg_desc *D = desc;
    if (!D || D->dim <= 0 || D->n_layers <= 0 || D->n_heads <= 0 || D->n_kv <= 0 || D->n_heads % D->n_kv ||
        D->head_dim <= 0 || D->head_dim % 2 || D->hidden <= 0 || D->vocab <= 0 || D->max_tokens <= 0 ||
        D->max_seq <= 0 || !D->inv_freq || !D->out_norm || !D->layers)
        return NULL;
    const int nqkv = (D->n_heads + 2 * D->n_kv) * D->head_dim;
    if (!mat_ok(&D->embed, D->vocab, D->dim) || !mat_ok(&D->output, D->vocab, D->dim)) return NULL;
    for (int l = 0; l < D->n_layers; l++) {
        const pg_layer *L = &D->layers[l];
        if (!L->attn_norm || !L->ffn_norm || !mat_ok(&L->qkv, nqkv, D->dim) ||
            !mat_ok(&L->wo, D->dim, D->n_heads * D->head_dim) || !mat_ok(&L->gate_up, 2 * D->hidden, D->dim) ||
            !mat_ok(&L->down, D->dim, D->hidden))
            return NULL;
    }
    pg_model *M = calloc(1, sizeof *M);
    if (!M) return NULL;
    M->d = *D;
    M->layers = malloc(sizeof(pg_layer) * D->n_layers);
    const size_t T = D->max_tokens;
    int widest = D->dim > D->hidden ? D->dim : D->hidden;
    if (D->n_heads * D->head_dim > widest) widest = D->n_heads * D->head_dim;
    M->x = malloc(sizeof(float) * T * D->dim);
    M->h = malloc(sizeof(float) * T * widest);
    M->qkv = malloc(sizeof(float) * T * nqkv);
    M->att = malloc(sizeof(float) * T * D->n_heads * D->head_dim);
    M->gu = malloc(sizeof(float) * T * 2 * D->hidden);
    M->act = malloc(sizeof(float) * T * D->hidden);
    M->tmp = malloc(sizeof(float) * T * widest);
    int xs_ok = xscratch_alloc(&M->xs, widest);
    M->cs = malloc(sizeof(float) * T * D->head_dim);
    M->scores = malloc(sizeof(float) * (size_t)MAX_THREADS * D->max_seq);
    if (!M->layers || !M->x || !M->h || !M->qkv || !M->att || !M->gu || !M->act || !M->tmp || !xs_ok || !M->cs ||
        !M->scores) {
        pg_model_free(M);
        return NULL;
    }
    memcpy(M->layers, D->layers, sizeof(pg_layer) * D->n_layers);
    M->d.layers = M->layers;
    return M;
}

static void rmsnorm(const float *x, const float *w, float *y, int n, float eps) {
    float ss = 0.f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    float s = 1.0f / sqrtf(ss / (float)n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * s * w[i];
}

typedef struct {
    pg_model *M;
    int T, start, layer, max_len;
    const uint16_t *kc, *vc;
} attn_args;

#if defined(PG_AVX512)
static inline __m512 bf16x16(const uint16_t *p) { /* 16 bfloat16 values widened to float32 */
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}
#endif

static inline float dot_bf16(const uint16_t *k, const float *q, int n) {
#if defined(PG_AVX512)
    if (n % 16 == 0) {
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) {
            acc = _mm512_fmadd_ps(bf16x16(k + i), _mm512_loadu_ps(q + i), acc);
        }
        return _mm512_reduce_add_ps(acc);
    }
#elif defined(PG_AVX2)
    if (n % 8 == 0) {
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < n; i += 8) {
            __m256i kv = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(k + i))), 16);
            acc = _mm256_fmadd_ps(_mm256_castsi256_ps(kv), _mm256_loadu_ps(q + i), acc);
        }
        return hsum8(acc);
    }
#endif
    float s = 0.f;
    for (int i = 0; i < n; i++) s += bf16_to_f32(k[i]) * q[i];
    return s;
}

static inline void axpy_bf16(float a, const uint16_t *v, float *y, int n) {
#if defined(PG_AVX512)
    if (n % 16 == 0) {
        __m512 av = _mm512_set1_ps(a);
        for (int i = 0; i < n; i += 16) {
            _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, bf16x16(v + i), _mm512_loadu_ps(y + i)));
        }
        return;
    }
#elif defined(PG_AVX2)
    if (n % 8 == 0) {
        __m256 av = _mm256_set1_ps(a);
        for (int i = 0; i < n; i += 8) {
            __m256i vv = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(v + i))), 16);
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_castsi256_ps(vv), _mm256_loadu_ps(y + i)));
        }
        return;
    }
#endif
    for (int i = 0; i < n; i++) y[i] += a * bf16_to_f32(v[i]);
}

#if defined(PG_AVX512)
/* r[k] = sum of v[k]'s 16 lanes, for 16 vectors at once: ~3 operations a vector instead of ~8 */
static inline __m512 sum16x16(const __m512 *v) {
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
static inline __m512 exp_neg512(__m512 x) {
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

/* One head of size 64 over keys 0..n-1: scores and their exponentials 16 keys at a time, the
 * output in registers (at 1,800 tokens of context: 4.4 → ~3 ms of a token's attention). */
static void attn_head64(const float *q, const uint16_t *K, const uint16_t *V, int n, float scale, float *sc,
                        float *out) {
    const __m512 q0 = _mm512_loadu_ps(q), q1 = _mm512_loadu_ps(q + 16), q2 = _mm512_loadu_ps(q + 32),
                 q3 = _mm512_loadu_ps(q + 48);
    __m512 mxv = _mm512_set1_ps(-INFINITY);
    int s = 0;
    for (; s + 16 <= n; s += 16) {
        __m512 acc[16];
        for (int k = 0; k < 16; k++) {
            const uint16_t *kr = K + (size_t)(s + k) * 64;
            __m512 a = _mm512_mul_ps(bf16x16(kr), q0);
            a = _mm512_fmadd_ps(bf16x16(kr + 16), q1, a);
            a = _mm512_fmadd_ps(bf16x16(kr + 32), q2, a);
            acc[k] = _mm512_fmadd_ps(bf16x16(kr + 48), q3, a);
        }
        const __m512 d = _mm512_mul_ps(sum16x16(acc), _mm512_set1_ps(scale));
        _mm512_storeu_ps(sc + s, d);
        mxv = _mm512_max_ps(mxv, d);
    }
    float mx = _mm512_reduce_max_ps(mxv);
    for (; s < n; s++) {
        const uint16_t *kr = K + (size_t)s * 64;
        __m512 a = _mm512_mul_ps(bf16x16(kr), q0);
        a = _mm512_fmadd_ps(bf16x16(kr + 16), q1, a);
        a = _mm512_fmadd_ps(bf16x16(kr + 32), q2, a);
        a = _mm512_fmadd_ps(bf16x16(kr + 48), q3, a);
        sc[s] = _mm512_reduce_add_ps(a) * scale;
        mx = sc[s] > mx ? sc[s] : mx;
    }
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
    __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
    for (s = 0; s < n; s++) {
        const uint16_t *vr = V + (size_t)s * 64;
        const __m512 p = _mm512_set1_ps(sc[s]);
        o0 = _mm512_fmadd_ps(p, bf16x16(vr), o0);
        o1 = _mm512_fmadd_ps(p, bf16x16(vr + 16), o1);
        o2 = _mm512_fmadd_ps(p, bf16x16(vr + 32), o2);
        o3 = _mm512_fmadd_ps(p, bf16x16(vr + 48), o3);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    _mm512_storeu_ps(out, _mm512_mul_ps(o0, inv));
    _mm512_storeu_ps(out + 16, _mm512_mul_ps(o1, inv));
    _mm512_storeu_ps(out + 32, _mm512_mul_ps(o2, inv));
    _mm512_storeu_ps(out + 48, _mm512_mul_ps(o3, inv));
}
#endif

static void attn_task(void *p, int ith, int nth) {
    attn_args *a = p;
    pg_model *M = a->M;
    const pg_desc *D = &M->d;
    const int hd = D->head_dim, nh = D->n_heads, rep = D->n_heads / D->n_kv;
    const int nqkv = (D->n_heads + 2 * D->n_kv) * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t layer_off = (size_t)a->layer * D->n_kv * a->max_len * hd;
    float *sc = M->scores + (size_t)ith * D->max_seq;
    int i0, i1;
    split(nh * a->T, ith, nth, 1, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        const int t = i / nh, h = i % nh, kvh = h / rep, pos = a->start + t;
        const float *q = M->qkv + (size_t)t * nqkv + (size_t)h * hd;
        const uint16_t *K = a->kc + layer_off + (size_t)kvh * a->max_len * hd;
        const uint16_t *V = a->vc + layer_off + (size_t)kvh * a->max_len * hd;
#if defined(PG_AVX512)
        if (hd == 64) {
            attn_head64(q, K, V, pos + 1, scale, sc, M->att + (size_t)t * nh * hd + (size_t)h * hd);
            continue;
        }
#endif
        float mx = -INFINITY;
        for (int s = 0; s <= pos; s++) {
            sc[s] = dot_bf16(K + (size_t)s * hd, q, hd) * scale;
            if (sc[s] > mx) mx = sc[s];
        }
        float sum = 0.f;
        for (int s = 0; s <= pos; s++) {
            sc[s] = expf(sc[s] - mx);
            sum += sc[s];
        }
        float *out = M->att + (size_t)t * nh * hd + (size_t)h * hd;
        memset(out, 0, sizeof(float) * hd);
        const float inv = 1.0f / sum;
        for (int s = 0; s <= pos; s++) axpy_bf16(sc[s] * inv, V + (size_t)s * hd, out, hd);
    }
}

typedef struct {
    float *gu, *act;
    int T, hidden;
} swiglu_args;

static void swiglu_task(void *p, int ith, int nth) {
    swiglu_args *a = p;
    int n = a->T * a->hidden, i0, i1;
    split(n, ith, nth, 64, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        int t = i / a->hidden, j = i % a->hidden;
        float g = a->gu[(size_t)t * 2 * a->hidden + j], u = a->gu[(size_t)t * 2 * a->hidden + a->hidden + j];
        a->act[i] = g / (1.0f + expf(-g)) * u;
    }
}

static void embed_row(const pg_mat *E, int tok, float *x) {
    const int nb = E->cols / QK;
    for (int b = 0; b < nb; b++) {
        float d = h2f(E->d[(size_t)tok * nb + b]);
        if (E->kind == 0) {
            const uint8_t *q = E->qs + (size_t)tok * nb * 16 + 16 * b;
            float m = h2f(E->m[(size_t)tok * nb + b]);
            for (int i = 0; i < 16; i++) {
                x[QK * b + i] = d * (float)(q[i] & 15) + m;
                x[QK * b + 16 + i] = d * (float)(q[i] >> 4) + m;
            }
        } else {
            const int8_t *q = (const int8_t *)E->qs + (size_t)tok * E->cols + QK * b;
            for (int i = 0; i < QK; i++) x[QK * b + i] = d * (float)q[i];
        }
    }
}

/* Logits for tokens tok[0..T) at positions start..start+T, reading and extending the bfloat16
 * KV cache kc/vc (n_layers, 1, n_kv, max_len, head_dim). logits: (T or 1 with last_only, vocab).
 * 0 on success, negative for bad arguments (nothing is written then). */
int pg_forward(void *model, const int32_t *tok, int T, int start, uint16_t *kc, uint16_t *vc, int max_len,
               float *logits, int last_only) {
    pg_model *M = model;
    if (!M || !tok || !kc || !vc || !logits || T < 1 || T > M->d.max_tokens || start < 0 || max_len < 1 ||
        start + T > max_len || start + T > M->d.max_seq)
        return -1;
    const pg_desc *D = &M->d;
    for (int t = 0; t < T; t++)
        if (tok[t] < 0 || tok[t] >= D->vocab) return -2;
    const int dim = D->dim, hd = D->head_dim, half = hd / 2, nh = D->n_heads, nkv = D->n_kv;
    const int nqkv = (nh + 2 * nkv) * hd;
    pthread_mutex_lock(&call_mu);
    for (int t = 0; t < T; t++) {
        embed_row(&D->embed, tok[t], M->x + (size_t)t * dim);
        const float pos = (float)(start + t);
        for (int i = 0; i < half; i++) {
            float f = pos * D->inv_freq[i];
            M->cs[(size_t)t * hd + i] = cosf(f) * D->rope_scale;
            M->cs[(size_t)t * hd + half + i] = sinf(f) * D->rope_scale;
        }
    }
    for (int l = 0; l < D->n_layers; l++) {
        const pg_layer *L = &M->layers[l];
        for (int t = 0; t < T; t++) rmsnorm(M->x + (size_t)t * dim, L->attn_norm, M->h + (size_t)t * dim, dim, D->eps);
        gemm(&L->qkv, M->h, T, M->qkv, &M->xs);
        const size_t layer_off = (size_t)l * nkv * max_len * hd;
        for (int t = 0; t < T; t++) {
            float *row = M->qkv + (size_t)t * nqkv;
            const float *c = M->cs + (size_t)t * hd, *s = c + half;
            for (int h = 0; h < nh + nkv; h++) { /* RoPE in halves on q and k */
                float *v = row + (size_t)h * hd;
                for (int i = 0; i < half; i++) {
                    float a = v[i], b = v[i + half];
                    v[i] = a * c[i] - b * s[i];
                    v[i + half] = b * c[i] + a * s[i];
                }
            }
            const int pos = start + t;
            for (int h = 0; h < nkv; h++) {
                uint16_t *kd = kc + layer_off + ((size_t)h * max_len + pos) * hd;
                uint16_t *vd = vc + layer_off + ((size_t)h * max_len + pos) * hd;
                const float *ks = row + (size_t)(nh + h) * hd, *vs = row + (size_t)(nh + nkv + h) * hd;
                for (int i = 0; i < hd; i++) {
                    kd[i] = f32_to_bf16(ks[i]);
                    vd[i] = f32_to_bf16(vs[i]);
                }
            }
        }
        attn_args aa = {M, T, start, l, max_len, kc, vc};
        run(attn_task, &aa);
        gemm(&L->wo, M->att, T, M->tmp, &M->xs);
        for (size_t i = 0; i < (size_t)T * dim; i++) M->x[i] += M->tmp[i];
        for (int t = 0; t < T; t++) rmsnorm(M->x + (size_t)t * dim, L->ffn_norm, M->h + (size_t)t * dim, dim, D->eps);
        gemm(&L->gate_up, M->h, T, M->gu, &M->xs);
        swiglu_args sa = {M->gu, M->act, T, D->hidden};
        run(swiglu_task, &sa);
        gemm(&L->down, M->act, T, M->tmp, &M->xs);
        for (size_t i = 0; i < (size_t)T * dim; i++) M->x[i] += M->tmp[i];
    }
    const int first = last_only ? T - 1 : 0, rows = T - first;
    for (int t = 0; t < rows; t++)
        rmsnorm(M->x + (size_t)(first + t) * dim, D->out_norm, M->h + (size_t)t * dim, dim, D->eps);
    gemm(&D->output, M->h, rows, logits, &M->xs);
    pthread_mutex_unlock(&call_mu);
    return 0;
}
