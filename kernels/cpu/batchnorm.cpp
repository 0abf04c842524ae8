// CPU reference for batch norm: one channel per loop iteration, channels
// split across threads; each channel walks its N * S values (N runs of S
// contiguous elements) and accumulates in double, in SIMD lanes along a run.
// The per-channel loops are compiled for the CPU's vector width
// (kernels/cpu/isa_clones.h).
#include "kernels/batchnorm.h"

#include <cmath>

#include "kernels/cpu/isa_clones.h"

namespace danlu::kernels::cpu {

namespace {

inline bool parallel(int64_t N, int64_t C, int64_t S) { return N * C * S > (1 << 14); }

// y[n, c, :] = (x[n, c, :] - mean) * invstd * w + b for one channel.
template <class T>
inline void normalize_channel(const T* x, T* y, int64_t N, int64_t C, int64_t S, int64_t c,
                              double mean, double invstd, double w, double b) {
  const double scale = invstd * w, shift = b - mean * scale;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c) * S;
    for (int64_t s = 0; s < S; ++s) y[base + s] = static_cast<T>(x[base + s] * scale + shift);
  }
}
DANLU_ISA_CLONES(normalize_channel, normalize_channel)

// Channel c's batch mean and biased variance, in two passes (the second of
// squared deviations: no cancellation from E[x^2] - E[x]^2); out = {mean,
// sum of squared deviations}.
template <class T>
inline void channel_moments(const T* x, int64_t N, int64_t C, int64_t S, int64_t c, double* out) {
  double sum = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const T* row = x + (n * C + c) * S;
#pragma omp simd reduction(+ : sum)
    for (int64_t s = 0; s < S; ++s) sum += row[s];
  }
  const double mean = sum / static_cast<double>(N * S);
  double sq = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const T* row = x + (n * C + c) * S;
#pragma omp simd reduction(+ : sq)
    for (int64_t s = 0; s < S; ++s) {
      const double d = row[s] - mean;
      sq += d * d;
    }
  }
  out[0] = mean, out[1] = sq;
}
DANLU_ISA_CLONES(channel_moments, channel_moments)

// Channel c's sum(dy) and sum(dy * (x - mean)) into out[0], out[1].
template <class T>
inline void channel_gradient_sums(const T* dy, const T* x, int64_t N, int64_t C, int64_t S,
                                  int64_t c, double mean, double* out) {
  double sum_dy = 0.0, sum_dy_xc = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c) * S;
#pragma omp simd reduction(+ : sum_dy, sum_dy_xc)
    for (int64_t s = 0; s < S; ++s) {
      sum_dy += dy[base + s];
      sum_dy_xc += dy[base + s] * (x[base + s] - mean);
    }
  }
  out[0] = sum_dy, out[1] = sum_dy_xc;
}
DANLU_ISA_CLONES(channel_gradient_sums, channel_gradient_sums)

// dx[n, c, :] = w_invstd * (dy - mean_dy - (x - mean) * invstd * mean_dy_xhat).
template <class T>
inline void channel_dx(const T* dy, const T* x, T* dx, int64_t N, int64_t C, int64_t S, int64_t c,
                       double mean, double invstd, double w_invstd, double mean_dy,
                       double mean_dy_xhat) {
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c) * S;
    for (int64_t s = 0; s < S; ++s) {
      const double xhat = (x[base + s] - mean) * invstd;
      dx[base + s] = static_cast<T>(w_invstd * (dy[base + s] - mean_dy - xhat * mean_dy_xhat));
    }
  }
}
DANLU_ISA_CLONES(channel_dx, channel_dx)

}  // namespace

template <class T>
void batchnorm_forward_train(const T* x, const T* weight, const T* bias, T* y, T* save_mean,
                             T* save_invstd, T* running_mean, T* running_var, int64_t N,
                             int64_t C, int64_t S, double momentum, double eps) {
  const int64_t M = N * S;
#pragma omp parallel for if (parallel(N, C, S))
  for (int64_t c = 0; c < C; ++c) {
    double m[2];
    channel_moments_for_cpu(x, N, C, S, c, m);
    const double mean = m[0], sq = m[1];
    const double var = sq / static_cast<double>(M);
    const double invstd = 1.0 / std::sqrt(var + eps);
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    if (running_mean) {
      const double unbiased = sq / static_cast<double>(M - 1);
      running_mean[c] = static_cast<T>((1.0 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<T>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
    normalize_channel_for_cpu(x, y, N, C, S, c, mean, invstd, weight ? weight[c] : 1.0,
                              bias ? bias[c] : 0.0);
  }
}

template <class T>
void batchnorm_forward_eval(const T* x, const T* weight, const T* bias, const T* running_mean,
                            const T* running_var, T* y, T* save_mean, T* save_invstd, int64_t N,
                            int64_t C, int64_t S, double eps) {
#pragma omp parallel for if (parallel(N, C, S))
  for (int64_t c = 0; c < C; ++c) {
    const double mean = running_mean[c];
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    normalize_channel_for_cpu(x, y, N, C, S, c, mean, invstd, weight ? weight[c] : 1.0,
                              bias ? bias[c] : 0.0);
  }
}

template <class T>
void batchnorm_backward(const T* dy, const T* x, const T* weight, const T* save_mean,
                        const T* save_invstd, T* dx, T* dweight, T* dbias, int64_t N, int64_t C,
                        int64_t S, bool training) {
  const double M = static_cast<double>(N * S);
#pragma omp parallel for if (parallel(N, C, S))
  for (int64_t c = 0; c < C; ++c) {
    const double mean = save_mean[c], invstd = save_invstd[c];
    double g[2];  // sum(dy), sum(dy * (x - mean))
    channel_gradient_sums_for_cpu(dy, x, N, C, S, c, mean, g);
    const double sum_dy = g[0], sum_dy_xhat = g[1] * invstd;
    if (dbias) dbias[c] = static_cast<T>(sum_dy);
    if (dweight) dweight[c] = static_cast<T>(sum_dy_xhat);
    if (!dx) continue;
    const double w_invstd = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd;
    const double mean_dy = training ? sum_dy / M : 0.0;
    const double mean_dy_xhat = training ? sum_dy_xhat / M : 0.0;
    channel_dx_for_cpu(dy, x, dx, N, C, S, c, mean, invstd, w_invstd, mean_dy, mean_dy_xhat);
  }
}

#define DANLU_INSTANTIATE(T)                                                                   \
  template void batchnorm_forward_train<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*,   \
                                           int64_t, int64_t, int64_t, double, double);         \
  template void batchnorm_forward_eval<T>(const T*, const T*, const T*, const T*, const T*,    \
                                          T*, T*, T*, int64_t, int64_t, int64_t, double);      \
  template void batchnorm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*,    \
                                      T*, T*, int64_t, int64_t, int64_t, bool);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
