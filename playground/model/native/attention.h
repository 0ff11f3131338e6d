/* Attention over the bfloat16 KV cache (attention.c): one head's step, shared by engine.c's forward
 * pass and pg_attention (a prompt's attention for PyTorch's prefill path). */
#ifndef PG_ATTENTION_H
#define PG_ATTENTION_H

#include "kernels.h"

/* query q over keys/values 0..n-1 (rows of hd): softmax(q·K·scale)·V, the scores soft-capped
 * (s → c·tanh(s/c), Gemma 2) where softcap > 0; sc: scratch for n scores */
void pg_attend_head(const pg_kernels *K, const float *q, const uint16_t *Kc, const uint16_t *Vc, int n, int hd,
                    float scale, float softcap, float *sc, float *out);

#endif
