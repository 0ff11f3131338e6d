/* The Llama-family forward pass for a few tokens at a time (decode, short prompts) over
 * GGUF-quantized weights, in one call from Python, and the matrix products Python's quantized
 * layers call. The hot loops come from a variant's table (kernels.h, dispatch.c); this file
 * only drives them, on the thread pool (pool.c).
 *
 * Activations are float32; the KV cache is the PyTorch path's bfloat16 tensor (L, 1, n_kv, S, hd),
 * so a prompt prefilled by PyTorch is decoded here and vice versa. */
#include <stdlib.h>

#include "kernels.h"
#include "pool.h"

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

static int kind_ok(int kind) { return kind >= 0 && kind < PG_KINDS; }

/* ------------------------------------------------------------------ scratch for one input row */
static int xscratch_alloc(xscratch *s, int cols) {
    int nb = cols / QK + 1;
    s->sx = malloc(sizeof(float) * nb);
    s->dx = malloc(sizeof(float) * nb);
    s->dxv = malloc(sizeof(float) * 16 * nb);
    s->xq = malloc((size_t)QK * nb + 64);
    return s->sx && s->dx && s->dxv && s->xq;
}

static void xscratch_free(xscratch *s) {
    free(s->sx);
    free(s->dx);
    free(s->dxv);
    free(s->xq);
}

/* ------------------------------------------------------------------ matrix products */
typedef struct {
    const pg_kernels *K;
    const pg_mat *w;
    const float *x;
    const xscratch *s;
    int T, int8;
    float *y; /* (T, rows) */
} gemm_args;

static void gemm_task(void *p, int ith, int nth) {
    gemm_args *a = p;
    const pg_mat *w = a->w;
    const pg_kind_ops *ops = &a->K->ops[w->kind];
    int r0, r1;
    pg_split(w->rows, ith, nth, 16, &r0, &r1);
    if (a->int8)
        for (int r = r0; r < r1; r++) ops->dot_int8(w, r, a->s, a->y + r);
    else
        for (int r = r0; r < r1; r++) ops->rows(w, r, a->x, a->T, w->cols, a->y + r, w->rows);
    if (w->bias)
        for (int t = 0; t < a->T; t++)
            for (int r = r0; r < r1; r++) a->y[(size_t)t * w->rows + r] += w->bias[r];
}

/* One token: x rounded to int8 per group where the variant has int8 kernels for this kind (as
 * llama.cpp does); several tokens: float32 tiles. */
static void gemm(const pg_kernels *K, const pg_mat *w, const float *x, int T, float *y, xscratch *s) {
    const pg_kind_ops *ops = &K->ops[w->kind];
    const int int8 = T == 1 && ops->dot_int8 != NULL;
    if (int8) ops->quantize_x(x, w->cols, s);
    gemm_args a = {K, w, x, s, T, int8, y};
    pg_run(gemm_task, &a);
}

/* y (T, rows) = x (T, cols) · wᵀ (+ bias), for Python's quantized layers. 0 on success. */
PG_EXPORT int pg_gemm(const void *kernels, const pg_mat *w, const float *x, int T, float *y) {
    const pg_kernels *K = kernels;
    if (!K || !w || !x || !y || T < 1 || w->cols % QK || !kind_ok(w->kind)) return -1;
    xscratch s;
    if (!xscratch_alloc(&s, w->cols)) {
        xscratch_free(&s);
        return -2;
    }
    pg_call_lock();
    gemm(K, w, x, T, y, &s);
    pg_call_unlock();
    xscratch_free(&s);
    return 0;
}

/* ------------------------------------------------------------------ dequantization */
/* The whole weight as bfloat16 (rows, cols), for wide products (prefill) done by a dense matmul. */
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
    if (!K || !w || !out || w->cols % QK || !kind_ok(w->kind)) return -1;
    pg_call_lock();
    deq_args a = {K, w, out};
    pg_run(deq_task, &a);
    pg_call_unlock();
    return 0;
}

/* ------------------------------------------------------------------ the model */
typedef struct {
    const pg_kernels *K;
    pg_desc d;
    pg_layer *layers;
    float *x, *h, *qkv, *att, *gu, *act, *tmp, *cs, *scores;
    xscratch xs;
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
    xscratch_free(&M->xs);
    free(M->cs);
    free(M->scores);
    free(M);
}

static int mat_ok(const pg_mat *w, int rows, int cols) {
    return w->qs && w->d && kind_ok(w->kind) && (w->kind != PG_Q4 || w->m) && w->rows == rows && w->cols == cols &&
           cols % QK == 0;
}

#define MAX_THREADS_SCORES 64 /* pool.c's MAX_THREADS: one row of scores per thread */

/* A model over the caller's weights (kept alive by the caller), run with the kernels' table given. */
PG_EXPORT void *pg_model_new(const void *kernels, const pg_desc *desc) {
    const pg_desc *D = desc;
    if (!kernels || !D || D->dim <= 0 || D->n_layers <= 0 || D->n_heads <= 0 || D->n_kv <= 0 ||
        D->n_heads % D->n_kv || D->head_dim <= 0 || D->head_dim % 2 || D->hidden <= 0 || D->vocab <= 0 ||
        D->max_tokens <= 0 || D->max_seq <= 0 || !D->inv_freq || !D->out_norm || !D->layers)
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
    M->K = kernels;
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
    const int hd = D->head_dim, nh = D->n_heads, rep = D->n_heads / D->n_kv;
    const int nqkv = (D->n_heads + 2 * D->n_kv) * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t layer_off = (size_t)a->layer * D->n_kv * a->max_len * hd;
    float *sc = M->scores + (size_t)ith * D->max_seq;
    int i0, i1;
    pg_split(nh * a->T, ith, nth, 1, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        const int t = i / nh, h = i % nh, kvh = h / rep, pos = a->start + t;
        const float *q = M->qkv + (size_t)t * nqkv + (size_t)h * hd;
        const uint16_t *K = a->kc + layer_off + (size_t)kvh * a->max_len * hd;
        const uint16_t *V = a->vc + layer_off + (size_t)kvh * a->max_len * hd;
        M->K->attend(q, K, V, pos + 1, hd, scale, sc, M->att + (size_t)t * nh * hd + (size_t)h * hd);
    }
}

typedef struct {
    float *gu, *act;
    int T, hidden;
} swiglu_args;

static void swiglu_task(void *p, int ith, int nth) {
    swiglu_args *a = p;
    int n = a->T * a->hidden, i0, i1;
    pg_split(n, ith, nth, 64, &i0, &i1);
    for (int i = i0; i < i1; i++) {
        int t = i / a->hidden, j = i % a->hidden;
        float g = a->gu[(size_t)t * 2 * a->hidden + j], u = a->gu[(size_t)t * 2 * a->hidden + a->hidden + j];
        a->act[i] = g / (1.0f + expf(-g)) * u;
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
    const int dim = D->dim, hd = D->head_dim, half = hd / 2, nh = D->n_heads, nkv = D->n_kv;
    const int nqkv = (nh + 2 * nkv) * hd;
    pg_call_lock();
    for (int t = 0; t < T; t++) {
        K->ops[D->embed.kind].dequant(&D->embed, tok[t], M->x + (size_t)t * dim);
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
        gemm(K, &L->qkv, M->h, T, M->qkv, &M->xs);
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
        pg_run(attn_task, &aa);
        gemm(K, &L->wo, M->att, T, M->tmp, &M->xs);
        for (size_t i = 0; i < (size_t)T * dim; i++) M->x[i] += M->tmp[i];
        for (int t = 0; t < T; t++) rmsnorm(M->x + (size_t)t * dim, L->ffn_norm, M->h + (size_t)t * dim, dim, D->eps);
        gemm(K, &L->gate_up, M->h, T, M->gu, &M->xs);
        swiglu_args sa = {M->gu, M->act, T, D->hidden};
        pg_run(swiglu_task, &sa);
        gemm(K, &L->down, M->act, T, M->tmp, &M->xs);
        for (size_t i = 0; i < (size_t)T * dim; i++) M->x[i] += M->tmp[i];
    }
    const int first = last_only ? T - 1 : 0, rows = T - first;
    for (int t = 0; t < rows; t++)
        rmsnorm(M->x + (size_t)(first + t) * dim, D->out_norm, M->h + (size_t)t * dim, dim, D->eps);
    gemm(K, &D->output, M->h, rows, logits, &M->xs);
    pg_call_unlock();
    return 0;
}
