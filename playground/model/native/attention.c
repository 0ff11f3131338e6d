/* Attention over the bfloat16 KV cache: each query a row of scores over the keys it sees, computed
 * by the variant's attend (kernels.h), one (query, head) at a time on the pool.
 *
 * pg_attention serves PyTorch's prefill path (prompts of 32+ tokens, transformer.py's Attention when
 * the fast model sets `native_attention`): the same causal, sliding-window, soft-capped attention as
 * attention.py's SDPA call, with q in float32 (PyTorch's path rounds it to bfloat16 first). Measured on
 * SmolLM2 (9 heads of 64, 512 tokens, 2 cores): PyTorch's CPU flash attention ~3.7 ms a layer. */
#include <stdlib.h>

#include "attention.h"
#include "pool.h"

/* one head's attention with soft-capped scores (Gemma 2): s → c·tanh(s/c) before the softmax */
static void attend_softcap(const float *q, const uint16_t *K, const uint16_t *V, int n, int hd, float scale,
                           float cap, float *sc, float *out) {
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) {
        const uint16_t *k = K + (size_t)s * hd;
        float dot = 0.f;
        for (int i = 0; i < hd; i++) dot += bf16_to_f32(k[i]) * q[i];
        sc[s] = cap * tanhf(dot * scale / cap);
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
        const float p = sc[s] * inv;
        for (int i = 0; i < hd; i++) out[i] += p * bf16_to_f32(v[i]);
    }
}

void pg_attend_head(const pg_kernels *K, const float *q, const uint16_t *Kc, const uint16_t *Vc, int n, int hd,
                    float scale, float softcap, float *sc, float *out) {
    if (softcap > 0.f)
        attend_softcap(q, Kc, Vc, n, hd, scale, softcap, sc, out);
    else
        K->attend(q, Kc, Vc, n, hd, scale, sc, out);
}

typedef struct {
    const pg_kernels *K;
    const float *q; /* query t, head h at q + t·q_tok + h·q_head */
    int64_t q_tok, q_head;
    const uint16_t *k, *v; /* key/value s of head g at k + g·kv_head + s·hd */
    int64_t kv_head;
    int T, nh, nkv, hd, start, window;
    float scale, softcap;
    float *out;    /* (T, nh, hd) */
    float *scores; /* start + T per thread */
} prompt_args;

/* (query, head) pairs dealt out in turn, not in blocks: under the causal mask later queries see more
 * keys, so blocks would leave the first thread idle half the time */
static void prompt_task(void *p, int ith, int nth) {
    const prompt_args *a = p;
    float *sc = a->scores + (size_t)ith * (a->start + a->T);
    const int rep = a->nh / a->nkv;
    for (int i = ith; i < a->T * a->nh; i += nth) {
        const int h = i / a->T, t = i % a->T, pos = a->start + t; /* one head's queries in a row: its K, V stay in cache */
        const int first = a->window > 0 && pos + 1 > a->window ? pos + 1 - a->window : 0;
        const size_t kv = (size_t)(h / rep) * a->kv_head + (size_t)first * a->hd;
        pg_attend_head(a->K, a->q + t * a->q_tok + h * a->q_head, a->k + kv, a->v + kv, pos + 1 - first, a->hd,
                       a->scale, a->softcap, sc, a->out + ((size_t)t * a->nh + h) * a->hd);
    }
}

/* out (T, nh, hd) float32: queries at positions start..start+T over the keys and values of positions
 * 0..start+T (each sees itself and the earlier ones, the last `window` of them where window > 0).
 * Strides in elements. 0 on success, negative for bad arguments. */
PG_EXPORT int pg_attention(const void *kernels, const float *q, int T, int nh, int hd, int64_t q_tok, int64_t q_head,
                           const uint16_t *k, const uint16_t *v, int nkv, int64_t kv_head, int start, int window,
                           float scale, float softcap, float *out) {
    const pg_kernels *K = kernels;
    if (!K || !q || !k || !v || !out || T < 1 || nh < 1 || nkv < 1 || nh % nkv || hd < 1 || start < 0 ||
        window < 0 || !(scale > 0.f) || kv_head < (int64_t)(start + T) * hd)
        return -1;
    pg_call_lock();
    float *scores = malloc(sizeof(float) * (size_t)pg_threads() * (start + T));
    if (!scores) {
        pg_call_unlock();
        return -2;
    }
    prompt_args a = {K, q, q_tok, q_head, k, v, kv_head, T, nh, nkv, hd, start, window, scale, softcap, out, scores};
    pg_run(prompt_task, &a);
    free(scores);
    pg_call_unlock();
    return 0;
}
