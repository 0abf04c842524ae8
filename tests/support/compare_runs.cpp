// compare_runs RUN_A RUN_B RTOL [FROM_STEP]: compares two training runs, the
// loss of every logged step from FROM_STEP on and the final evaluation's
// loss and accuracy (metrics.jsonl), and every tensor of last.safetensors
// (model and optimizer state), with the
// tolerance model |a - b| <= RTOL * max(|a|, scale) where scale is the
// tensor's largest |a| (so a weight near zero is judged on its tensor's
// scale); RTOL 0 demands identical bits. Prints the largest differences and
// exits 0 when everything is within the tolerance, 1 otherwise.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/io/safetensors.h"

namespace {

std::map<int64_t, double> step_losses(const std::string& run, int64_t from) {
  std::map<int64_t, double> losses;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json r = nlohmann::json::parse(line);
    if (r.value("kind", "") == "step" && r["step"].get<int64_t>() >= from)
      losses[r["step"].get<int64_t>()] = r["loss"].get<double>();
  }
  return losses;
}

// The summary record's final test loss and accuracy.
std::pair<double, double> final_evaluation(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::pair<double, double> out{NAN, NAN};
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json r = nlohmann::json::parse(line);
    if (r.value("kind", "") == "summary")
      out = {r["final_loss"].get<double>(), r["final_accuracy"].get<double>()};
  }
  return out;
}

bool within(double a, double b, double scale, double rtol) {
  if (rtol == 0) return std::memcmp(&a, &b, sizeof a) == 0;
  return std::fabs(a - b) <= rtol * std::max(std::fabs(a), scale);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: compare_runs RUN_A RUN_B RTOL [FROM_STEP]\n");
    return 2;
  }
  const std::string a = argv[1], b = argv[2];
  const double rtol = std::stod(argv[3]);
  const int64_t from = argc > 4 ? std::stoll(argv[4]) : 1;
  bool ok = true;

  const auto la = step_losses(a, from), lb = step_losses(b, from);
  if (la.empty() || la.size() != lb.size()) {
    std::printf("FAIL: %zu logged steps in %s, %zu in %s\n", la.size(), a.c_str(), lb.size(),
                b.c_str());
    return 1;
  }
  double worst_loss = 0;
  for (const auto& [step, loss] : la) {
    const double other = lb.count(step) ? lb.at(step) : NAN;
    worst_loss = std::max(worst_loss, std::fabs(loss - other) / std::fabs(loss));
    if (!within(loss, other, 0, rtol)) {
      std::printf("FAIL: step %lld loss %.17g vs %.17g\n", static_cast<long long>(step), loss,
                  other);
      ok = false;
    }
  }
  std::printf("losses of %zu steps: largest relative difference %.3g\n", la.size(), worst_loss);
  const auto [loss_a, accuracy_a] = final_evaluation(a);
  const auto [loss_b, accuracy_b] = final_evaluation(b);
  std::printf("final evaluation: loss %.9g vs %.9g, accuracy %.4f vs %.4f\n", loss_a, loss_b,
              accuracy_a, accuracy_b);
  if (!within(loss_a, loss_b, 0, rtol) || !within(accuracy_a, accuracy_b, 0, rtol)) {
    std::printf("FAIL: the final evaluations differ\n");
    ok = false;
  }

  const auto ta = danlu::io::load_safetensors(a + "/last.safetensors").tensors;
  const auto tb = danlu::io::load_safetensors(b + "/last.safetensors").tensors;
  if (ta.size() != tb.size()) {
    std::printf("FAIL: %zu tensors vs %zu in last.safetensors\n", ta.size(), tb.size());
    return 1;
  }
  double worst = 0;
  std::string worst_name;
  for (size_t t = 0; t < ta.size(); ++t) {
    const auto& [name, x] = ta[t];
    if (tb[t].first != name || tb[t].second.shape() != x.shape()) {
      std::printf("FAIL: tensor %zu is %s in one run, %s in the other\n", t, name.c_str(),
                  tb[t].first.c_str());
      return 1;
    }
    const std::vector<double> u = x.to_vector(), v = tb[t].second.to_vector();
    double scale = 0;
    for (double e : u) scale = std::max(scale, std::fabs(e));
    for (size_t i = 0; i < u.size(); ++i) {
      const double d = std::fabs(u[i] - v[i]) / std::max(std::fabs(u[i]), scale);
      if (d > worst || std::isnan(d)) worst = d, worst_name = name;
      if (!within(u[i], v[i], scale, rtol)) {
        if (ok) std::printf("FAIL: %s[%zu] %.9g vs %.9g\n", name.c_str(), i, u[i], v[i]);
        ok = false;
      }
    }
  }
  std::printf("%zu checkpoint tensors: largest relative difference %.3g (%s)\n", ta.size(), worst,
              worst_name.c_str());
  std::printf("%s\n", ok ? "ok" : "FAIL");
  return ok ? 0 : 1;
}
