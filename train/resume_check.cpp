// Config comparison and position checks for --resume.
#include "train/resume_check.h"

#include <cmath>

#include "engine/error.h"

namespace danlu::train {

using nlohmann::json;

namespace {

// Keys whose config value the checkpoint's saved state overrides on resume.
const std::vector<std::string> kStateKeys = {"optimizer", "param_groups", "pretrained"};

bool covers(const std::string& key, const std::string& path) {
  return path == key || path.rfind(key + ".", 0) == 0;
}

bool any_covers(const std::vector<std::string>& keys, const std::string& path) {
  for (const std::string& k : keys)
    if (covers(k, path)) return true;
  return false;
}

std::string shown(const json& j) {
  const std::string text = j.is_null() ? "unset" : j.dump();
  return text.size() <= 40 ? text : text.substr(0, 37) + "...";
}

// Where `a` and `b` differ, down to the first non-object, as
// "path old -> new" in key order.
void differences(const json& a, const json& b, const std::string& path,
                 std::vector<std::pair<std::string, std::string>>& out) {
  if (a.is_object() && b.is_object()) {
    json keys = a;
    keys.update(b);
    for (const auto& [key, unused] : keys.items())
      differences(a.value(key, json()), b.value(key, json()), path.empty() ? key : path + "." + key,
                  out);
  } else if (a != b) {
    out.emplace_back(path, path + " " + shown(a) + " -> " + shown(b));
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::vector<std::string> check_resume_config(const json& saved, const json& now,
                                             const std::string& checkpoint) {
  std::vector<std::pair<std::string, std::string>> changes;
  differences(saved, now, "", changes);
  std::vector<std::string> allowed, state, refused;
  for (const auto& [p, text] : changes) {
    // optimizer.type picks another optimizer: a different run, not an ignored setting.
    if (any_covers(kResumableKeys, p)) allowed.push_back(text);
    else if (any_covers(kStateKeys, p) && p != "optimizer.type") state.push_back(text);
    else refused.push_back(text);
  }
  DANLU_CHECK(refused.empty(), checkpoint, ": cannot resume with a config that differs from the ",
              "checkpoint's in ", joined(refused), "; the run would not continue exactly: undo ",
              "the change, or start a new run in another --out (only ", joined(kResumableKeys),
              " may change on resume)");
  DANLU_CHECK(state.empty(), checkpoint, ": ", joined(state), " would be ignored on resume ",
              "(the checkpoint's optimizer state and weights replace it); undo the change, or ",
              "start a new run from these weights with --set pretrained=", checkpoint,
              " in another --out");
  return allowed;
}

void check_resume_progress(const Progress& p, int64_t steps_per_epoch, int64_t batch_size,
                           const std::string& checkpoint) {
  auto bad = [&](const char* field, auto value, const std::string& why) {
    DANLU_FAIL(checkpoint, ": damaged checkpoint (progress ", field, " = ", value, ": ", why,
               "); use an earlier checkpoint");
  };
  int64_t epoch_steps = 0;
  if (p.step < 0) bad("step", p.step, "negative");
  if (p.batch < 0 || p.batch >= steps_per_epoch)
    bad("batch", p.batch, "outside an epoch of " + std::to_string(steps_per_epoch) + " batches");
  if (p.epoch < 0 || __builtin_mul_overflow(p.epoch, steps_per_epoch, &epoch_steps) ||
      epoch_steps + p.batch != p.step)
    bad("epoch", p.epoch,
        "does not match step " + std::to_string(p.step) + " at " + std::to_string(steps_per_epoch) +
            " steps per epoch");
  if (p.epoch_seen < 0 || p.epoch_seen > p.batch * batch_size)
    bad("epoch_seen", p.epoch_seen, "more images than the epoch's batches hold");
  if (p.epoch_correct < 0 || p.epoch_correct > p.epoch_seen)
    bad("epoch_correct", p.epoch_correct, "outside [0, epoch_seen]");
  if (!std::isfinite(p.epoch_loss_sum) || p.epoch_loss_sum < 0)
    bad("epoch_loss_sum", p.epoch_loss_sum, "not a finite non-negative sum");
  if (p.best_epoch < 0 || p.best_epoch > p.epoch)
    bad("best_epoch", p.best_epoch, "outside [0, epoch]");
  // A run that max_steps ends inside an epoch evaluates there too: at most one evaluation a step.
  if (p.evals_without_improvement < 0 || p.evals_without_improvement > p.step)
    bad("evals_without_improvement", p.evals_without_improvement, "outside [0, step]");
  if (std::isinf(p.best_metric)) bad("best_metric", p.best_metric, "infinite");
}

}  // namespace danlu::train
