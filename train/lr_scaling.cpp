// Learning-rate scaling with the global batch: reading the config section,
// scaling the groups' rates and the scheduler's warmup, and the header line.
#include "train/lr_scaling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"
#include "engine/json_number.h"
#include "engine/printf_string.h"

namespace danlu::train {

using nlohmann::json;

namespace {

const char* const kPath = "optimizer.lr_scaling";

// Scheduler keys that set learning rates of their own.
const std::vector<std::string> kAbsoluteLrKeys = {
    "base_lr", "max_lr", "start_lr", "end_lr", "learning_rate", "initial_learning_rate", "values"};

// A step count of the warmup, scaled in place; a value of the wrong type is
// left for the scheduler's reader to report. Returns "before -> after".
std::string scale_steps(json& steps, const LrScaling& s, int64_t batch) {
  if (!is_int64(steps)) return "";
  const int64_t before = steps.get<int64_t>();
  steps = scaled_warmup_steps(s, before, batch);
  return std::to_string(before) + " -> " + std::to_string(steps.get<int64_t>());
}

// Scales the warmup of `spec` for `batch` images a step; returns what it did.
std::string scale_warmup(json& spec, const LrScaling& s, int64_t batch) {
  const std::string where = std::string(kPath) + ".warmup";
  DANLU_CHECK(!spec.is_null(), where, ": true, but the config has no scheduler; set it to false ",
              "or add a warmup (docs/training.md)");
  if (spec.is_object() && spec.value("interval", json("step")) == "epoch")
    return "warmup counted in epochs: unchanged";
  const bool sequential = spec.is_object() && spec.value("type", json()) == "SequentialLR";
  json* first = sequential && spec.contains("schedulers") && spec["schedulers"].is_array() &&
                        !spec["schedulers"].empty()
                    ? &spec["schedulers"][0]
                    : nullptr;
  const bool warmup = first && first->is_object() &&
                      (first->value("type", json()) == "LinearLR" ||
                       first->value("type", json()) == "ConstantLR");
  DANLU_CHECK(warmup, where, ": true, but the scheduler has no warmup it can scale (a ",
              "SequentialLR whose first scheduler is LinearLR or ConstantLR, counted in steps); ",
              "set it to false");
  if (!first->contains("total_iters")) (*first)["total_iters"] = 5;  // PyTorch's default
  const std::string note = scale_steps((*first)["total_iters"], s, batch);
  json* milestones = spec.contains("milestones") ? &spec["milestones"] : nullptr;
  if (milestones && milestones->is_array() && !milestones->empty())  // where it hands over
    scale_steps((*milestones)[0], s, batch);
  return "warmup " + note + " steps (the same images)";
}

std::string rates(const std::vector<double>& lrs) {
  std::string out;
  for (double lr : lrs) out += (out.empty() ? "" : ", ") + printf_string("%g", lr);
  return out;
}

}  // namespace

std::string absolute_lr_path(const json& spec, const std::string& path) {
  if (spec.is_array())
    for (size_t i = 0; i < spec.size(); ++i) {
      std::string found = absolute_lr_path(spec[i], path + "[" + std::to_string(i) + "]");
      if (!found.empty()) return found;
    }
  if (!spec.is_object()) return "";
  for (const auto& [key, value] : spec.items()) {
    const bool lr_valued = value.is_number() || value.is_array();
    if (lr_valued && std::find(kAbsoluteLrKeys.begin(), kAbsoluteLrKeys.end(), key) !=
                         kAbsoluteLrKeys.end())
      return path + "." + key;
    std::string found = absolute_lr_path(value, path + "." + key);
    if (!found.empty()) return found;
  }
  return "";
}

std::optional<LrScaling> take_lr_scaling(json& optimizer) {
  if (!optimizer.is_object() || !optimizer.contains("lr_scaling")) return std::nullopt;
  const json j = optimizer["lr_scaling"];
  optimizer.erase("lr_scaling");
  DANLU_CHECK(j.is_object(), kPath, ": expected an object such as ",
              R"({"rule": "linear", "reference_batch": 128}, got )", j.dump());
  for (const auto& [key, value] : j.items())
    DANLU_CHECK(key == "rule" || key == "reference_batch" || key == "warmup", kPath, ".", key,
                ": unknown key; expected one of rule, reference_batch, warmup");
  LrScaling s;
  const json rule = j.value("rule", json());
  DANLU_CHECK(rule == "linear" || rule == "sqrt", kPath, ".rule: expected \"linear\" or ",
              "\"sqrt\", got ", rule.is_null() ? "nothing" : rule.dump());
  s.rule = rule.get<std::string>();
  const json reference = j.value("reference_batch", json());
  DANLU_CHECK(is_int64(reference) && reference.get<int64_t>() >= 1, kPath,
              ".reference_batch: expected an integer >= 1 (the batch size the learning rates ",
              "were tuned at), got ", reference.is_null() ? "nothing" : reference.dump());
  s.reference_batch = reference.get<int64_t>();
  const json warmup = j.value("warmup", json(false));
  DANLU_CHECK(warmup.is_boolean(), kPath, ".warmup: expected true or false, got ", warmup.dump());
  s.warmup = warmup.get<bool>();
  return s;
}

double lr_factor(const LrScaling& s, int64_t global_batch) {
  const double ratio = double(global_batch) / double(s.reference_batch);
  return s.rule == "sqrt" ? std::sqrt(ratio) : ratio;
}

int64_t scaled_warmup_steps(const LrScaling& s, int64_t steps, int64_t global_batch) {
  const double scaled = double(steps) * double(s.reference_batch) / double(global_batch);
  return std::max<int64_t>(1, std::llround(scaled));
}

json apply_lr_scaling(const LrScaling& s, int64_t batch_size, int ranks,
                      sched::LrTarget& optimizer, json& scheduler) {
  int64_t batch = 0;
  DANLU_CHECK(!__builtin_mul_overflow(batch_size, int64_t{ranks}, &batch), "batch_size: ",
              batch_size, " on each of ", ranks, " ranks is more images than a step can count; ",
              "use a smaller batch_size");
  const double factor = lr_factor(s, batch);
  std::string text = printf_string("lr scaling (%s, reference batch %lld): batch %lld",
                                   s.rule.c_str(), static_cast<long long>(s.reference_batch),
                                   static_cast<long long>(batch));
  if (ranks > 1)
    text += printf_string(" (%lld x %d ranks)", static_cast<long long>(batch_size), ranks);
  std::vector<double> before, after;
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) before.push_back(optimizer.lr(g));
  json record = {{"kind", "lr_scaling"},   {"step", 0},           {"rule", s.rule},
                 {"reference_batch", s.reference_batch}, {"batch", batch}, {"ranks", ranks},
                 {"factor", factor}};
  if (batch == s.reference_batch) {
    record["lr"] = before;
    record["text"] = text + " is the reference: lr unchanged";
    return record;
  }
  // Scaling the groups' rates would leave a schedule's own rates behind.
  const std::string absolute = absolute_lr_path(scheduler, "scheduler");
  DANLU_CHECK(absolute.empty(), absolute, ": a learning rate of the schedule's own, which ", kPath,
              " does not scale; multiply it by ", printf_string("%g", factor),
              " yourself and remove ", kPath, ", or use a schedule relative to the optimizer's lr");
  for (size_t g = 0; g < before.size(); ++g) {
    optimizer.set_lr(g, before[g] * factor);
    after.push_back(optimizer.lr(g));
  }
  const bool one_lr = std::equal(before.begin() + 1, before.end(), before.begin());
  text += printf_string(" -> lr x%g", factor) +
          (one_lr ? ": " + rates({before[0]}) + " -> " + rates({after[0]}) + " in every group"
                  : " in every group: " + rates(before) + " -> " + rates(after));
  if (s.warmup) {
    const std::string note = scale_warmup(scheduler, s, batch);
    text += "; " + note;
    record["warmup"] = note;
  }
  record["lr_before"] = before;
  record["lr"] = after;
  record["text"] = text;
  return record;
}

}  // namespace danlu::train
