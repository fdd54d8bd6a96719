/*
 * sgemm driver: Goto/BLIS-style blocking over the ISA table's packing
 * routines and micro-kernel, threaded over blocks of C.
 *
 * Loop nest of one task (a block of rows × columns of C):
 *   for jc (NC columns)            B block kc×nc packed, lives in L2/L3
 *     for pc (kc-deep slices of K) fixed slicing: depends on K and the ISA only
 *       pack op(B)[pc.., jc..]
 *       for ic (MC rows)           A block mc×kc packed, lives in L2
 *         pack op(A)[ic.., pc..]
 *         for jr (NR), ir (MR)     micro-kernel; B micro-panel stays in L1
 *
 * Determinism: each element of C is produced by the same chain of operations
 * (k ascending inside a slice, slices in order, C = α·acc + β·C on the first
 * slice and C = α·acc + C on later ones) whichever task computes it; tasks
 * split C only, so the thread count never changes a bit.
 *
 * Packing buffers are per thread (thread-local, 64-byte aligned), grown when
 * a larger block is first seen and kept: no allocation in steady state.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bf16.h"
#include "cpu_internal.h"

#ifdef BP_USE_OPENBLAS
#include <cblas.h>
#endif

typedef struct packbuf {
    float *a, *b;      /* a task's own packed blocks */
    float *s;          /* the caller's: an operand every task shares, packed once */
    size_t acap, bcap, scap; /* floats */
} packbuf;

static _Thread_local packbuf tl_buf;

void bpk_thread_cleanup(void);
void bpk_thread_cleanup(void)
{
    free(tl_buf.a);
    free(tl_buf.b);
    free(tl_buf.s);
    memset(&tl_buf, 0, sizeof tl_buf);
}

/* Any thread may call the kernels (a user's thread running bp_predict, not
 * only the pool's workers), so each thread's buffers are freed when it exits
 * through a pthread key whose destructor runs at thread exit. */
static pthread_key_t tl_key;
static pthread_once_t tl_key_once = PTHREAD_ONCE_INIT;

static void free_packbuf(void *p)
{
    packbuf *b = p;
    free(b->a);
    free(b->b);
    free(b->s);
    memset(b, 0, sizeof *b);
}

static void make_key(void) { pthread_key_create(&tl_key, free_packbuf); }

/* A buffer of at least `need` floats, or NULL when memory runs out. */
static float *grow(float **p, size_t *cap, size_t need)
{
    if (*cap >= need)
        return *p;
    if (!tl_buf.a && !tl_buf.b && !tl_buf.s) {
        pthread_once(&tl_key_once, make_key);
        pthread_setspecific(tl_key, &tl_buf);
    }
    size_t bytes = (need * sizeof(float) + 63) & ~(size_t)63;
    float *q = aligned_alloc(64, bytes);
    if (!q)
        return NULL;
    free(*p);
    *p = q;
    *cap = bytes / sizeof(float);
    return q;
}

static inline int imin(int a, int b) { return a < b ? a : b; }

/* The parallel split (bpk_sgemm): tiles wanted per thread, and the smallest
 * tile — columns when split along N, rows along M. */
#define TILES_PER_THREAD 4
#define MIN_TILE_N 64
#define MIN_TILE_M 48
#define C_TILE_BYTES (512 * 1024) /* a tall tile's rows of C: half a Zen 4/5 core's L2 */
#define PREPACK_MAX_BYTES (16.0 * 1024 * 1024)
static inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

typedef struct gemm_job {
    const bpk_impl *im;
    /* 0: float32.  bf16 (bf16.c): BPK_BF16_EMULATED packs operands rounded
     * to bf16 for the float32 kernel; BPK_BF16_NATIVE / _SIMULATED pack bf16
     * pairs for a bf16 kernel. */
    int bf16;
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    size_t lda, ldb, ldc;
    int kc;      /* K slice (the last may be shorter) */
    int tm, tn;  /* task tile */
    int ntn;     /* tasks along N */
    /* The operand all tiles share when C is split along one side only,
     * packed once before them (prepack_shared): op(A) for a split along N
     * ('A'), op(B) for one along M ('B'), or none (0).  One cell of `cell`
     * floats per (K slice, block of mc rows or nc columns), in that order. */
    int shared;
    float *spack;
    int blocks;  /* blocks per K slice */
    size_t cell;
    /* op(B) packed whole before the call (bpk_packed_b), or NULL: K slice s
     * at bpack + s·bslice, its NR-wide panels of all N columns in order. */
    const float *bpack;
    size_t bslice;
} gemm_job;

/* Last resort when a packing buffer cannot be allocated: correct, slow. */
static void gemm_block_naive(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    for (int i = i0; i < i1; i++)
        for (int j = j0; j < j1; j++) {
            float acc = 0.0f;
            for (int k = 0; k < g->K; k++) {
                float x = g->ta ? g->A[(size_t)k * g->lda + i] : g->A[(size_t)i * g->lda + k];
                float y = g->tb ? g->B[(size_t)j * g->ldb + k] : g->B[(size_t)k * g->ldb + j];
                if (g->bf16) {
                    x = bpk_float_from_bf16(bpk_bf16_from_float(x));
                    y = bpk_float_from_bf16(bpk_bf16_from_float(y));
                }
                acc += x * y;
            }
            float *c = &g->C[(size_t)i * g->ldc + j];
            *c = g->beta == 0.0f ? g->alpha * acc : g->alpha * acc + g->beta * *c;
        }
}

/* Whether the job's panels hold bf16 pairs for a bf16 kernel (else floats). */
static int packs_pairs(const gemm_job *g)
{
    return g->bf16 == BPK_BF16_NATIVE || g->bf16 == BPK_BF16_SIMULATED;
}

/* Whether they are the AMX kernel's (amx_kernel.h: A in rows of 16 pairs,
 * B in pair panels; both padded to whole k steps of 16 pairs). */
static int packs_amx(const gemm_job *g)
{
    return g->bf16 == BPK_BF16_AMX || g->bf16 == BPK_BF16_AMX_SIMULATED;
}

/* Panels of width w from src, in the job's precision: float32 panels (bf16
 * emulated: rounded in place after), or bf16 pairs for a bf16 kernel. */
static void pack_panels(const gemm_job *g, int w, int kcontig, const float *src, size_t ld,
                        int rows, int kb, float *dst)
{
    if (packs_pairs(g)) {
        bpk_bf16_pack_pairs(g->im, w, kcontig, src, ld, rows, kb, (uint32_t *)dst);
        return;
    }
    g->im->pack(w, kcontig, src, ld, rows, kb, dst);
    if (g->bf16 == BPK_BF16_EMULATED)
        bpk_bf16_round_panels(dst, w, kb, (rows + w - 1) / w);
}

/* Rows [ic, ic + mc) of op(A), columns [pc, pc + kb): MR-wide panels. */
static void pack_a_block(const gemm_job *g, int ic, int pc, int mc, int kb, float *dst)
{
    const float *src = g->ta ? g->A + (size_t)pc * g->lda + ic : g->A + (size_t)ic * g->lda + pc;
    if (packs_amx(g)) {
        bpk_amx_pack_a(!g->ta, src, g->lda, mc, kb, (uint32_t *)dst);
        return;
    }
    pack_panels(g, g->im->mr, !g->ta, src, g->lda, mc, kb, dst);
}

/* Rows [pc, pc + kb) of op(B), columns [jc, jc + nc): NR-wide panels. */
static void pack_b_block(const gemm_job *g, int jc, int pc, int nc, int kb, float *dst)
{
    const float *src = g->tb ? g->B + (size_t)jc * g->ldb + pc : g->B + (size_t)pc * g->ldb + jc;
    if (packs_amx(g)) {
        bpk_amx_pack_b(g->im, g->tb, src, g->ldb, nc, kb, (uint32_t *)dst);
        return;
    }
    pack_panels(g, g->im->nr, g->tb, src, g->ldb, nc, kb, dst);
}

/* 32-bit words per panel row of a kb-deep slice: kb floats, kb/2 pairs, or
 * (AMX) those pairs rounded up to whole k steps. */
static int panel_depth(const gemm_job *g, int kb)
{
    return packs_amx(g) ? bpk_amx_depth(kb) : packs_pairs(g) ? (kb + 1) / 2 : kb;
}

/* Words per panel row a packing buffer holds: the deepest slice's panel,
 * and never less than kc, which the pair packing's float scratch needs. */
static size_t buffer_depth(const gemm_job *g)
{
    int d = panel_depth(g, g->kc);
    return (size_t)(d > g->kc ? d : g->kc);
}

/* One micro-tile over a kb-deep slice of packed panels ap, bp (their first
 * element), in the job's precision. */
static void micro_tile(const gemm_job *g, int kb, const float *ap, const float *bp, float *cc,
                       int mr, int nr, float beta)
{
    if (packs_pairs(g) || packs_amx(g))
        g->im->kernel_bf16(panel_depth(g, kb), (const uint32_t *)ap, (const uint32_t *)bp, cc,
                           g->ldc, mr, nr, g->alpha, beta);
    else
        g->im->kernel(kb, ap, bp, cc, g->ldc, mr, nr, g->alpha, beta);
}

/* The shared operand's cell for K slice pc (a multiple of g->kc) and block
 * `blk` of its rows (columns of op(B)). */
static const float *shared_cell(const gemm_job *g, int pc, int blk)
{
    return g->spack + ((size_t)(pc / g->kc) * (size_t)g->blocks + (size_t)blk) * g->cell;
}

static void gemm_block(const gemm_job *g, int i0, int i1, int j0, int j1)
{
    const bpk_impl *im = g->im;
    const int MR = im->mr, NR = im->nr, K = g->K, kc = g->kc;
    const int MC = im->mc, NC = im->nc;
    int mcap = imin(MC, round_up(i1 - i0, MR)), ncap = imin(NC, round_up(j1 - j0, NR));
    size_t bufd = buffer_depth(g);
    float *abuf = grow(&tl_buf.a, &tl_buf.acap, (size_t)mcap * bufd + BPK_PACK_SLACK);
    float *bbuf = grow(&tl_buf.b, &tl_buf.bcap, (size_t)ncap * bufd + BPK_PACK_SLACK);
    if (!abuf || !bbuf) {
        gemm_block_naive(g, i0, i1, j0, j1);
        return;
    }
    for (int jc = j0; jc < j1; jc += NC) {
        int nc = imin(NC, j1 - jc);
        for (int pc = 0; pc < K; pc += kc) {
            int kb = imin(kc, K - pc);
            const float *bblk = bbuf;
            if (g->bpack)
                bblk = g->bpack + (size_t)(pc / kc) * g->bslice + (size_t)jc * (size_t)kb;
            else if (g->shared == 'B')
                bblk = shared_cell(g, pc, jc / NC);
            else
                pack_b_block(g, jc, pc, nc, kb, bbuf);
            float beta = pc == 0 ? g->beta : 1.0f;
            for (int ic = i0; ic < i1; ic += MC) {
                int mc = imin(MC, i1 - ic);
                const float *ablk = abuf;
                if (g->shared == 'A')
                    ablk = shared_cell(g, pc, ic / MC);
                else
                    pack_a_block(g, ic, pc, mc, kb, abuf);
                int depth = panel_depth(g, kb);
                for (int jr = 0; jr < nc; jr += NR) {
                    const float *bp = bblk + (size_t)jr * depth;
                    int nr = imin(NR, nc - jr);
                    float *cc = g->C + (size_t)ic * g->ldc + jc + jr;
                    for (int ir = 0; ir < mc; ir += MR)
                        micro_tile(g, kb, ablk + (size_t)ir * depth, bp,
                                   cc + (size_t)ir * g->ldc, imin(MR, mc - ir), nr, beta);
                }
            }
        }
    }
}

/* A tall product (inference over a whole data set: thousands of rows of C)
 * whose tiles span all of N: each tile's rows of C are read and written
 * once per K slice, and a tile of 1250 × 512 floats (2.5 MB) went to memory
 * between slices.  Cap its rows so that it stays in L2 (C_TILE_BYTES; at
 * least one block of mc rows); op(B) is then packed once for all tiles
 * (prepack_shared), so only where op(B) is small enough to hold packed
 * whole (a layer's weights).  10000 × 512 × 784 on Zen 5: 3.8 → 3.2 µs per
 * row of the modern net's inference on 2 threads, 7.3 → 6.1 on 1. */
static void cap_tall_tiles(gemm_job *g)
{
    const bpk_impl *im = g->im;
    if (g->tn != g->N || g->K <= g->kc)
        return; /* split along N, or C written once */
    if (g->tm == g->M && (double)g->N * g->K * sizeof(float) > PREPACK_MAX_BYTES)
        return; /* one tile packs op(B) block by block; keep it so */
    int fit = C_TILE_BYTES / (int)sizeof(float) / g->N / im->mr * im->mr;
    if (fit < im->mc)
        fit = im->mc;
    if (g->tm > fit)
        g->tm = fit;
}

/* Split C into tiles (g->tm × g->tn), along N when A is the smaller operand
 * (each tile then packs all of A), along M otherwise.  About TILES_PER_THREAD
 * tiles per thread, handed out dynamically by the pool: when a thread is
 * slow or descheduled (another process has its core) the others take its
 * share, losing at most a tile's time.  Tiles stay wide enough that the
 * operand each repacks is a couple of percent of its work; tall ones stay
 * short enough for L2 (cap_tall_tiles).  Any split gives the same bits;
 * this one only decides speed. */
static void split_tiles(gemm_job *g, int T)
{
    const bpk_impl *im = g->im;
    int M = g->M, N = g->N;
    g->tm = M;
    g->tn = N;
    if (2.0 * M * N * g->K < 2.0e5)
        return;
    int want = TILES_PER_THREAD * T;
    int nblk = (N + im->nr - 1) / im->nr, mblk = (M + im->mr - 1) / im->mr;
    int split_n = (M <= N && nblk >= T) || mblk < T;
    if (T == 1) {
        /* one tile, unless it is tall */
    } else if (split_n && nblk >= 2) {
        int w = round_up((N + want - 1) / want, im->nr);
        g->tn = w > MIN_TILE_N ? w : round_up(MIN_TILE_N, im->nr);
    } else if (mblk >= 2) {
        int h = round_up((M + want - 1) / want, im->mr);
        g->tm = h > MIN_TILE_M ? h : round_up(MIN_TILE_M, im->mr);
    }
    cap_tall_tiles(g);
}

static void gemm_task(void *ctx, int t)
{
    const gemm_job *g = ctx;
    int ti = t / g->ntn, tj = t % g->ntn;
    int i0 = ti * g->tm, j0 = tj * g->tn;
    gemm_block(g, i0, imin(g->M, i0 + g->tm), j0, imin(g->N, j0 + g->tn));
}

/* Prepack task t: block t % blocks of K slice t / blocks, packed by the very
 * call a tile would make, into its own cell (a pack may write a few floats
 * past its panels, into the cell's slack, never into a neighbour's). */
static void prepack_task(void *ctx, int t)
{
    const gemm_job *g = ctx;
    const bpk_impl *im = g->im;
    int pc = t / g->blocks * g->kc, kb = imin(g->kc, g->K - pc);
    float *dst = (float *)shared_cell(g, pc, t % g->blocks);
    if (g->shared == 'A') {
        int ic = t % g->blocks * im->mc;
        pack_a_block(g, ic, pc, imin(im->mc, g->M - ic), kb, dst);
    } else {
        int jc = t % g->blocks * im->nc;
        pack_b_block(g, jc, pc, imin(im->nc, g->N - jc), kb, dst);
    }
}

/* When C is split along one side only, every tile needs all of the other
 * operand and would pack it again: 7-8 times per product for the bench's
 * layers on 2 threads, where packing took a fifth of the training time.
 * Pack it once instead, block by block in parallel, into the caller's
 * buffer; the tiles only read it.  Packing copies floats, so not a bit
 * changes. */
static void prepack_shared(bpk_pool *pool, gemm_job *g, int ntm)
{
    const bpk_impl *im = g->im;
    int len, block, width;
    if (g->ntn > 1 && ntm == 1) {
        g->shared = 'A';
        len = g->M, block = im->mc, width = im->mr;
    } else if (ntm > 1 && g->ntn == 1 && !g->bpack) {
        g->shared = 'B';
        len = g->N, block = im->nc, width = im->nr;
    } else {
        return;
    }
    g->blocks = (len + block - 1) / block;
    g->cell = (size_t)round_up(imin(block, len), width) * buffer_depth(g) + BPK_PACK_SLACK;
    int slices = (g->K + g->kc - 1) / g->kc;
    g->spack = grow(&tl_buf.s, &tl_buf.scap, (size_t)slices * (size_t)g->blocks * g->cell);
    if (!g->spack) { /* out of memory: each tile packs for itself */
        g->shared = 0;
        return;
    }
    bpk_pool_run(pool, slices * g->blocks, prepack_task, g);
}

/* C = beta·C (beta == 0: C = 0 without reading it). */
static void scale_c(int M, int N, float beta, float *C, size_t ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++)
                c[j] *= beta;
    }
}

typedef struct gemv_job {
    const bpk_impl *im;
    int trans_b, N, K;
    const float *B;
    size_t ldb;
    const float *x;
    float *y;
} gemv_job;

#define GEMV_SLICE 64
#define GEMV_MIN_SPLIT (1L << 16)

/* Columns [task·GEMV_SLICE, …) of y = x·op(B); task −1 does them all. */
static void gemv_task(void *ctx, int task)
{
    const gemv_job *g = ctx;
    size_t n, j0 = bpk_slice(task, GEMV_SLICE, (size_t)g->N, &n);
    if (g->trans_b)
        g->im->sgemv((int)n, g->K, g->B + j0 * g->ldb, g->ldb, g->x, NULL, g->y + j0);
    else
        g->im->sgemv_t(g->K, (int)n, g->B + j0, g->ldb, g->x, g->y + j0);
}

/* One row of C from a batch-1 product y (alpha, beta applied). */
static void finish_row(int N, float alpha, const float *y, float beta, float *c)
{
    for (int j = 0; j < N; j++)
        c[j] = beta == 0.0f ? alpha * y[j] : alpha * y[j] + beta * c[j];
}

/* The depth of K's slices: as equal as possible, none deeper than kc_max. */
static int slice_depth(int K, int kc_max)
{
    int nk = (K + kc_max - 1) / kc_max;
    return (K + nk - 1) / nk;
}

/* op(B) packed once for float32 products on one CPU path: what gemm_block
 * would pack, K slice by K slice, every column. */
struct bpk_packed_b {
    const bpk_impl *im; /* the path it was packed for */
    int trans_b, N, K, ldb;
    const float *B;
    size_t slice;       /* floats per K slice (panels and the pack's slack) */
    int slices;
    float *panels;
};

/* bpk_cpu_pack_b's job: task t packs K slice t through a product's own
 * pack_b_block (job g holds the operand), into dst + t·slice. */
typedef struct pack_b_job {
    gemm_job g;
    float *dst;
    size_t slice;
} pack_b_job;

static void pack_b_slice_task(void *ctx, int t)
{
    const pack_b_job *job = ctx;
    const gemm_job *g = &job->g;
    int pc = t * g->kc;
    pack_b_block(g, 0, pc, g->N, imin(g->kc, g->K - pc), job->dst + (size_t)t * job->slice);
}

bpk_packed_b *bpk_cpu_pack_b(bpk_pool *pool, int trans_b, int N, int K, const float *B, int ldb)
{
#ifdef BP_USE_OPENBLAS
    (void)pool, (void)trans_b, (void)N, (void)K, (void)B, (void)ldb;
    return NULL; /* OpenBLAS packs for itself */
#endif
    if (N <= 0 || K <= 0 || !B)
        return NULL;
    const bpk_impl *im = bpk_impl_get();
    int kc = slice_depth(K, im->kc), slices = (K + kc - 1) / kc;
    size_t slice = (size_t)round_up(N, im->nr) * (size_t)kc + BPK_PACK_SLACK;
    bpk_packed_b *pb = calloc(1, sizeof *pb);
    if (!pb)
        return NULL;
    pb->panels = aligned_alloc(64, (slice * (size_t)slices * sizeof(float) + 63) & ~(size_t)63);
    if (!pb->panels) {
        free(pb);
        return NULL;
    }
    pb->im = im;
    pb->trans_b = trans_b, pb->N = N, pb->K = K, pb->ldb = ldb, pb->B = B;
    pb->slice = slice;
    pb->slices = slices;
    pack_b_job job = {{.im = im, .tb = trans_b, .N = N, .K = K, .B = B, .ldb = (size_t)ldb, .kc = kc},
                      pb->panels, slice};
    bpk_pool_run(pool, slices, pack_b_slice_task, &job);
    return pb;
}

void bpk_packed_b_free(bpk_packed_b *pb)
{
    if (pb)
        free(pb->panels);
    free(pb);
}

size_t bpk_packed_b_bytes(const bpk_packed_b *pb)
{
    return pb ? pb->slice * (size_t)pb->slices * sizeof(float) : 0;
}

static void gemm_general(bpk_pool *pool, const bpk_impl *im, int bf16, int kc_max, int trans_a,
                         int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc,
                         const bpk_packed_b *pb);

void bpk_cpu_sgemm_packed_b(bpk_pool *pool, int trans_a, int M, float alpha, const float *A,
                            int lda, const bpk_packed_b *pb, float beta, float *C, int ldc)
{
    const bpk_impl *im = bpk_impl_get();
    /* One row takes the batch-1 path, which reads B as it is; a path chosen
     * since the packing (bpk_set_isa) packs for itself. */
    if (M <= 1 || pb->im != im || alpha == 0.0f) {
        bpk_cpu_sgemm(pool, trans_a, pb->trans_b, M, pb->N, pb->K, alpha, A, lda, pb->B, pb->ldb,
                      beta, C, ldc);
        return;
    }
    gemm_general(pool, im, 0, im->kc, trans_a, pb->trans_b, M, pb->N, pb->K, alpha, A, lda,
                 pb->B, pb->ldb, beta, C, ldc, pb);
}

void bpk_cpu_sgemm(bpk_pool *pool, int trans_a, int trans_b, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, (size_t)ldc);
        return;
    }
#ifdef BP_USE_OPENBLAS
    (void)pool;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
    return;
#endif
    const bpk_impl *im = bpk_impl_get();

    /* Batch 1 (one row of C): the vectorised gemv paths, serial. */
    if (M == 1 && (K >= 8 || N >= 8)) {
        int direct = alpha == 1.0f && beta == 0.0f;
        float *y = direct ? C : grow(&tl_buf.a, &tl_buf.acap, (size_t)N);
        if (y) {
            /* op(A) is a row of K floats: contiguous unless A is transposed with lda > 1. */
            const float *x = A;
            float *xbuf = NULL;
            if (trans_a && lda != 1 && K > 1) {
                xbuf = grow(&tl_buf.b, &tl_buf.bcap, (size_t)K);
                if (!xbuf)
                    goto general;
                for (int k = 0; k < K; k++)
                    xbuf[k] = A[(size_t)k * lda];
                x = xbuf;
            }
            gemv_job job = {im, trans_b, N, K, B, (size_t)ldb, x, y};
            /* Fixed slices of C's row: the same arithmetic for any thread count
             * (GEMV_SLICE is a multiple of every kernel's row grouping), and a
             * large matrix streams from two cores' caches at once. */
            int tasks = (long)N * K >= GEMV_MIN_SPLIT ? bpk_slices((size_t)N, GEMV_SLICE) : 1;
            if (tasks > 1 && bpk_pool_width(pool) > 1)
                bpk_pool_run(pool, tasks, gemv_task, &job);
            else
                gemv_task(&job, -1);
            if (!direct)
                finish_row(N, alpha, y, beta, C);
            return;
        }
    }
general:;
    gemm_general(pool, im, 0, im->kc, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C,
                 ldc, NULL);
}

/* The blocked product, in float32 (bf16 = 0) or a bf16 path; K slices of
 * equal depth ≤ kc_max, which depends on the precision and the ISA only. */
static void gemm_general(bpk_pool *pool, const bpk_impl *im, int bf16, int kc_max, int trans_a,
                         int trans_b, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc,
                         const bpk_packed_b *pb)
{
    gemm_job g = {
        .im = im, .bf16 = bf16, .ta = trans_a, .tb = trans_b, .M = M, .N = N, .K = K,
        .alpha = alpha, .beta = beta, .A = A, .B = B, .C = C,
        .lda = (size_t)lda, .ldb = (size_t)ldb, .ldc = (size_t)ldc,
    };
    g.kc = slice_depth(K, kc_max);
    if (pb) {
        g.bpack = pb->panels;
        g.bslice = pb->slice;
    }

    int threads = bpk_pool_width(pool);
    split_tiles(&g, threads);
    int ntm = (M + g.tm - 1) / g.tm;
    g.ntn = (N + g.tn - 1) / g.tn;
    prepack_shared(pool, &g, ntm);
    bpk_pool_run(pool, ntm * g.ntn, gemm_task, &g);
}

/* The K slice of every bf16 path, whichever kernel runs it: with the same
 * slices, the emulated and the native products add the same float32 terms
 * in the same order (bf16.c).  A slice of odd depth is packed with a zero
 * in its last pair's high half. */
#define BF16_KC 256

void bpk_cpu_sgemm_bf16(bpk_pool *pool, int trans_a, int trans_b, int M, int N, int K,
                        float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                        float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, (size_t)ldc);
        return;
    }
    const bpk_impl *im = bpk_impl_get();
    int path = bpk_bf16_path(im);
    bpk_impl simulated;
    if (path == BPK_BF16_SIMULATED) {
        /* The AVX-512 table's geometry, which the native kernel runs with
         * (mc and nc whole micro-tiles: the buffers are sized on them). */
        simulated = *im;
        simulated.mr = 8;
        simulated.nr = 32;
        simulated.mc = 192;
        simulated.nc = 2048;
        simulated.kernel_bf16 = bpk_bf16_kernel_simulated;
        simulated.bf16_pack = NULL; /* the fold in C, too */
        im = &simulated;
    } else if (path == BPK_BF16_AMX || path == BPK_BF16_AMX_SIMULATED) {
        /* 32 × 32 micro-tiles (2 × 2 accumulator tiles); mc and nc whole
         * micro-tiles.  The simulation packs B with the C fold. */
        simulated = *im;
        simulated.mr = 32;
        simulated.nr = 32;
        simulated.mc = 192;
        simulated.nc = 2048;
        simulated.kernel_bf16 =
            path == BPK_BF16_AMX ? bpk_amx_kernel_native : bpk_amx_kernel_simulated;
        if (path == BPK_BF16_AMX_SIMULATED)
            simulated.bf16_pack = NULL;
        im = &simulated;
    } else if (path == BPK_BF16_NONE) {
        path = BPK_BF16_EMULATED; /* the same arithmetic, on float32 kernels */
    }
    gemm_general(pool, im, path, BF16_KC, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta,
                 C, ldc, NULL);
}
