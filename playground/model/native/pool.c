/* The kernels' thread pool: the caller plus n-1 workers that spin briefly after each job, then
 * sleep; so one token costs one call from Python and no interpreter work. POSIX threads, or the
 * Windows ones (SRW locks and condition variables) where there are no POSIX threads. */
#include "pool.h"

#include <stdatomic.h>

#define MAX_THREADS 64
#define SPIN 4000

#if defined(_WIN32)
#include <windows.h>
typedef HANDLE pg_thread;
typedef SRWLOCK pg_mutex;
typedef CONDITION_VARIABLE pg_cond;
#define PG_MUTEX_INIT SRWLOCK_INIT
#define PG_COND_INIT CONDITION_VARIABLE_INIT
static void mutex_lock(pg_mutex *m) { AcquireSRWLockExclusive(m); }
static void mutex_unlock(pg_mutex *m) { ReleaseSRWLockExclusive(m); }
static void cond_wait(pg_cond *c, pg_mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
static void cond_broadcast(pg_cond *c) { WakeAllConditionVariable(c); }
#define THREAD_FN(name) static DWORD WINAPI name(LPVOID p)
#define THREAD_RETURN return 0
static int thread_start(pg_thread *t, LPTHREAD_START_ROUTINE fn, void *arg) {
    *t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    return *t ? 0 : -1;
}
static void thread_join(pg_thread t) {
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
#else
#include <pthread.h>
typedef pthread_t pg_thread;
typedef pthread_mutex_t pg_mutex;
typedef pthread_cond_t pg_cond;
#define PG_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#define PG_COND_INIT PTHREAD_COND_INITIALIZER
static void mutex_lock(pg_mutex *m) { pthread_mutex_lock(m); }
static void mutex_unlock(pg_mutex *m) { pthread_mutex_unlock(m); }
static void cond_wait(pg_cond *c, pg_mutex *m) { pthread_cond_wait(c, m); }
static void cond_broadcast(pg_cond *c) { pthread_cond_broadcast(c); }
#define THREAD_FN(name) static void *name(void *p)
#define THREAD_RETURN return NULL
static int thread_start(pg_thread *t, void *(*fn)(void *), void *arg) { return pthread_create(t, NULL, fn, arg); }
static void thread_join(pg_thread t) { pthread_join(t, NULL); }
#endif

static struct {
    int n;
    pg_thread th[MAX_THREADS];
    atomic_uint gen;
    atomic_int pending;
    atomic_int sleepers;
    pg_task fn;
    void *arg;
    int quit;
    unsigned start_gen; /* the generation a new worker starts from (gen cannot move while workers start) */
    pg_mutex mu;
    pg_cond cv;
} P = {.n = 1, .mu = PG_MUTEX_INIT, .cv = PG_COND_INIT};

static pg_mutex call_mu = PG_MUTEX_INIT; /* one forward pass or product at a time */

void pg_call_lock(void) { mutex_lock(&call_mu); }
void pg_call_unlock(void) { mutex_unlock(&call_mu); }

static inline void relax(void) {
#if defined(_MSC_VER) && !defined(__clang__) && defined(PG_X86)
    _mm_pause();
#elif defined(_MSC_VER) && !defined(__clang__) && defined(PG_ARM)
    __yield();
#elif defined(PG_X86)
    __asm__ __volatile__("pause");
#elif defined(PG_ARM)
    __asm__ __volatile__("yield");
#endif
}

static unsigned wait_gen(unsigned seen) {
    for (int i = 0; i < SPIN; i++) {
        unsigned g = atomic_load_explicit(&P.gen, memory_order_acquire);
        if (g != seen) return g;
        relax();
    }
    mutex_lock(&P.mu);
    atomic_fetch_add(&P.sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&P.gen)) == seen && !P.quit) cond_wait(&P.cv, &P.mu);
    atomic_fetch_sub(&P.sleepers, 1);
    mutex_unlock(&P.mu);
    return g;
}

THREAD_FN(worker_main) {
    int ith = (int)(intptr_t)p;
    unsigned seen = P.start_gen; /* not P.gen: a job may already have been posted */
    for (;;) {
        seen = wait_gen(seen);
        if (P.quit) THREAD_RETURN;
        P.fn(P.arg, ith, P.n);
        atomic_fetch_sub_explicit(&P.pending, 1, memory_order_release);
    }
}

static void pool_stop(void) {
    if (P.n <= 1) return;
    mutex_lock(&P.mu);
    P.quit = 1;
    atomic_fetch_add(&P.gen, 1);
    cond_broadcast(&P.cv);
    mutex_unlock(&P.mu);
    for (int i = 1; i < P.n; i++) thread_join(P.th[i]);
    P.quit = 0;
    P.n = 1;
}

#if !defined(_WIN32)
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
#endif

/* Threads used by the next calls (the caller counts as one). Returns the number in effect. */
PG_EXPORT int pg_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    mutex_lock(&call_mu);
#if !defined(_WIN32)
    static int fork_handler;
    if (!fork_handler) fork_handler = pthread_atfork(NULL, NULL, pool_after_fork) == 0;
#endif
    if (n != P.n) {
        pool_stop();
        P.start_gen = atomic_load(&P.gen);
        int started = 1;
        for (int i = 1; i < n; i++) {
            if (thread_start(&P.th[i], worker_main, (void *)(intptr_t)i) != 0) break;
            started++;
        }
        P.n = started;
    }
    n = P.n;
    mutex_unlock(&call_mu);
    return n;
}

int pg_threads(void) { return P.n; }

void pg_run(pg_task fn, void *arg) {
    if (P.n <= 1) {
        fn(arg, 0, 1);
        return;
    }
    P.fn = fn;
    P.arg = arg;
    atomic_store(&P.pending, P.n - 1);
    atomic_fetch_add(&P.gen, 1);
    if (atomic_load(&P.sleepers) > 0) {
        mutex_lock(&P.mu);
        cond_broadcast(&P.cv);
        mutex_unlock(&P.mu);
    }
    fn(arg, 0, P.n);
    while (atomic_load_explicit(&P.pending, memory_order_acquire) > 0) relax();
}

void pg_split(int n, int ith, int nth, int align, int *a, int *b) {
    int chunks = (n + align - 1) / align;
    int per = chunks / nth, extra = chunks % nth;
    int c0 = ith * per + (ith < extra ? ith : extra);
    int c1 = c0 + per + (ith < extra ? 1 : 0);
    *a = c0 * align < n ? c0 * align : n;
    *b = c1 * align < n ? c1 * align : n;
}
