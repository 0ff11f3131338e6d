/* Attention over the bfloat16 KV cache: each query a row of scores over the keys it sees, computed
 * by the variant's attend (kernels.h), one (query, head) at a time.
 *
 * pg_attention serves PyTorch's prefill path (prompts of 32+ tokens, and every pass of architectures
 * the native forward pass lacks: transformer.py's Attention when the fast model gives it the kernels):
 * the same causal, sliding-window, soft-capped attention as attention.py's SDPA call, with q in float32
 * (PyTorch's path rounds it to bfloat16 first). */
#include <stdlib.h>

#include "attention.h"

void pg_attend_head(const pg_kernels *K, const float *q, const uint16_t *Kc, const uint16_t *Vc, int n, int hd,
                    float scale, float softcap, float *sc, float *out) {
    if (softcap > 0.f)
        pg_attend_scalar(q, Kc, Vc, n, hd, scale, softcap, sc, out); /* s → c·tanh(s/c) (Gemma 2) */
    else
        K->attend(q, Kc, Vc, n, hd, scale, sc, out);
}

/* out (T, nh, hd) float32: queries at positions start..start+T over the keys and values of positions
 * 0..start+T (each sees itself and the earlier ones, the last `window` of them where window > 0).
 * q[t·q_tok + h·q_head + i]; key/value s of head g at k + g·kv_head + s·hd. 0 on success, negative
 * for bad arguments.
 *
 * On the calling thread alone, not the pool: it runs between two of PyTorch's products, whose OpenMP
 * workers still spin on the other cores, so a pool worker waits for a core while the caller waits for
 * it. Measured on 2 cores (SmolLM2 Q4_K_M, the whole prompt pass, alternating in one process): 512
 * tokens, PyTorch's flash attention 303 ms, this on the pool 312, on the caller 276; 128 tokens 71,
 * 72 and 65 ms. With AVX-512's attend_prompt (queries in pairs): 512 tokens 295 → 244 ms. */
PG_EXPORT int pg_attention(const void *kernels, const float *q, int T, int nh, int hd, int64_t q_tok, int64_t q_head,
                           const uint16_t *k, const uint16_t *v, int nkv, int64_t kv_head, int start, int window,
                           float scale, float softcap, float *out) {
    const pg_kernels *K = kernels;
    if (!K || !q || !k || !v || !out || T < 1 || nh < 1 || nkv < 1 || nh % nkv || hd < 1 || start < 0 ||
        window < 0 || !(scale > 0.f) || kv_head < (int64_t)(start + T) * hd)
        return -1;
    const int prompt = K->attend_prompt && !(softcap > 0.f);
    float *sc = malloc(sizeof(float) * (size_t)(start + T) * 2);
    if (!sc) return -2;
    const int rep = nh / nkv;
    for (int h = 0; h < nh; h++) { /* one head's queries in a row: its keys and values stay in cache */
        const uint16_t *kh = k + (size_t)(h / rep) * kv_head, *vh = v + (size_t)(h / rep) * kv_head;
        if (prompt) {
            K->attend_prompt(q + h * q_head, q_tok, kh, vh, T, start, window, hd, scale, sc, out + (size_t)h * hd,
                             (int64_t)nh * hd);
            continue;
        }
        for (int t = 0; t < T; t++) {
            const int pos = start + t, first = window > 0 && pos + 1 > window ? pos + 1 - window : 0;
            pg_attend_head(K, q + t * q_tok + h * q_head, kh + (size_t)first * hd, vh + (size_t)first * hd,
                           pos + 1 - first, hd, scale, softcap, sc, out + ((size_t)t * nh + h) * hd);
        }
    }
    free(sc);
    return 0;
}
