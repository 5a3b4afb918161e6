/*
 * gpt1-lab native kernels: the elementwise and row-wise pieces of a GPT training step that the
 * tfjs wasm backend otherwise runs as chains of single-threaded kernels. Loaded through
 * Deno.dlopen by lib/_native_kernels.ts, which passes Float32Array views of the wasm heap (no
 * copy). Row-major float32 everywhere; statistics in double.
 *
 * Built by lib/_native_kernels.ts with the system C compiler:
 *   cc -O3 -march=native -ffp-contract=off -fno-math-errno -fopenmp -shared -fPIC
 * -ffp-contract=off keeps the Adam update bit-identical to the JS loop it replaces (no FMA
 * contraction); exp is the polynomial below so that loops vectorize without -ffast-math.
 *
 * Threads: OpenMP with a static schedule, so results are a function of the thread count
 * only (elementwise kernels do not depend on it at all; sums over rows do).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

static int g_threads = 1;

/* Sets the thread count of every kernel below. */
void gk_set_threads(int n) { g_threads = n < 1 ? 1 : n; }
int gk_threads(void) { return g_threads; }
int gk_version(void) { return 7; }

#define PAR_MIN 32768 /* elements below which a kernel stays on one thread */

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

/* y = (x - mean)/sqrt(var + eps)·g + b per row of [N, C]; also x̂ [N, C] and 1/σ [N]. */
void gk_ln_fwd(const float *x, const float *g, const float *b, float *y, float *xhat,
               float *rstd, int N, int C, float eps) {
#pragma omp parallel for schedule(static) num_threads(g_threads) if (parallel : (long)N * C > PAR_MIN)
  for (int r = 0; r < N; r++) {
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

/* dx [N, C], dg [C], db [C] of gk_ln_fwd from dy. Column sums: per-thread partials in double,
 * added in thread order. */
void gk_ln_bwd(const float *dy, const float *xhat, const float *rstd, const float *g, float *dx,
               float *dg, float *db, int N, int C) {
  const int T = ((long)N * C > PAR_MIN) ? g_threads : 1;
  double *part = (double *)calloc((size_t)T * 2 * C, sizeof(double));
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    double *pg = part + (size_t)t * 2 * C, *pb = pg + C;
    const int lo = (int)((long)N * t / nt), hi = (int)((long)N * (t + 1) / nt);
    for (int r = lo; r < hi; r++) {
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
void gk_gelu_fwd(const float *x, float *y, float *s, long n) {
#pragma omp parallel for simd schedule(static) num_threads(g_threads) if (parallel : n > PAR_MIN)
  for (long i = 0; i < n; i++) {
    const float v = x[i];
    const float si = 1.0f / (1.0f + fexp(-(v * (GELU_K0 + GELU_K1 * v * v))));
    s[i] = si;
    y[i] = v * si;
  }
}

/* dx = dy·(σ + x·σ·(1-σ)·(k0 + 3·k1·x²)). */
void gk_gelu_bwd(const float *dy, const float *x, const float *s, float *dx, long n) {
#pragma omp parallel for simd schedule(static) num_threads(g_threads) if (parallel : n > PAR_MIN)
  for (long i = 0; i < n; i++) {
    const float v = x[i], si = s[i];
    dx[i] = dy[i] * (si + si * (1.0f - si) * v * (GELU_K0 + 3.0f * GELU_K1 * v * v));
  }
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
double gk_softmax_ce(const float *z, const int32_t *y, const float *w, float *g, int N, int V) {
  for (int r = 0; r < N; r++)
    if (y[r] < 0 || y[r] >= V) return NAN;
  double total = 0;
#pragma omp parallel for schedule(static) num_threads(g_threads) reduction(+ : total) \
    if (parallel : (long)N * V > PAR_MIN)
  for (int r = 0; r < N; r++) {
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
  return total;
}

/* ---- causal attention softmax --------------------------------------------------------------- */

/* p = softmax over c ≤ t of s[g, t, c] (0 for c > t), for scores s [G, T, T]: the same as
 * softmax(s + causal bias) with the bias -1e9 of lib/model.ts. */
void gk_causal_softmax_fwd(const float *s, float *p, int G, int T) {
  const long rows = (long)G * T;
#pragma omp parallel for schedule(static) num_threads(g_threads) if (parallel : rows * T > PAR_MIN)
  for (long r = 0; r < rows; r++) {
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

/* ds = p ⊙ (dp - Σ_c dp·p) per row: the gradient of gk_causal_softmax_fwd. */
void gk_causal_softmax_bwd(const float *p, const float *dp, float *ds, int G, int T) {
  const long rows = (long)G * T;
#pragma omp parallel for schedule(static) num_threads(g_threads) if (parallel : rows * T > PAR_MIN)
  for (long r = 0; r < rows; r++) {
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

/* ---- elementwise ------------------------------------------------------------------------------ */

/* out = a + b (same shape), on the kernels' threads. */
void gk_add(const float *a, const float *b, float *out, long n) {
#pragma omp parallel for simd schedule(static) num_threads(g_threads) if (parallel : n > PAR_MIN)
  for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* ---- dropout (the masks of lib/random.ts dropoutMask, never stored) ------------------------- */

static inline uint32_t hash_word(uint32_t seed, uint32_t i) {
  uint32_t z = seed + (i + 1u) * 0x9e3779b9u;
  z = (z ^ (z >> 16)) * 0x85ebca6bu;
  z = (z ^ (z >> 13)) * 0xc2b2ae35u;
  return z ^ (z >> 16);
}

/* y = x·mask, mask[i] = hash(seed, i) < thr ? 0 : keep (forward and, with dy, backward). */
void gk_dropout(const float *x, float *y, long n, uint32_t seed, uint32_t thr, float keep) {
#pragma omp parallel for simd schedule(static) num_threads(g_threads) if (parallel : n > PAR_MIN)
  for (long i = 0; i < n; i++) y[i] = hash_word(seed, (uint32_t)i) < thr ? 0.0f * x[i] : x[i] * keep;
}

/* ---- OpenAIAdam (lib/optim.ts), the same double arithmetic as lib/_native_adam.ts ------------ */

/* Σ g² in double. */
double gk_sumsq(const float *g, long n) {
  double s = 0;
#pragma omp parallel for schedule(static) num_threads(g_threads) reduction(+ : s) if (parallel : n > PAR_MIN)
  for (long i = 0; i < n; i++) s += (double)g[i] * g[i];
  return s;
}

/* One update in place: m, v, p with decoupled L2 `lam` and step size `lrt`. */
void gk_adam(float *p, float *m, float *v, const float *g, long n, double scale, double b1,
             double b2, double e, double lam, double lrt) {
  const double c1 = 1 - b1, c2 = 1 - b2;
#pragma omp parallel for schedule(static) num_threads(g_threads) if (parallel : n > PAR_MIN)
  for (long i = 0; i < n; i++) {
    const double gi = g[i] * scale;
    const double mt = m[i] * b1 + gi * c1;
    const double vt = v[i] * b2 + gi * gi * c2;
    const double pi = p[i];
    p[i] = (float)(pi - (mt / (sqrt(vt) + e) + lam * pi) * lrt);
    m[i] = (float)mt;
    v[i] = (float)vt;
  }
}
