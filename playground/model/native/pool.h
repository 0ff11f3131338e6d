/* The kernels' thread pool (pool.c). */
#ifndef PG_POOL_H
#define PG_POOL_H

#include "kernels.h"

#if defined(_MSC_VER) && !defined(__clang__) && defined(PG_X86)
#include <immintrin.h> /* _mm_pause */
#endif

typedef void (*pg_task)(void *arg, int ith, int nth);

PG_EXPORT int pg_set_threads(int n);
int pg_threads(void);
void pg_run(pg_task fn, void *arg);                               /* fn(arg, i, n) on each of n threads */
void pg_split(int n, int ith, int nth, int align, int *a, int *b); /* thread ith's share of 0..n */
void pg_call_lock(void);                                          /* one forward pass or product at a time */
void pg_call_unlock(void);

#endif
