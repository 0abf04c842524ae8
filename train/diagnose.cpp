// The loss-curve rules, checked from the most urgent (a run that blew up)
// to the least (a healthy one).
#include "train/diagnose.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/printf_string.h"

namespace danlu::train {

using nlohmann::json;

namespace {

// A number field of a record; null (a NaN or Inf written by the trainer) is NaN.
std::optional<double> number(const json& r, const char* key, const std::string& where) {
  if (!r.contains(key)) return std::nullopt;
  const json& v = r[key];
  if (v.is_array() && !v.empty()) return number(json{{key, v[0]}}, key, where);  // "lr": per group
  DANLU_CHECK(v.is_number() || v.is_null(), where, ": \"", key, "\": expected a number, got ",
              v.dump(), "; is this file written by danlu train?");
  return v.is_null() ? std::nan("") : v.get<double>();
}

int64_t integer(const json& r, const char* key, const std::string& where) {
  DANLU_CHECK(r.contains(key) && r[key].is_number_integer(), where, ": \"", key,
              "\": expected an integer; is this file written by danlu train?");
  return r[key].get<int64_t>();
}

double mean_loss(std::vector<LossPoint>::const_iterator begin,
                 std::vector<LossPoint>::const_iterator end) {
  double sum = 0;
  for (auto it = begin; it != end; ++it) sum += it->loss;
  return sum / double(std::max<std::ptrdiff_t>(end - begin, 1));
}

long long ll(int64_t v) { return static_cast<long long>(v); }

// The rules, each returning a diagnosis when it applies.
class Reader {
 public:
  Reader(const RunHistory& run, const DiagnoseLimits& limits) : run_(run), limits_(limits) {}

  std::optional<Diagnosis> diverged() const {
    const double lr10 = run_.lr / 10;
    const std::string advice = printf_string(
        "The learning rate %.3g is too high: divide it by 10 (--set optimizer.lr=%.3g).", run_.lr,
        lr10);
    if (run_.diverged)
      return Diagnosis{Verdict::diverged,
                       printf_string("The loss became NaN or infinite at step %lld.",
                                     ll(run_.diverged->step)),
                       advice};
    if (run_.steps.empty()) return std::nullopt;
    const LossPoint &first = run_.steps.front(), &last = run_.steps.back();
    const LossPoint* peak = &first;
    for (const LossPoint& p : run_.steps)
      if (!(p.loss <= peak->loss)) peak = &p;  // NaN counts as a peak
    if (!(peak->loss <= limits_.explosion * first.loss))
      return Diagnosis{Verdict::diverged,
                       printf_string("The loss exploded from %.4g at step %lld to %.4g at step %lld.",
                                     first.loss, ll(first.step), peak->loss, ll(peak->step)),
                       advice};
    // A loss that spiked and then settled at ln C, the loss of the same
    // prediction for every input over C classes, is a network that too large
    // steps killed, although its loss stayed finite (BatchNorm keeps it so).
    // A network that learns slowly sits near ln C too, but from its first
    // step, with no spike. A loss near ln C by chance (label smoothing keeps
    // a trained network's loss well above 0) comes with a test accuracy far
    // above chance. (A collapsed network's eval-mode accuracy can still beat
    // 1 / C: BatchNorm's running statistics differ from the batch's.)
    const double classes = std::round(std::exp(last.loss));
    const auto at_uniform = [&](const LossPoint& p) {
      return std::abs(p.loss - std::log(classes)) <= limits_.collapse * std::log(classes);
    };
    const std::optional<EpochPoint> eval = last_evaluation();
    const bool at_chance = !eval || *eval->test_accuracy < 0.5 ||
                           *eval->test_accuracy <= limits_.chance / classes;
    if (classes >= 2 && run_.steps.size() >= 4 && peak->loss > limits_.spike * std::log(classes) &&
        std::all_of(run_.steps.end() - 3, run_.steps.end(), at_uniform) && at_chance) {
      return Diagnosis{
          Verdict::diverged,
          printf_string("The loss spiked to %.4g at step %lld, then settled at %.4g = ln %.0f by "
                        "step %lld, the loss of the same prediction for every input over %.0f "
                        "classes%s: too large steps killed the network's units, although its "
                        "loss stayed finite.",
                        peak->loss, ll(peak->step), last.loss, classes, ll(last.step), classes,
                        eval ? printf_string(" (test accuracy %.2f%% at epoch %lld)",
                                             100 * *eval->test_accuracy, ll(eval->epoch))
                                   .c_str()
                             : ""),
          advice};
    }
    // A loss that hardly moves while the monitor saw steps too large is no
    // learning rate too low.
    const bool flat = (first.loss - last.loss) / first.loss < limits_.slow;
    for (const std::string& w : run_.warnings)
      if (flat && (w == "update_ratio_high" || w == "exploding_gradients"))
        return Diagnosis{
            Verdict::diverged,
            printf_string("Over steps %lld to %lld the loss only went from %.4g to %.4g, while the "
                          "health monitor warned of %s.",
                          ll(first.step), ll(last.step), first.loss, last.loss,
                          w == "update_ratio_high" ? "updates too large for the weights"
                                                   : "exploding gradients"),
            advice};
    return std::nullopt;
  }

  // The last epoch with a test accuracy.
  std::optional<EpochPoint> last_evaluation() const {
    for (auto it = run_.epochs.rbegin(); it != run_.epochs.rend(); ++it)
      if (it->test_accuracy) return *it;
    return std::nullopt;
  }

  // The test loss rose since its best evaluation while the train loss fell.
  std::optional<Diagnosis> overfitting() const {
    std::vector<EpochPoint> evals;
    for (const EpochPoint& e : run_.epochs)
      if (e.test_loss) evals.push_back(e);
    if (evals.size() < 3) return std::nullopt;
    const auto best = std::min_element(evals.begin(), evals.end(), [](const auto& a, const auto& b) {
      return *a.test_loss < *b.test_loss;
    });
    const EpochPoint& last = evals.back();
    const bool rose = evals.end() - best >= 3 && *last.test_loss > (1 + limits_.rise) * *best->test_loss;
    const double gap_best = *best->test_loss - best->train_loss;
    const double gap_last = *last.test_loss - last.train_loss;
    if (!rose || last.train_loss >= best->train_loss || gap_last <= gap_best) return std::nullopt;
    return Diagnosis{
        Verdict::overfitting,
        printf_string("The test loss was lowest at epoch %lld (step %lld: %.4g), then rose to %.4g "
                      "by epoch %lld (step %lld) while the train loss fell from %.4g to %.4g; the "
                      "gap between them widened from %.4g to %.4g.",
                      ll(best->epoch), ll(best->step), *best->test_loss, *last.test_loss,
                      ll(last.epoch), ll(last.step), best->train_loss, last.train_loss, gap_best,
                      gap_last),
        printf_string("Regularise (more data or augmentation, weight_decay, dropout) or stop "
                      "early (--set early_stopping.patience=2, or keep best.safetensors from "
                      "epoch %lld).",
                      ll(best->epoch))};
  }

  // Too few records say nothing about speed.
  std::optional<Diagnosis> too_slow() const {
    if (run_.steps.size() < 4) return std::nullopt;
    const LossPoint &first = run_.steps.front(), &last = run_.steps.back();
    const double drop = (first.loss - last.loss) / first.loss;
    if (drop >= limits_.slow) return std::nullopt;
    return Diagnosis{
        Verdict::too_slow,
        printf_string("Over steps %lld to %lld the loss only went from %.4g to %.4g (%.1f%% %s).",
                      ll(first.step), ll(last.step), first.loss, last.loss, 100 * std::abs(drop),
                      drop >= 0 ? "lower" : "higher"),
        printf_string("The learning rate %.3g is too low: multiply it by 5 (--set optimizer.lr=%.3g).",
                      run_.lr, run_.lr * 5)};
  }

  // The last third of the curve: its first half against its second.
  std::optional<Diagnosis> stalled() const {
    const size_t n = run_.steps.size();
    if (n < 6) return std::nullopt;
    const auto begin = run_.steps.begin() + std::ptrdiff_t(n - n / 3), mid = begin + std::ptrdiff_t(n / 6),
               end = run_.steps.end();
    const double early = mean_loss(begin, mid), late = mean_loss(mid, end);
    const double gain = (early - late) / early;
    if (gain >= limits_.plateau) return std::nullopt;
    const double avg = mean_loss(begin, end);
    double var = 0;
    for (auto it = begin; it != end; ++it) var += (it->loss - avg) * (it->loss - avg);
    const double swing = std::sqrt(var / double(end - begin)) / avg;
    if (run_.final_lr < limits_.decayed * run_.lr) return std::nullopt;  // the schedule already decayed
    const bool oscillating = swing > limits_.oscillation;
    return Diagnosis{
        oscillating ? Verdict::oscillating : Verdict::plateau,
        printf_string("Over the last third of the run (steps %lld to %lld) the loss %s: %.4g then "
                      "%.4g (%.1f%% better), swinging by %.1f%% (std / mean), at learning rate %.3g.",
                      ll(begin->step), ll(end[-1].step),
                      oscillating ? "oscillated without progress" : "stopped improving", early, late,
                      100 * gain, 100 * swing, run_.final_lr),
        "Time to decay the learning rate: add a schedule (--set "
        "scheduler='{\"type\":\"CosineAnnealingLR\",\"T_max\":STEPS}') or ReduceLROnPlateau "
        "(--set scheduler='{\"type\":\"ReduceLROnPlateau\",\"patience\":2}')."};
  }

  Diagnosis healthy() const {
    std::string evidence;
    const std::vector<LossPoint>& s = run_.steps;
    if (s.size() >= 2)
      evidence = printf_string("The loss %s from %.4g at step %lld to %.4g at step %lld.",
                               s.back().loss < s.front().loss ? "fell" : "went", s.front().loss,
                               ll(s.front().step), s.back().loss, ll(s.back().step));
    for (auto it = run_.epochs.rbegin(); it != run_.epochs.rend(); ++it)
      if (it->test_accuracy) {
        evidence += printf_string(" Test accuracy %.2f%% at epoch %lld.", 100 * *it->test_accuracy,
                                  ll(it->epoch));
        break;
      }
    return {Verdict::healthy, evidence,
            run_.final_lr < limits_.decayed * run_.lr
                ? "Nothing to change; the schedule has decayed the learning rate."
                : "Nothing to change; more steps may still help."};
  }

 private:
  const RunHistory& run_;
  const DiagnoseLimits& limits_;
};

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::diverged: return "diverged";
    case Verdict::too_slow: return "too slow";
    case Verdict::plateau: return "plateau";
    case Verdict::oscillating: return "oscillating";
    case Verdict::overfitting: return "overfitting";
    case Verdict::healthy: return "healthy";
  }
  return "?";
}

Diagnosis diagnose(const RunHistory& run, const DiagnoseLimits& limits) {
  const Reader r(run, limits);
  if (auto d = r.diverged()) return *d;
  if (auto d = r.overfitting()) return *d;
  if (auto d = r.too_slow()) return *d;
  if (auto d = r.stalled()) return *d;
  return r.healthy();
}

std::string to_text(const Diagnosis& d) {
  return std::string("diagnosis: ") + verdict_name(d.verdict) + ". " + d.evidence + " " + d.advice;
}

RunHistory read_history(const std::string& run_dir) {
  const std::filesystem::path dir(run_dir);
  const std::string path = (dir / "metrics.jsonl").string();
  std::ifstream in(path);
  DANLU_CHECK(in, path, ": cannot open (is ", run_dir, " a run directory of danlu train?)");
  RunHistory run;
  std::optional<double> final_lr;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(n);
    const json r = json::parse(line, nullptr, /*allow_exceptions=*/false);
    DANLU_CHECK(r.is_object() && r.contains("kind") && r["kind"].is_string(), where,
                ": not a metrics record (a JSON object with a \"kind\")");
    const std::string kind = r["kind"];
    if (kind == "step") {
      run.steps.push_back({integer(r, "step", where), number(r, "loss", where).value_or(NAN)});
      if (const std::optional<double> lr = number(r, "lr", where)) final_lr = lr;
    } else if (kind == "epoch") {
      run.epochs.push_back({integer(r, "epoch", where), integer(r, "step", where),
                            number(r, "train_loss", where).value_or(NAN),
                            number(r, "test_loss", where), number(r, "test_accuracy", where)});
    } else if (kind == "diverged") {
      run.diverged = LossPoint{integer(r, "step", where), NAN};
    } else if (kind == "warning" && r.contains("condition") && r["condition"].is_string()) {
      run.warnings.push_back(r["condition"]);
    }
  }
  DANLU_CHECK(!run.steps.empty() || !run.epochs.empty() || run.diverged, path,
              ": no step or epoch records yet; diagnose a run that has logged a step");
  const std::string config = (dir / "config.json").string();
  std::ifstream config_in(config);
  DANLU_CHECK(config_in, config, ": cannot open (is ", run_dir, " a run directory of danlu train?)");
  const json c = json::parse(config_in, nullptr, /*allow_exceptions=*/false);
  const std::optional<double> lr =
      c.is_object() && c.contains("optimizer") && c["optimizer"].is_object()
          ? number(c["optimizer"], "lr", config)
          : std::nullopt;
  DANLU_CHECK(lr && *lr > 0, config, ": no optimizer.lr; is this a config written by danlu train?");
  run.lr = *lr;
  run.final_lr = final_lr.value_or(run.lr);
  return run;
}

}  // namespace danlu::train
