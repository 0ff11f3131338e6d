/* The forward pass of our llama-shaped families for a few tokens at a time (decode, short prompts)
 * over GGUF-quantized weights, in one call from Python, and the matrix products Python's quantized
 * layers call. The hot loops come from a variant's table (kernels.h, dispatch.c); this file only
 * drives them, on the thread pool (pool.c).
 *
 * The model is transformer.py's, with its switches (model/config.py): RMSNorm before attention and
 * MLP, and after them too (Gemma's sandwich); QK-norm; RoPE with each layer's own frequencies, on all
 * or part of each head, or none; a sliding window per layer; soft-capped attention scores and
 * logits; SwiGLU or GeGLU; an embedding scale.
 *
 * Activations are float32; the KV cache is the PyTorch path's bfloat16 tensor (L, 1, n_kv, S, hd),
 * so a prompt prefilled by PyTorch is decoded here and vice versa.
 *
 * One token's products round x to int8 per group of 32, as llama.cpp does. A matrix marked
 * `precise` takes x as two int8 roundings: x ≈ dx·q1 + dx2·q2, q2 the rounding of what q1 left
 * out, which cuts the rounding error ~250-fold for one more integer product per group (the
 * weights are read once either way). Python marks the products whose inputs carry the largest
 * outliers (the output layer, the MLP's down projection): on SmolLM2 Q4_1 that took the mean KL
 * against the exact model from 0.0042 (llama.cpp: 0.0040) to 0.0026. */
#include <stdlib.h>

#include "attention.h"
#include "blocks.h"
#include "pool.h"

typedef struct {
    const float *attn_norm, *ffn_norm;             /* before attention and before the MLP */
    const float *post_attn_norm, *post_ffn_norm;   /* after them (Gemma), or NULL */
    const float *q_norm, *k_norm;                  /* QK-norm over each head (head_dim weights), or NULL */
    const float *inv_freq;                         /* RoPE frequencies (rope_dims/2), NULL: no RoPE */
    int32_t rope_dims, window;                     /* coordinates RoPE turns; keys seen (0: all) */
    float rope_scale;                              /* cos and sin multiplied by this */
    int32_t n_qkv, n_gate_up;                      /* q|k|v in 1 or 3 products, gate|up in 1 or 2 */
    pg_mat qkv[3], wo, gate_up[2], down;
} pg_layer;

typedef struct {
    int32_t dim, n_layers, n_heads, n_kv, head_dim, hidden, vocab, max_tokens, max_seq;
    int32_t gelu;                                  /* the gate's activation: 0 silu, 1 tanh-GELU */
    float eps, embed_scale, attn_scale, attn_softcap, final_softcap; /* softcaps: 0 for none */
    const float *out_norm;
    pg_mat embed, output;
    const pg_layer *layers;
} pg_desc;

static int kind_ok(int kind) { return kind >= 0 && kind < PG_KINDS; }
static int raw_kind(int kind) { return kind >= PG_Q5_0 && kind < PG_KINDS; }

/* ------------------------------------------------------------------ scratch for one input row */
static int xscratch_alloc(xscratch *s, int cols) {
    int nb = cols / QK + 1;
    s->sx = malloc(sizeof(float) * nb);
    s->dx = malloc(sizeof(float) * nb);
    s->dxv = malloc(sizeof(float) * 16 * nb);
    s->xq = malloc((size_t)QK * nb + 64);
    s->sh = malloc(sizeof(float) * 2 * nb);
    return s->sx && s->dx && s->dxv && s->xq && s->sh;
}

static void xscratch_free(xscratch *s) {
    free(s->sx);
    free(s->dx);
    free(s->dxv);
    free(s->xq);
    free(s->sh);
}

/* two roundings of x (precise products) and the residual between them */
typedef struct {
    xscratch a, b;
    float *res;
} xpair;

static int xpair_alloc(xpair *p, int cols) {
    int ok = xscratch_alloc(&p->a, cols);
    ok &= xscratch_alloc(&p->b, cols);
    p->res = malloc(sizeof(float) * (cols + QK));
    return ok && p->res;
}

static void xpair_free(xpair *p) {
    xscratch_free(&p->a);
    xscratch_free(&p->b);
    free(p->res);
}

/* ------------------------------------------------------------------ matrix products */
#define MAX_PARTS 3 /* matrices that take the same input in one product: q|k|v */

typedef struct {
    const pg_kernels *K;
    const pg_mat *w; /* n parts, side by side in y */
    int n;
    const float *x;
    const xscratch *s[MAX_PARTS], *s2[MAX_PARTS]; /* each part's x as int8; s2: a precise product's second rounding */
    int int8[MAX_PARTS];
    int T, ldy;
    float *y; /* (T, ldy) */
} gemm_args;

/* rows r0..r1 of part i, whose outputs start at y */
static void part_rows(const gemm_args *a, int i, int r0, int r1, float *y) {
    const pg_mat *w = &a->w[i];
    const pg_kind_ops *ops = &a->K->ops[w->kind];
    const xscratch *s = a->s[i], *s2 = a->s2[i];
    if (a->int8[i] && s2 && ops->dot_int8_2) {
        for (int r = r0; r < r1; r++) ops->dot_int8_2(w, r, s, s2, y + r);
    } else if (a->int8[i] && s2) {
        for (int r = r0; r < r1; r++) {
            float y2;
            ops->dot_int8(w, r, s, y + r);
            ops->dot_int8(w, r, s2, &y2);
            y[r] += y2;
        }
    } else if (a->int8[i]) {
        for (int r = r0; r < r1; r++) ops->dot_int8(w, r, s, y + r);
    } else {
        for (int r = r0; r < r1; r++) ops->rows(w, r, a->x, a->T, w->cols, y + r, a->ldy);
    }
    if (w->bias)
        for (int t = 0; t < a->T; t++)
            for (int r = r0; r < r1; r++) y[(size_t)t * a->ldy + r] += w->bias[r];
}

/* each thread takes its share of all parts' rows together: one hand-off to the pool for q, k and v */
static void gemm_task(void *p, int ith, int nth) {
    gemm_args *a = p;
    int total = 0;
    for (int i = 0; i < a->n; i++) total += a->w[i].rows;
    int g0, g1;
    pg_split(total, ith, nth, 16, &g0, &g1);
    for (int i = 0, at = 0; i < a->n && at < g1; at += a->w[i].rows, i++) {
        const int r0 = g0 > at ? g0 - at : 0, r1 = g1 - at < a->w[i].rows ? g1 - at : a->w[i].rows;
        if (r0 < r1) part_rows(a, i, r0, r1, a->y + at);
    }
}

/* x minus x as rounded to int8 per group (the same rule as every quantize_x: dx = max|x|/127,
 * q = round-to-even(x/dx)): what one int8 pass leaves out */
static void int8_residual(const float *x, int cols, float *r) {
    for (int b = 0; b < cols / QK; b++) {
        const float *xb = x + QK * b;
        float amax = 0.f;
        for (int i = 0; i < QK; i++) amax = fabsf(xb[i]) > amax ? fabsf(xb[i]) : amax;
        const float inv = amax > 0.f ? 127.f / amax : 0.f, dx = amax / 127.f;
        for (int i = 0; i < QK; i++) {
            int q = (int)lrintf(xb[i] * inv);
            q = q > 127 ? 127 : (q < -127 ? -127 : q);
            r[QK * b + i] = xb[i] - dx * (float)q;
        }
    }
}

static void quantize(const pg_kind_ops *ops, int kind, const float *x, int cols, xscratch *s) {
    ops->quantize_x(x, cols, s);
    if (raw_kind(kind)) pg_half_sums(cols, s);
}

/* x rounded for one token's product with w, in s (and s->b for a precise one); returns the second
 * rounding or NULL */
static const xscratch *round_x(const pg_kernels *K, const pg_mat *w, const float *x, xpair *s) {
    const pg_kind_ops *ops = &K->ops[w->kind];
    if (w->precise && ops->quantize_x2) {
        ops->quantize_x2(x, w->cols, &s->a, &s->b);
        if (raw_kind(w->kind)) pg_half_sums(w->cols, &s->a), pg_half_sums(w->cols, &s->b);
        return &s->b;
    }
    quantize(ops, w->kind, x, w->cols, &s->a);
    if (!w->precise) return NULL;
    int8_residual(x, w->cols, s->res);
    quantize(ops, w->kind, s->res, w->cols, &s->b);
    return &s->b;
}

/* whether parts i and j take x rounded the same way (so one rounding serves both) */
static int same_rounding(const pg_kernels *K, const pg_mat *a, const pg_mat *b) {
    const pg_kind_ops *p = &K->ops[a->kind], *q = &K->ops[b->kind];
    return p->quantize_x == q->quantize_x && raw_kind(a->kind) == raw_kind(b->kind) && !a->precise == !b->precise &&
           (!a->precise || p->quantize_x2 == q->quantize_x2);
}

/* y[t*ldy + r] = x[t] · row r of the n parts side by side (+ bias): one token as int8 where the
 * variant has int8 kernels for a part's kind (twice for a precise matrix), several tokens as
 * float32 tiles. s: scratch for each part (n of them). */
static void gemm_parts(const pg_kernels *K, const pg_mat *parts, int n, const float *x, int T, float *y, int ldy,
                       xpair *s) {
    gemm_args a = {K, parts, n, x, {NULL}, {NULL}, {0}, T, ldy, y};
    for (int i = 0; i < n; i++) {
        a.int8[i] = T == 1 && K->ops[parts[i].kind].dot_int8 != NULL;
        if (!a.int8[i]) continue;
        int j = 0;
        while (j < i && !(a.int8[j] && same_rounding(K, &parts[i], &parts[j]))) j++;
        if (j < i) {
            a.s[i] = a.s[j], a.s2[i] = a.s2[j];
        } else {
            a.s2[i] = round_x(K, &parts[i], x, &s[i]);
            a.s[i] = &s[i].a;
        }
    }
    pg_run(gemm_task, &a);
}

static void gemm(const pg_kernels *K, const pg_mat *w, const float *x, int T, float *y, int ldy, xpair *s) {
    gemm_parts(K, w, 1, x, T, y, ldy, s);
}

static int mat_ok(const pg_mat *w, int rows, int cols) {
    if (!w->qs || !kind_ok(w->kind) || w->rows != rows || w->cols != cols || cols % QK) return 0;
    if (raw_kind(w->kind)) return cols % pg_block_weights(w->kind) == 0;
    return w->d && (w->kind != PG_Q4 || w->m);
}

/* y (T, rows) = x (T, cols) · wᵀ (+ bias), for Python's quantized layers. 0 on success. */
PG_EXPORT int pg_gemm(const void *kernels, const pg_mat *w, const float *x, int T, float *y) {
    const pg_kernels *K = kernels;
    if (!K || !w || !x || !y || T < 1 || !mat_ok(w, w->rows, w->cols)) return -1;
    xpair s;
    if (!xpair_alloc(&s, w->cols)) {
        xpair_free(&s);
        return -2;
    }
    pg_call_lock();
    gemm(K, w, x, T, y, w->rows, &s);
    pg_call_unlock();
    xpair_free(&s);
    return 0;
}

/* ------------------------------------------------------------------ dequantization */
/* The whole weight as bfloat16 (rows, cols), for wide products (prefill) done by a dense matmul.
 * On the calling thread alone, not the pool: the caller is between two of PyTorch's products, whose
 * OpenMP workers still spin on the other cores, so a pool worker waits for a core while the caller
 * waits for it. Measured on 2 cores (SmolLM2, a 37-token prompt's pass): on the pool 57 ms (Q4_1)
 * and 78 ms (Q4_K_M), of which 18 and 34 ms dequantizing; on the caller 37 and 48 ms. */
typedef struct {
    const pg_kernels *K;
    const pg_mat *w;
    uint16_t *out;
} deq_args;

static void deq_task(void *p, int ith, int nth) {
    deq_args *a = p;
    const pg_mat *w = a->w;
    int r0, r1;
    pg_split(w->rows, ith, nth, 16, &r0, &r1);
    for (int r = r0; r < r1; r++) a->K->ops[w->kind].dequant_bf16(w, r, a->out + (size_t)r * w->cols);
}

PG_EXPORT int pg_dequant_bf16(const void *kernels, const pg_mat *w, uint16_t *out) {
    const pg_kernels *K = kernels;
    if (!K || !w || !out || !mat_ok(w, w->rows, w->cols)) return -1;
    pg_call_lock();
    deq_args a = {K, w, out};
    deq_task(&a, 0, 1);
    pg_call_unlock();
    return 0;
}

/* rows idx[0..n) of a matrix as float32 (n, cols): an embedding lookup for Python */
PG_EXPORT int pg_dequant_rows(const void *kernels, const pg_mat *w, const int32_t *idx, int n, float *out) {
    const pg_kernels *K = kernels;
    if (!K || !w || !idx || !out || n < 0 || !mat_ok(w, w->rows, w->cols)) return -1;
    for (int i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= w->rows) return -2;
    for (int i = 0; i < n; i++) K->ops[w->kind].dequant(w, idx[i], out + (size_t)i * w->cols);
    return 0;
}

/* ------------------------------------------------------------------ the model */
typedef struct {
    const pg_kernels *K;
    pg_desc d;
    pg_layer *layers;
    float *x, *h, *qkv, *att, *gu, *act, *tmp, *cs, *scores;
    xpair xs[MAX_PARTS];
} pg_model;

PG_EXPORT void pg_model_free(void *p) {
    pg_model *M = p;
    if (!M) return;
    free(M->layers);
    free(M->x);
    free(M->h);
    free(M->qkv);
    free(M->att);
    free(M->gu);
    free(M->act);
    free(M->tmp);
    for (int i = 0; i < MAX_PARTS; i++) xpair_free(&M->xs[i]);
    free(M->cs);
    free(M->scores);
    free(M);
}

#define MAX_THREADS_SCORES 64 /* pool.c's MAX_THREADS: one row of scores per thread */

static int parts_ok(const pg_mat *parts, int n, int total, int cols) {
    if (n < 1 || n > 3) return 0;
    int rows = 0;
    for (int i = 0; i < n; i++) {
        if (!mat_ok(&parts[i], parts[i].rows, cols)) return 0;
        rows += parts[i].rows;
    }
    return rows == total;
}

/* A model over the caller's weights (kept alive by the caller), run with the kernels' table given. */
PG_EXPORT void *pg_model_new(const void *kernels, const pg_desc *desc) {
    const pg_desc *D = desc;
    if (!kernels || !D || D->dim <= 0 || D->n_layers <= 0 || D->n_heads <= 0 || D->n_kv <= 0 ||
        D->n_heads % D->n_kv || D->head_dim <= 0 || D->head_dim % 2 || D->hidden <= 0 || D->vocab <= 0 ||
        D->max_tokens <= 0 || D->max_seq <= 0 || !D->out_norm || !D->layers || !(D->attn_scale > 0.f))
        return NULL;
    const int hd = D->head_dim, nqkv = (D->n_heads + 2 * D->n_kv) * hd;
    if (!mat_ok(&D->embed, D->vocab, D->dim) || !mat_ok(&D->output, D->vocab, D->dim)) return NULL;
    for (int l = 0; l < D->n_layers; l++) {
        const pg_layer *L = &D->layers[l];
        if (!L->attn_norm || !L->ffn_norm || !parts_ok(L->qkv, L->n_qkv, nqkv, D->dim) ||
            !mat_ok(&L->wo, D->dim, D->n_heads * hd) || !parts_ok(L->gate_up, L->n_gate_up, 2 * D->hidden, D->dim) ||
            !mat_ok(&L->down, D->dim, D->hidden) || (L->inv_freq && (L->rope_dims <= 0 || L->rope_dims > hd ||
                                                                     L->rope_dims % 2)) ||
            L->window < 0 || (!L->q_norm) != (!L->k_norm))
            return NULL;
        if (L->n_gate_up == 2 && L->gate_up[0].rows != D->hidden) return NULL;
    }
    pg_model *M = calloc(1, sizeof *M);
    if (!M) return NULL;
    M->K = kernels;
    M->d = *D;
    M->layers = malloc(sizeof(pg_layer) * D->n_layers);
    const size_t T = D->max_tokens;
    int widest = D->dim > D->hidden ? D->dim : D->hidden;
    if (D->n_heads * hd > widest) widest = D->n_heads * hd;
    M->x = malloc(sizeof(float) * T * D->dim);
    M->h = malloc(sizeof(float) * T * widest);
    M->qkv = malloc(sizeof(float) * T * nqkv);
    M->att = malloc(sizeof(float) * T * D->n_heads * hd);
    M->gu = malloc(sizeof(float) * T * 2 * D->hidden);
    M->act = malloc(sizeof(float) * T * D->hidden);
    M->tmp = malloc(sizeof(float) * T * widest);
    int xs_ok = 1;
    for (int i = 0; i < MAX_PARTS; i++) xs_ok &= xpair_alloc(&M->xs[i], widest);
    M->cs = malloc(sizeof(float) * T * hd);
    M->scores = malloc(sizeof(float) * (size_t)MAX_THREADS_SCORES * D->max_seq);
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

static void attn_task(void *p, int ith, int nth) {
    attn_args *a = p;
    pg_model *M = a->M;
    const pg_desc *D = &M->d;
    const pg_layer *L = &M->layers[a->layer];
    const int hd = D->head_dim, nh = D->n_heads, rep = D->n_heads / D->n_kv;
    const int nqkv = (D->n_heads + 2 * D->n_kv) * hd;
    const size_t layer_off = (size_t)a->layer * D->n_kv * a->max_len * hd;
    float *sc = M->scores + (size_t)ith * D->max_seq;
    int i0, i1;
    pg_split(nh * a->T, ith, nth, 1, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        const int t = i / nh, h = i % nh, kvh = h / rep, pos = a->start + t;
        const int first = L->window > 0 && pos + 1 > L->window ? pos + 1 - L->window : 0; /* the window's first key */
        const float *q = M->qkv + (size_t)t * nqkv + (size_t)h * hd;
        const uint16_t *K = a->kc + layer_off + ((size_t)kvh * a->max_len + first) * hd;
        const uint16_t *V = a->vc + layer_off + ((size_t)kvh * a->max_len + first) * hd;
        float *out = M->att + (size_t)t * nh * hd + (size_t)h * hd;
        pg_attend_head(M->K, q, K, V, pos + 1 - first, hd, D->attn_scale, D->attn_softcap, sc, out);
    }
}

/* activations up to this many go on the calling thread: a few microseconds of vector work, less
 * than the pool's hand-off */
#define GLU_ALONE 8192

typedef struct {
    const pg_kernels *K;
    const float *gu; /* (T, 2·hidden): gate | up */
    float *act;      /* (T, hidden) */
    int T, hidden, gelu;
} glu_args;

static void glu_task(void *p, int ith, int nth) {
    glu_args *a = p;
    int i0, i1;
    pg_split(a->T * a->hidden, ith, nth, 64, &i0, &i1);
    while (i0 < i1) { /* one token's part at a time */
        const int t = i0 / a->hidden, j = i0 % a->hidden, n = i1 - i0 < a->hidden - j ? i1 - i0 : a->hidden - j;
        const float *g = a->gu + (size_t)t * 2 * a->hidden + j;
        a->K->glu(g, g + a->hidden, n, a->gelu, a->act + i0);
        i0 += n;
    }
}

/* cos and sin of (position · frequency) for tokens start..start+T, in M->cs as [cos | sin] per token */
static void rope_table(pg_model *M, const pg_layer *L, int start, int T) {
    const int hd = M->d.head_dim, half = L->rope_dims / 2;
    for (int t = 0; t < T; t++) {
        const float pos = (float)(start + t);
        float *c = M->cs + (size_t)t * hd;
        for (int i = 0; i < half; i++) {
            const float f = pos * L->inv_freq[i];
            c[i] = cosf(f) * L->rope_scale;
            c[half + i] = sinf(f) * L->rope_scale;
        }
    }
}

/* Logits for tokens tok[0..T) at positions start..start+T, reading and extending the bfloat16
 * KV cache kc/vc (n_layers, 1, n_kv, max_len, head_dim). logits: (T or 1 with last_only, vocab).
 * 0 on success, negative for bad arguments (nothing is written then). */
PG_EXPORT int pg_forward(void *model, const int32_t *tok, int T, int start, uint16_t *kc, uint16_t *vc, int max_len,
                         float *logits, int last_only) {
    pg_model *M = model;
    if (!M || !tok || !kc || !vc || !logits || T < 1 || T > M->d.max_tokens || start < 0 || max_len < 1 ||
        start + T > max_len || start + T > M->d.max_seq)
        return -1;
    const pg_desc *D = &M->d;
    const pg_kernels *K = M->K;
    for (int t = 0; t < T; t++)
        if (tok[t] < 0 || tok[t] >= D->vocab) return -2;
    const int dim = D->dim, hd = D->head_dim, nh = D->n_heads, nkv = D->n_kv;
    const int nqkv = (nh + 2 * nkv) * hd;
    pg_call_lock();
    for (int t = 0; t < T; t++) {
        float *x = M->x + (size_t)t * dim;
        K->ops[D->embed.kind].dequant(&D->embed, tok[t], x);
        if (D->embed_scale != 1.0f)
            for (int i = 0; i < dim; i++) x[i] *= D->embed_scale;
    }
    const float *table = NULL; /* the frequencies M->cs was computed for */
    for (int l = 0; l < D->n_layers; l++) {
        const pg_layer *L = &M->layers[l];
        for (int t = 0; t < T; t++) rmsnorm(M->x + (size_t)t * dim, L->attn_norm, M->h + (size_t)t * dim, dim, D->eps);
        gemm_parts(K, L->qkv, L->n_qkv, M->h, T, M->qkv, nqkv, M->xs);
        if (L->inv_freq && L->inv_freq != table) {
            rope_table(M, L, start, T);
            table = L->inv_freq;
        }
        const size_t layer_off = (size_t)l * nkv * max_len * hd;
        for (int t = 0; t < T; t++) {
            float *row = M->qkv + (size_t)t * nqkv;
            if (L->q_norm) /* QK-norm: each head of q and k to unit RMS, times its weights */
                for (int h = 0; h < nh + nkv; h++)
                    rmsnorm(row + (size_t)h * hd, h < nh ? L->q_norm : L->k_norm, row + (size_t)h * hd, hd, D->eps);
            if (L->inv_freq) { /* RoPE in halves on q and k, over the first rope_dims coordinates */
                const int half = L->rope_dims / 2;
                const float *c = M->cs + (size_t)t * hd, *s = c + half;
                for (int h = 0; h < nh + nkv; h++) {
                    float *v = row + (size_t)h * hd;
                    for (int i = 0; i < half; i++) {
                        float a = v[i], b = v[i + half];
                        v[i] = a * c[i] - b * s[i];
                        v[i + half] = b * c[i] + a * s[i];
                    }
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
        pg_run(attn_task, &aa);
        gemm(K, &L->wo, M->att, T, M->tmp, dim, M->xs);
        for (int t = 0; t < T; t++) {
            float *o = M->tmp + (size_t)t * dim, *x = M->x + (size_t)t * dim;
            if (L->post_attn_norm) rmsnorm(o, L->post_attn_norm, o, dim, D->eps);
            for (int i = 0; i < dim; i++) x[i] += o[i];
        }
        for (int t = 0; t < T; t++) rmsnorm(M->x + (size_t)t * dim, L->ffn_norm, M->h + (size_t)t * dim, dim, D->eps);
        gemm_parts(K, L->gate_up, L->n_gate_up, M->h, T, M->gu, 2 * D->hidden, M->xs);
        glu_args ga = {K, M->gu, M->act, T, D->hidden, D->gelu};
        if (T * D->hidden <= GLU_ALONE)
            glu_task(&ga, 0, 1);
        else
            pg_run(glu_task, &ga);
        gemm(K, &L->down, M->act, T, M->tmp, dim, M->xs);
        for (int t = 0; t < T; t++) {
            float *o = M->tmp + (size_t)t * dim, *x = M->x + (size_t)t * dim;
            if (L->post_ffn_norm) rmsnorm(o, L->post_ffn_norm, o, dim, D->eps);
            for (int i = 0; i < dim; i++) x[i] += o[i];
        }
    }
    const int first = last_only ? T - 1 : 0, rows = T - first;
    for (int t = 0; t < rows; t++)
        rmsnorm(M->x + (size_t)(first + t) * dim, D->out_norm, M->h + (size_t)t * dim, dim, D->eps);
    gemm(K, &D->output, M->h, rows, logits, D->vocab, M->xs);
    if (D->final_softcap > 0.f)
        for (size_t i = 0; i < (size_t)rows * D->vocab; i++)
            logits[i] = D->final_softcap * tanhf(logits[i] / D->final_softcap);
    pg_call_unlock();
    return 0;
}
