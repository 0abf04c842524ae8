// CPU reference for the activation kernels: one loop per activation, each
// formula and derivative written as PyTorch's CPU kernels compute them.
#include "kernels/activation.h"

#include <cmath>
#include <numbers>

namespace danlu::kernels::cpu {

namespace {
constexpr int64_t kParallelGrain = 1 << 15;

// Calls f(i) for every i in [0, n), on all threads once n pays for them.
template <class F>
void for_each_index(int64_t n, F f) {
#pragma omp parallel for if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// 1 / sqrt(2): GELU's Phi(x) = 0.5 * (1 + erf(x / sqrt(2))).
constexpr double kSqrtHalf = 1.0 / std::numbers::sqrt2;
// 1 / sqrt(2 pi): the normal density's constant, phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
constexpr double kInvSqrt2Pi = std::numbers::inv_sqrtpi / std::numbers::sqrt2;
// sqrt(2 / pi) and 0.044715: the tanh approximation's constants.
constexpr double kSqrt2OverPi = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;
constexpr double kGeluKappa = 0.044715;

template <class T>
T sigmoid_of(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
}  // namespace

template <class T>
void activation_forward(Activation act, const T* x, T* y, int64_t n, T alpha) {
  switch (act) {
    case Activation::relu:  // `x < 0` rather than `x > 0` so NaN propagates, as in PyTorch
      return for_each_index(n, [=](int64_t i) { y[i] = x[i] < T(0) ? T(0) : x[i]; });
    case Activation::leaky_relu:
      return for_each_index(n, [=](int64_t i) { y[i] = x[i] > T(0) ? x[i] : x[i] * alpha; });
    case Activation::elu:
      return for_each_index(
          n, [=](int64_t i) { y[i] = x[i] > T(0) ? x[i] : alpha * std::expm1(x[i]); });
    case Activation::gelu:
      return for_each_index(n, [=](int64_t i) {
        y[i] = x[i] * T(0.5) * (T(1) + std::erf(x[i] * T(kSqrtHalf)));
      });
    case Activation::gelu_tanh:
      return for_each_index(n, [=](int64_t i) {
        const T inner = T(kSqrt2OverPi) * (x[i] + T(kGeluKappa) * x[i] * x[i] * x[i]);
        y[i] = T(0.5) * x[i] * (T(1) + std::tanh(inner));
      });
    case Activation::silu:
      return for_each_index(n, [=](int64_t i) { y[i] = x[i] * sigmoid_of(x[i]); });
    case Activation::sigmoid:
      return for_each_index(n, [=](int64_t i) { y[i] = sigmoid_of(x[i]); });
    case Activation::tanh:
      return for_each_index(n, [=](int64_t i) { y[i] = std::tanh(x[i]); });
  }
}

template <class T>
void activation_backward(Activation act, const T* saved, const T* dy, T* dx, int64_t n,
                         T alpha) {
  switch (act) {
    case Activation::relu:  // saved = y; y > 0 exactly where x > 0
      // Both loads happen unconditionally so the compiler emits a blend, not a
      // branch that mispredicts on every other element of real activations.
      return for_each_index(n, [=](int64_t i) {
        const T g = dy[i];
        dx[i] = saved[i] > T(0) ? g : T(0);
      });
    case Activation::leaky_relu:  // saved = x
      return for_each_index(
          n, [=](int64_t i) { dx[i] = saved[i] > T(0) ? dy[i] : dy[i] * alpha; });
    case Activation::elu:  // saved = x; PyTorch puts x == 0 on the exponential side
      return for_each_index(n, [=](int64_t i) {
        dx[i] = saved[i] <= T(0) ? dy[i] * alpha * std::exp(saved[i]) : dy[i];
      });
    case Activation::gelu:  // d/dx [x Phi(x)] = Phi(x) + x phi(x)
      return for_each_index(n, [=](int64_t i) {
        const T x = saved[i];
        const T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrtHalf)));
        const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
        dx[i] = dy[i] * (cdf + x * pdf);
      });
    case Activation::gelu_tanh:  // product rule on 0.5 x * (1 + tanh(inner(x)))
      return for_each_index(n, [=](int64_t i) {
        const T x = saved[i];
        const T inner = T(kSqrt2OverPi) * (x + T(kGeluKappa) * x * x * x);
        const T tanh_inner = std::tanh(inner);
        const T left_derivative = T(0.5) * (T(1) + tanh_inner);
        const T inner_derivative = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluKappa) * x * x);
        const T right_derivative =
            T(0.5) * x * (T(1) - tanh_inner * tanh_inner) * inner_derivative;
        dx[i] = dy[i] * (left_derivative + right_derivative);
      });
    case Activation::silu:  // d/dx [x s(x)] = s(x) (1 + x (1 - s(x)))
      return for_each_index(n, [=](int64_t i) {
        const T s = sigmoid_of(saved[i]);
        dx[i] = dy[i] * s * (T(1) + saved[i] * (T(1) - s));
      });
    case Activation::sigmoid:  // saved = y
      return for_each_index(n, [=](int64_t i) { dx[i] = dy[i] * saved[i] * (T(1) - saved[i]); });
    case Activation::tanh:  // saved = y
      return for_each_index(
          n, [=](int64_t i) { dx[i] = dy[i] * (T(1) - saved[i] * saved[i]); });
  }
}

#define DANLU_INSTANTIATE(T)                                                         \
  template void activation_forward<T>(Activation, const T*, T*, int64_t, T);         \
  template void activation_backward<T>(Activation, const T*, const T*, T*, int64_t, T);
DANLU_INSTANTIATE(float)
DANLU_INSTANTIATE(double)
#undef DANLU_INSTANTIATE

}  // namespace danlu::kernels::cpu
