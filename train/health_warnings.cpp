// The monitor's conditions, checked in the order a reader would fix them.
#include "train/health_warnings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/printf_string.h"

namespace danlu::train {

namespace {

std::string named(const LayerHealth& l) { return "layer " + l.layer + " (" + l.type + ")"; }

}  // namespace

std::vector<HealthWarning> HealthWarnings::check(const std::vector<LayerHealth>& layers,
                                                 int64_t step, double lr) {
  step_ = step;
  std::vector<HealthWarning> out;
  vanishing(layers, out);
  exploding(layers, out);
  dead(layers, out);
  update_ratio(layers, lr, out);
  return out;
}

void HealthWarnings::add(const std::string& condition, const std::string& message,
                         std::vector<HealthWarning>& out) {
  if (!given_.insert(condition).second) return;
  out.push_back({condition, printf_string("step %lld: ", static_cast<long long>(step_)) + message});
}

// The first and the last layer that have a gradient.
void HealthWarnings::vanishing(const std::vector<LayerHealth>& layers,
                               std::vector<HealthWarning>& out) {
  const LayerHealth *first = nullptr, *last = nullptr;
  for (const LayerHealth& l : layers) {
    if (!std::isfinite(l.grad_norm)) continue;
    if (!first) first = &l;
    last = &l;
  }
  if (!first || first == last || !(last->grad_norm > 0)) return;
  const double ratio = first->grad_norm / last->grad_norm;
  if (ratio >= limits_.vanishing) return;
  add("vanishing_gradients",
      printf_string("vanishing gradients: %s has gradient norm %.3g, %.0fx smaller than the last "
                    "%s (%.3g), so the early layers barely learn; use ReLU-family activations, "
                    "BatchNorm or residual connections, and Kaiming initialisation",
                    named(*first).c_str(), first->grad_norm, 1 / ratio, named(*last).c_str(),
                    last->grad_norm),
      out);
}

void HealthWarnings::exploding(const std::vector<LayerHealth>& layers,
                               std::vector<HealthWarning>& out) {
  const char* advice = "lower the learning rate or clip the gradients (--set clip_grad_norm=1)";
  for (const LayerHealth& l : layers) {
    if (std::isnan(l.grad_norm)) continue;  // not measured: a frozen layer
    const auto [it, first] = first_grad_norm_.emplace(l.layer, l.grad_norm);
    if (std::isinf(l.grad_norm))
      return add("exploding_gradients",
                 printf_string("exploding gradients: %s has an infinite gradient norm; %s",
                               named(l).c_str(), advice),
                 out);
    if (first || !(l.grad_norm > limits_.exploding * it->second)) continue;
    return add("exploding_gradients",
               printf_string("exploding gradients: %s has gradient norm %.3g, %.0fx its %.3g at "
                             "the first monitored step; %s",
                             named(l).c_str(), l.grad_norm, l.grad_norm / it->second, it->second,
                             advice),
               out);
  }
}

void HealthWarnings::dead(const std::vector<LayerHealth>& layers,
                          std::vector<HealthWarning>& out) {
  for (const LayerHealth& l : layers) {
    if (!(l.dead_fraction > limits_.dead)) continue;
    add("dead_units",
        printf_string("dead units: %.0f%% of the units of the ReLU after %s are zero for the "
                      "whole batch and no longer learn; lower the learning rate, use LeakyReLU, "
                      "or check the initialisation",
                      100 * l.dead_fraction, named(l).c_str()),
        out);
    return;
  }
}

// The median layer speaks for the run (one layer's early burst is no
// verdict); the layer furthest from 1e-3 (on a log scale) is named with it.
// A rate a schedule has decayed (or a warmup not yet raised) far below the
// configured one is no advice to change it.
void HealthWarnings::update_ratio(const std::vector<LayerHealth>& layers, double lr,
                                  std::vector<HealthWarning>& out) {
  if (base_lr_ > 0 && lr < base_lr_ / 10) return;
  std::vector<const LayerHealth*> measured;
  for (const LayerHealth& l : layers)
    if (l.update_ratio > 0 && std::isfinite(l.update_ratio)) measured.push_back(&l);
  if (measured.empty()) return;
  const auto distance = [](const LayerHealth* l) { return std::abs(std::log10(l->update_ratio / 1e-3)); };
  const LayerHealth* worst = *std::max_element(
      measured.begin(), measured.end(), [&](auto* a, auto* b) { return distance(a) < distance(b); });
  std::sort(measured.begin(), measured.end(),
            [](auto* a, auto* b) { return a->update_ratio < b->update_ratio; });
  const double median = measured[measured.size() / 2]->update_ratio;
  const std::string seen =
      printf_string("update ratio ||dw||/||w|| %.3g in the median layer and %.3g in %s (about "
                    "1e-3 is healthy)",
                    median, worst->update_ratio, named(*worst).c_str());
  if (median > limits_.ratio_high)
    add("update_ratio_high",
        seen + printf_string(": each step rewrites a large part of the weights; the learning "
                             "rate %.3g looks too high, try %.3g",
                             lr, lr / 10),
        out);
  else if (median < limits_.ratio_low)
    add("update_ratio_low",
        seen + printf_string(": the weights hardly move; the learning rate %.3g looks too low, "
                             "try %.3g",
                             lr, lr * 10),
        out);
}

}  // namespace danlu::train
