/* Attention over the bfloat16 KV cache (attention.c): one head's step, shared by engine.c's forward
 * pass and pg_attention (a prompt's attention for PyTorch's prefill path). */
#ifndef PG_ATTENTION_H
#define PG_ATTENTION_H

#include "kernels.h"

/* query q over keys/values 0..n-1 (rows of hd): softmax(q·K·scale)·V, the scores soft-capped
 * (s → c·tanh(s/c), Gemma 2) where softcap > 0; sc: scratch for n scores */
void pg_attend_head(const pg_kernels *K, const float *q, const uint16_t *Kc, const uint16_t *Vc, int n, int hd,
                    float scale, float softcap, float *sc, float *out);

/* the same in plain C, one key at a time: the portable variant's attend (softcap 0) and every
 * variant's soft-capped head */
PG_INLINE void pg_attend_scalar(const float *q, const uint16_t *K, const uint16_t *V, int n, int hd, float scale,
                                float softcap, float *sc, float *out) {
    float mx = -INFINITY;
    for (int s = 0; s < n; s++) {
        const uint16_t *k = K + (size_t)s * hd;
        float dot = 0.f;
        for (int i = 0; i < hd; i++) dot += bf16_to_f32(k[i]) * q[i];
        sc[s] = softcap > 0.f ? softcap * tanhf(dot * scale / softcap) : dot * scale;
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

#endif
