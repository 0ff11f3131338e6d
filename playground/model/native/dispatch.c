/* Which variant of the kernels this CPU runs: its features read at run time (cpuid and the OS's
 * saved-register mask on x86; getauxval, sysctl or IsProcessorFeaturePresent on ARM), and each
 * variant's table completed from the portable one. */
#include "kernels.h"

#if defined(PG_X86)
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void cpuid(int leaf, int sub, unsigned r[4]) {
    int v[4];
    __cpuidex(v, leaf, sub);
    for (int i = 0; i < 4; i++) r[i] = (unsigned)v[i];
}
static unsigned long long xgetbv0(void) { return _xgetbv(0); }
#else
#include <cpuid.h>
static void cpuid(int leaf, int sub, unsigned r[4]) {
    r[0] = r[1] = r[2] = r[3] = 0;
    if ((unsigned)leaf <= __get_cpuid_max(0, NULL)) __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long xgetbv0(void) {
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
static int sysctl_flag(const char *name) {
    int v = 0;
    size_t n = sizeof v;
    return sysctlbyname(name, &v, &n, NULL, 0) == 0 && v;
}
#endif

static int x86_avx2(void) {
    unsigned a[4], b[4];
    cpuid(1, 0, a);
    const int osxsave = (a[2] >> 27) & 1, avx = (a[2] >> 28) & 1, fma = (a[2] >> 12) & 1, f16c = (a[2] >> 29) & 1;
    if (!(osxsave && avx && fma && f16c)) return 0;
    if ((xgetbv0() & 0x6) != 0x6) return 0; /* the OS saves the YMM registers */
    cpuid(7, 0, b);
    return (b[1] >> 5) & 1;
}

static int x86_avx512(void) {
    if (!x86_avx2()) return 0;
    unsigned b[4];
    cpuid(7, 0, b);
    const int f = (b[1] >> 16) & 1, dq = (b[1] >> 17) & 1, bw = (b[1] >> 30) & 1, vl = (b[1] >> 31) & 1,
              vnni = (b[2] >> 11) & 1;
    if (!(f && dq && bw && vl && vnni)) return 0;
#if defined(__APPLE__) /* macOS turns the ZMM state on at first use: the mask can read 0 before */
    if (sysctl_flag("hw.optional.avx512f")) return 1;
#endif
    return (xgetbv0() & 0xe6) == 0xe6; /* and the OS saves the opmask and ZMM registers */
}
#endif

#if defined(PG_ARM)
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
static int arm_dotprod(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
#elif defined(__APPLE__)
#include <sys/sysctl.h>
static int arm_dotprod(void) {
    int v = 0;
    size_t n = sizeof v;
    if (sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &n, NULL, 0) == 0) return v != 0;
    return 1; /* every Apple Silicon CPU has it */
}
#elif defined(_WIN32)
#include <windows.h>
#ifndef PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE
#define PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE 43
#endif
static int arm_dotprod(void) { return IsProcessorFeaturePresent(PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE) != 0; }
#else
static int arm_dotprod(void) { return 0; }
#endif
#endif

/* The variants of this architecture, best first: {name, table, whether the CPU runs it}.
 * "neon" is one name for both NEON tables: the dot-product one where the CPU has the instructions. */
typedef struct {
    const char *name;
    const pg_kernels *table;
    int (*runs)(void);
} variant;

static int always(void) { return 1; }
#if defined(PG_ARM)
static int arm_no_dotprod(void) { return !arm_dotprod(); }
#endif

static const variant VARIANTS[] = {
#if defined(PG_X86)
    {"avx512", &pg_kernels_avx512, x86_avx512},
    {"avx2", &pg_kernels_avx2, x86_avx2},
#elif defined(PG_ARM)
    {"neon", &pg_kernels_neon_dotprod, arm_dotprod},
    {"neon", &pg_kernels_neon, arm_no_dotprod},
    {"neon-nodotprod", &pg_kernels_neon, always}, /* the checks run both NEON tables */
#endif
    {"portable", &pg_kernels_portable, always},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static pg_kernels resolved[N_VARIANTS];
static int resolved_ok[N_VARIANTS];

static const pg_kernels *complete(size_t i) {
    if (!resolved_ok[i]) { /* the same result in any thread: a race only writes it twice */
        pg_kernels k = *VARIANTS[i].table;
        const pg_kernels *p = &pg_kernels_portable;
        for (int t = 0; t < PG_KINDS; t++) {
            pg_kind_ops *o = &k.ops[t];
            if (!o->dequant) o->dequant = p->ops[t].dequant;
            if (!o->dequant_bf16) o->dequant_bf16 = p->ops[t].dequant_bf16;
            if (!o->rows) o->rows = p->ops[t].rows;
            if (!o->quantize_x || !o->dot_int8) o->quantize_x = NULL, o->dot_int8 = NULL;
            if (!o->quantize_x) o->dot_int8_2 = NULL, o->quantize_x2 = NULL;
        }
        if (!k.attend) k.attend = p->attend;
        if (!k.glu) k.glu = p->glu;
        resolved[i] = k;
        resolved_ok[i] = 1;
    }
    return &resolved[i];
}

const pg_kernels *pg_resolve(const char *name) {
    const int best = !name || !*name || !strcmp(name, "native") || !strcmp(name, "auto");
    for (size_t i = 0; i < N_VARIANTS; i++)
        if ((best || !strcmp(name, VARIANTS[i].name)) && VARIANTS[i].runs()) return complete(i);
    return NULL;
}

/* ------------------------------------------------------------------ for the Python binding */
/* The table for a variant ("native" or "" for the best this CPU runs), or NULL. */
PG_EXPORT const void *pg_kernels_for(const char *name) { return pg_resolve(name); }

/* 0: the CPU runs it; 1: not built for this architecture; 2: built, but this CPU lacks the instructions */
PG_EXPORT int pg_variant_status(const char *name) {
    int known = 0;
    for (size_t i = 0; i < N_VARIANTS; i++) {
        if (strcmp(name, VARIANTS[i].name)) continue;
        known = 1;
        if (VARIANTS[i].runs()) return 0;
    }
    return known ? 2 : 1;
}

/* the variants built into this library, best first, comma-separated */
PG_EXPORT const char *pg_built_variants(void) {
#if defined(PG_X86)
    return "avx512,avx2,portable";
#elif defined(PG_ARM)
    return "neon,portable";
#else
    return "portable";
#endif
}

PG_EXPORT const char *pg_kernels_name(const void *k) { return k ? ((const pg_kernels *)k)->name : ""; }
PG_EXPORT const char *pg_kernels_int8(const void *k) { return k ? ((const pg_kernels *)k)->int8 : ""; }
PG_EXPORT int pg_abi(void) { return PG_ABI; }
