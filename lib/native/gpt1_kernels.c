/*
 * gpt1-lab native kernels: the elementwise and row-wise pieces of a GPT training step that the
 * tfjs wasm backend otherwise runs as chains of single-threaded kernels. Loaded through
 * Deno.dlopen by lib/_native_kernels.ts, which passes Float32Array views of the wasm heap (no
 * copy). Row-major float32 everywhere; statistics in double.
 *
 * Built by lib/_native_kernels.ts with the system C compiler:
 *   cc -O3 -march=native -ffp-contract=off -fno-math-errno -fopenmp-simd -pthread -shared -fPIC
 * -ffp-contract=off keeps the Adam update bit-identical to the JS loop it replaces (no FMA
 * contraction); exp is the polynomial below so that loops vectorize without -ffast-math.
 *
 * Threads: a small pool of our own (par_for below): contiguous ranges, one per thread, so
 * results are a function of the thread count only (elementwise kernels do not depend on it at
 * all; sums are per-thread partials added in thread order). The pool's threads start on first
 * use and never end: no per-thread destructors and nothing to join when the process exits.
 * (OpenMP's runtime did both: libgomp's destructor for a thread that had run a parallel
 * region, here a Deno worker's, could run while exit() ran the libraries' destructors, and
 * the suite aborted at exit with glibc's "free(): invalid pointer" now and then.) `#pragma omp
 * simd` stays: with -fopenmp-simd it is a vectorization hint, no runtime.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int g_threads = 1;

/* Sets the thread count of every kernel below. */
void gk_set_threads(int n) { g_threads = n < 1 ? 1 : (n > 256 ? 256 : n); }
int gk_threads(void) { return g_threads; }
int gk_version(void) { return 8; }

#define PAR_MIN 32768 /* elements below which a kernel stays on one thread */

/* ---- the thread pool ------------------------------------------------------------------------ */

/* fn(ctx, lo, hi, t): the iterations [lo, hi) of thread t of a par_for. */
typedef void (*range_fn)(void *ctx, long lo, long hi, int t);

static struct {
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  int started;   /* pool threads running (thread t = 1..started; the caller is thread 0) */
  long gen;      /* job number */
  range_fn fn;
  void *ctx;
  long total;
  int T;         /* threads of the job */
  int pending;   /* pool threads of the job not finished */
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
       0, 0, NULL, NULL, 0, 1, 0};
static pthread_mutex_t one_job = PTHREAD_MUTEX_INITIALIZER; /* callers take turns */

static inline long range_lo(long total, int T, int t) { return total * t / T; }

static void *pool_thread(void *arg) {
  const int t = (int)(intptr_t)arg;
  long seen = 0;
  pthread_mutex_lock(&P.mu);
  for (;;) {
    while (P.gen == seen) pthread_cond_wait(&P.go, &P.mu);
    seen = P.gen;
    if (t >= P.T) continue;
    const range_fn fn = P.fn;
    void *ctx = P.ctx;
    const long total = P.total;
    const int T = P.T;
    pthread_mutex_unlock(&P.mu);
    const long lo = range_lo(total, T, t), hi = range_lo(total, T, t + 1);
    if (lo < hi) fn(ctx, lo, hi, t);
    pthread_mutex_lock(&P.mu);
    if (--P.pending == 0) pthread_cond_signal(&P.done);
  }
  return NULL;
}

/* Runs fn over [0, total) on min(T, threads the pool could start + 1) threads, the caller
 * being thread 0; returns the threads used (what per-thread partials were written for). */
static int par_for(long total, int T, range_fn fn, void *ctx) {
  if (T > total) T = total < 1 ? 1 : (int)total;
  if (T <= 1) {
    fn(ctx, 0, total, 0);
    return 1;
  }
  pthread_mutex_lock(&one_job);
  pthread_mutex_lock(&P.mu);
  while (P.started < T - 1) {
    pthread_t th;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    const int ok = pthread_create(&th, &a, pool_thread, (void *)(intptr_t)(P.started + 1)) == 0;
    pthread_attr_destroy(&a);
    if (!ok) break;
    P.started++;
  }
  if (T > P.started + 1) T = P.started + 1;
  P.fn = fn;
  P.ctx = ctx;
  P.total = total;
  P.T = T;
  P.pending = T - 1;
  P.gen++;
  pthread_cond_broadcast(&P.go);
  pthread_mutex_unlock(&P.mu);
  const long hi = range_lo(total, T, 1);
  if (hi > 0) fn(ctx, 0, hi, 0);
  pthread_mutex_lock(&P.mu);
  while (P.pending > 0) pthread_cond_wait(&P.done, &P.mu);
  pthread_mutex_unlock(&P.mu);
  pthread_mutex_unlock(&one_job);
  return T;
}

/* The thread count of a kernel over `work` elements. */
static inline int threads_for(long work) { return work > PAR_MIN ? g_threads : 1; }

/* exp(x) for float, Cephes-style: 2^k · p(r), |rel err| < 2e-7 over [-87, 88]; vectorizable. */
static inline float fexp(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
  /* k = round(x·log2 e) by the 1.5·2^23 trick (plain float adds: vectorizes, exact) */
  float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - k * 0.693359375f;
  r = r + k * 2.12194440e-4f;
  float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const int32_t bits = ((int32_t)k + 127) << 23; /* 2^k as float bits */
  float two_k;
  __builtin_memcpy(&two_k, &bits, sizeof two_k);
  return p * two_k;
}

/* ---- LayerNorm ------------------------------------------------------------------------------ */

typedef struct {
  const float *x, *g, *b;
  float *y, *xhat, *rstd;
  int C;
  float eps;
} ln_fwd_args;

static void ln_fwd_rows(void *p, long lo, long hi, int t) {
  (void)t;
  const ln_fwd_args *A = (const ln_fwd_args *)p;
  const float *x = A->x, *g = A->g, *b = A->b;
  float *y = A->y, *xhat = A->xhat, *rstd = A->rstd;
  const int C = A->C;
  const float eps = A->eps;
  for (long r = lo; r < hi; r++) {
    const float *xr = x + (long)r * C;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int c = 0; c < C; c++) s += xr[c];
    const double mean = s / C;
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; c++) {
      const double d = xr[c] - mean;
      v += d * d;
    }
    const float rs = (float)(1.0 / sqrt(v / C + eps));
    const float mf = (float)mean;
    rstd[r] = rs;
    float *hr = xhat + (long)r * C, *yr = y + (long)r * C;
    for (int c = 0; c < C; c++) {
      const float h = (xr[c] - mf) * rs;
      hr[c] = h;
      yr[c] = h * g[c] + b[c];
    }
  }
}

/* y = (x - mean)/sqrt(var + eps)·g + b per row of [N, C]; also x̂ [N, C] and 1/σ [N]. */
void gk_ln_fwd(const float *x, const float *g, const float *b, float *y, float *xhat,
               float *rstd, int N, int C, float eps) {
  ln_fwd_args A = {x, g, b, y, xhat, rstd, C, eps};
  par_for(N, threads_for((long)N * C), ln_fwd_rows, &A);
}

/* dx [N, C], dg [C], db [C] of gk_ln_fwd from dy. Column sums: per-thread partials in double,
 * added in thread order. */
typedef struct {
  const float *dy, *xhat, *rstd, *g;
  float *dx;
  double *part;
  int C;
} ln_bwd_args;

static void ln_bwd_rows(void *p, long lo, long hi, int t) {
  const ln_bwd_args *A = (const ln_bwd_args *)p;
  const float *dy = A->dy, *xhat = A->xhat, *rstd = A->rstd, *g = A->g;
  float *dx = A->dx;
  const int C = A->C;
  double *pg = A->part + (size_t)t * 2 * C, *pb = pg + C;
  {
    for (long r = lo; r < hi; r++) {
      const float *dr = dy + (long)r * C, *hr = xhat + (long)r * C;
      double da = 0, dc = 0;
#pragma omp simd reduction(+ : da, dc)
      for (int c = 0; c < C; c++) {
        const float d = dr[c], h = hr[c], dh = d * g[c];
        da += dh;
        dc += (double)dh * h;
        pg[c] += (double)d * h;
        pb[c] += d;
      }
      const float a = (float)(da / C), cc = (float)(dc / C), rr = rstd[r];
      float *xr = dx + (long)r * C;
      for (int c = 0; c < C; c++) xr[c] = (dr[c] * g[c] - a - hr[c] * cc) * rr;
    }
  }
}

void gk_ln_bwd(const float *dy, const float *xhat, const float *rstd, const float *g, float *dx,
               float *dg, float *db, int N, int C) {
  int T = threads_for((long)N * C);
  double *part = (double *)calloc((size_t)T * 2 * C, sizeof(double));
  ln_bwd_args A = {dy, xhat, rstd, g, dx, part, C};
  T = par_for(N, T, ln_bwd_rows, &A);
  for (int c = 0; c < C; c++) {
    double vg = 0, vb = 0;
    for (int t = 0; t < T; t++) {
      vg += part[(size_t)t * 2 * C + c];
      vb += part[(size_t)t * 2 * C + C + c];
    }
    dg[c] = (float)vg;
    db[c] = (float)vb;
  }
  free(part);
}

/* ---- GELU (tanh form, as x·σ(x·(k0 + k1·x²))) ----------------------------------------------- */

#define GELU_K0 1.5957691216057308f /* 2·sqrt(2/π) */
#define GELU_K1 0.0713548162726009f /* k0 · 0.044715 */

/* y = x·σ(u), s = σ(u), u = x·(k0 + k1·x²). */
typedef struct {
  const float *a, *b, *c;
  float *o1, *o2;
} ew_args; /* the arrays of an elementwise kernel */

static void gelu_fwd_range(void *p, long lo, long hi, int t) {
  (void)t;
  const ew_args *A = (const ew_args *)p;
  const float *x = A->a;
  float *y = A->o1, *s = A->o2;
#pragma omp simd
  for (long i = lo; i < hi; i++) {
    const float v = x[i];
    const float si = 1.0f / (1.0f + fexp(-(v * (GELU_K0 + GELU_K1 * v * v))));
    s[i] = si;
    y[i] = v * si;
  }
}

void gk_gelu_fwd(const float *x, float *y, float *s, long n) {
  ew_args A = {x, NULL, NULL, y, s};
  par_for(n, threads_for(n), gelu_fwd_range, &A);
}

/* dx = dy·(σ + x·σ·(1-σ)·(k0 + 3·k1·x²)). */
static void gelu_bwd_range(void *p, long lo, long hi, int t) {
  (void)t;
  const ew_args *A = (const ew_args *)p;
  const float *dy = A->a, *x = A->b, *s = A->c;
  float *dx = A->o1;
#pragma omp simd
  for (long i = lo; i < hi; i++) {
    const float v = x[i], si = s[i];
    dx[i] = dy[i] * (si + si * (1.0f - si) * v * (GELU_K0 + 3.0f * GELU_K1 * v * v));
  }
}

void gk_gelu_bwd(const float *dy, const float *x, const float *s, float *dx, long n) {
  ew_args A = {dy, x, s, dx, NULL};
  par_for(n, threads_for(n), gelu_bwd_range, &A);
}

/* ---- softmax cross-entropy ------------------------------------------------------------------ */

/* e[c] = exp(z[c] - max z) for c < n (e may be z itself); returns Σ e, and max z in *max. The
 * unnormalized softmax of one row, shared by the cross-entropy and the causal softmax. */
static inline float exp_row(const float *z, float *e, int n, float *max) {
  float m = z[0];
#pragma omp simd reduction(max : m)
  for (int c = 1; c < n; c++) m = z[c] > m ? z[c] : m;
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int c = 0; c < n; c++) {
    const float v = fexp(z[c] - m);
    e[c] = v;
    sum += v;
  }
  *max = m;
  return sum;
}

/* g = (softmax(z) - onehot(y))·w per row of [N, V] (the gradient of the loss, one pass with
 * it); returns Σ_i w_i·(logsumexp(z_i) - z_i[y_i]) (double), or NaN if a target is out of
 * range (then nothing is written). */
typedef struct {
  const float *z;
  const int32_t *y;
  const float *w;
  float *g;
  double *part;
  int V;
} ce_args;

static void ce_rows(void *p, long lo, long hi, int t) {
  const ce_args *A = (const ce_args *)p;
  const float *z = A->z, *w = A->w;
  const int32_t *y = A->y;
  float *g = A->g;
  const int V = A->V;
  double total = 0;
  for (long r = lo; r < hi; r++) {
    const float *zr = z + (long)r * V;
    float *gr = g + (long)r * V;
    float m;
    const float sum = exp_row(zr, gr, V, &m);
    const float scale = w[r] / sum;
#pragma omp simd
    for (int c = 0; c < V; c++) gr[c] *= scale;
    gr[y[r]] -= w[r];
    total += (double)w[r] * ((double)m + log((double)sum) - (double)zr[y[r]]);
  }
  A->part[t] = total;
}

double gk_softmax_ce(const float *z, const int32_t *y, const float *w, float *g, int N, int V) {
  for (int r = 0; r < N; r++)
    if (y[r] < 0 || y[r] >= V) return NAN;
  double part[256] = {0};
  ce_args A = {z, y, w, g, part, V};
  const int T = par_for(N, threads_for((long)N * V), ce_rows, &A);
  double total = 0;
  for (int t = 0; t < T; t++) total += part[t];
  return total;
}

/* ---- causal attention softmax --------------------------------------------------------------- */

/* p = softmax over c ≤ t of s[g, t, c] (0 for c > t), for scores s [G, T, T]: the same as
 * softmax(s + causal bias) with the bias -1e9 of lib/model.ts. */
typedef struct {
  const float *a, *b;
  float *o;
  int T;
} sm_args;

static void causal_fwd_rows(void *q, long lo, long hi, int th) {
  (void)th;
  const sm_args *A = (const sm_args *)q;
  const float *s = A->a;
  float *p = A->o;
  const int T = A->T;
  for (long r = lo; r < hi; r++) {
    const int t = (int)(r % T), n = t + 1;
    const float *sr = s + r * T;
    float *pr = p + r * T;
    float m;
    const float inv = 1.0f / exp_row(sr, pr, n, &m);
#pragma omp simd
    for (int c = 0; c < n; c++) pr[c] *= inv;
    for (int c = n; c < T; c++) pr[c] = 0.0f;
  }
}

void gk_causal_softmax_fwd(const float *s, float *p, int G, int T) {
  const long rows = (long)G * T;
  sm_args A = {s, NULL, p, T};
  par_for(rows, threads_for(rows * T), causal_fwd_rows, &A);
}

static void causal_bwd_rows(void *q, long lo, long hi, int th) {
  (void)th;
  const sm_args *A = (const sm_args *)q;
  const float *p = A->a, *dp = A->b;
  float *ds = A->o;
  const int T = A->T;
  for (long r = lo; r < hi; r++) {
    const int n = (int)(r % T) + 1;
    const float *pr = p + r * T, *dr = dp + r * T;
    float *sr = ds + r * T;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int c = 0; c < n; c++) dot += dr[c] * pr[c];
#pragma omp simd
    for (int c = 0; c < n; c++) sr[c] = pr[c] * (dr[c] - dot);
    for (int c = n; c < T; c++) sr[c] = 0.0f;
  }
}

/* ds = p ⊙ (dp - Σ_c dp·p) per row: the gradient of gk_causal_softmax_fwd. */
void gk_causal_softmax_bwd(const float *p, const float *dp, float *ds, int G, int T) {
  const long rows = (long)G * T;
  sm_args A = {p, dp, ds, T};
  par_for(rows, threads_for(rows * T), causal_bwd_rows, &A);
}

/* ---- elementwise ------------------------------------------------------------------------------ */

/* out = a + b (same shape), on the kernels' threads. */
static void add_range(void *p, long lo, long hi, int t) {
  (void)t;
  const ew_args *A = (const ew_args *)p;
  const float *a = A->a, *b = A->b;
  float *out = A->o1;
#pragma omp simd
  for (long i = lo; i < hi; i++) out[i] = a[i] + b[i];
}

void gk_add(const float *a, const float *b, float *out, long n) {
  ew_args A = {a, b, NULL, out, NULL};
  par_for(n, threads_for(n), add_range, &A);
}

/* ---- dropout (the masks of lib/random.ts dropoutMask, never stored) ------------------------- */

static inline uint32_t hash_word(uint32_t seed, uint32_t i) {
  uint32_t z = seed + (i + 1u) * 0x9e3779b9u;
  z = (z ^ (z >> 16)) * 0x85ebca6bu;
  z = (z ^ (z >> 13)) * 0xc2b2ae35u;
  return z ^ (z >> 16);
}

/* y = x·mask, mask[i] = hash(seed, i) < thr ? 0 : keep (forward and, with dy, backward). */
typedef struct {
  const float *x;
  float *y;
  uint32_t seed, thr;
  float keep;
} dropout_args;

static void dropout_range(void *p, long lo, long hi, int t) {
  (void)t;
  const dropout_args *A = (const dropout_args *)p;
  const float *x = A->x;
  float *y = A->y;
  const uint32_t seed = A->seed, thr = A->thr;
  const float keep = A->keep;
#pragma omp simd
  for (long i = lo; i < hi; i++) y[i] = hash_word(seed, (uint32_t)i) < thr ? 0.0f * x[i] : x[i] * keep;
}

void gk_dropout(const float *x, float *y, long n, uint32_t seed, uint32_t thr, float keep) {
  dropout_args A = {x, y, seed, thr, keep};
  par_for(n, threads_for(n), dropout_range, &A);
}

/* ---- OpenAIAdam (lib/optim.ts), the same double arithmetic as lib/_native_adam.ts ------------ */

/* Σ g² in double. */
typedef struct {
  const float *g;
  double *part;
} sumsq_args;

static void sumsq_range(void *p, long lo, long hi, int t) {
  const sumsq_args *A = (const sumsq_args *)p;
  const float *g = A->g;
  double s = 0;
  for (long i = lo; i < hi; i++) s += (double)g[i] * g[i];
  A->part[t] = s;
}

double gk_sumsq(const float *g, long n) {
  double part[256] = {0};
  sumsq_args A = {g, part};
  const int T = par_for(n, threads_for(n), sumsq_range, &A);
  double s = 0;
  for (int t = 0; t < T; t++) s += part[t];
  return s;
}

/* One update in place: m, v, p with decoupled L2 `lam` and step size `lrt`. */
typedef struct {
  float *p, *m, *v;
  const float *g;
  double scale, b1, b2, e, lam, lrt;
} adam_args;

static void adam_range(void *q, long lo, long hi, int t) {
  (void)t;
  const adam_args *A = (const adam_args *)q;
  float *p = A->p, *m = A->m, *v = A->v;
  const float *g = A->g;
  const double scale = A->scale, b1 = A->b1, b2 = A->b2, e = A->e, lam = A->lam, lrt = A->lrt;
  const double c1 = 1 - b1, c2 = 1 - b2;
  for (long i = lo; i < hi; i++) {
    const double gi = g[i] * scale;
    const double mt = m[i] * b1 + gi * c1;
    const double vt = v[i] * b2 + gi * gi * c2;
    const double pi = p[i];
    p[i] = (float)(pi - (mt / (sqrt(vt) + e) + lam * pi) * lrt);
    m[i] = (float)mt;
    v[i] = (float)vt;
  }
}

void gk_adam(float *p, float *m, float *v, const float *g, long n, double scale, double b1,
             double b2, double e, double lam, double lrt) {
  adam_args A = {p, m, v, g, scale, b1, b2, e, lam, lrt};
  par_for(n, threads_for(n), adam_range, &A);
}
