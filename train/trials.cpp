// Running the trials of an experiment one after another, each in its own
// run directory, and reading their results back from metrics.jsonl.
#include "train/trials.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "train/trainer.h"

namespace danlu::train {

namespace fs = std::filesystem;
using nlohmann::json;

const char* trial_state_name(TrialState s) {
  switch (s) {
    case TrialState::ran: return "ran";
    case TrialState::resumed: return "resumed";
    case TrialState::done_before: return "done before";
    case TrialState::failed: return "failed";
  }
  return "?";
}

void check_trial_name(const std::string& name) {
  bool ok = !name.empty() && name != "." && name != "..";
  for (const char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  DANLU_CHECK(ok, "trial name \"", name, "\": use letters, digits, '.', '_' and '-' only");
}

std::optional<TrialResult> read_trial_result(const std::string& dir, int64_t upto_epochs) {
  std::ifstream in(fs::path(dir) / "metrics.jsonl");
  if (!in) return std::nullopt;
  TrialResult r;
  r.dir = dir;
  r.name = fs::path(dir).filename().string();
  std::optional<json> summary;
  std::string line;
  const auto number = [](const json& j, const char* key) -> std::optional<double> {
    if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
    return j[key].get<double>();
  };
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // a line cut short by a crash
    const std::string kind = j.value("kind", "");
    if (kind == "summary") summary = j;
    if (kind != "epoch") continue;
    EpochScore e;
    e.epoch = static_cast<int64_t>(number(j, "epoch").value_or(0));
    e.train_loss = number(j, "train_loss").value_or(NAN);
    e.test_accuracy = number(j, "test_accuracy");
    e.test_loss = number(j, "test_loss");
    if (upto_epochs == 0 || e.epoch <= upto_epochs) r.history.push_back(e);
  }
  if (!summary || summary->value("ended", "") == "interrupted") return std::nullopt;
  const json& s = *summary;
  r.end = s.value("end", "");
  r.ended = s.value("ended", "");
  r.diverged = r.ended == "diverged";
  r.seconds = number(s, "seconds").value_or(0);
  r.images_per_s = number(s, "images_per_s").value_or(0);
  r.epochs = static_cast<int64_t>(number(s, "epochs").value_or(0));
  if (upto_epochs > 0) r.epochs = std::min(r.epochs, upto_epochs);
  for (const EpochScore& e : r.history) {
    if (!e.test_accuracy) continue;
    r.final_accuracy = *e.test_accuracy, r.final_loss = e.test_loss.value_or(NAN);
    if (*e.test_accuracy > r.best_accuracy) r.best_accuracy = *e.test_accuracy, r.best_epoch = e.epoch;
  }
  return r;
}

int64_t epoch_reaching(const TrialResult& r, double target) {
  for (const EpochScore& e : r.history)
    if (e.test_accuracy && *e.test_accuracy >= target) return e.epoch;
  return 0;
}

namespace {

// A finished run of this config (whatever its epochs), long enough for the
// trial or ended by its own rule (early stopping, divergence), is a result.
std::optional<TrialResult> done_before(const Trial& trial, const std::string& dir) {
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(config)) return std::nullopt;
  std::optional<TrialResult> r = read_trial_result(dir, trial.config.epochs);
  if (!r) return std::nullopt;
  try {
    json saved = read_json_file(config.string()), wanted = trial.config.json;
    saved.erase("epochs"), wanted.erase("epochs");
    if (saved != wanted) return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;  // unreadable: run it again
  }
  const bool long_enough = r->epochs >= trial.config.epochs;
  const bool ended_itself = r->diverged || r->ended == "early_stopped";
  if (!long_enough && !ended_itself) return std::nullopt;
  return r;
}

}  // namespace

TrialResult run_trial(const Trial& trial, const std::string& parent, Device device,
                      const std::atomic<bool>* stop) {
  const std::string dir = (fs::path(parent) / trial.name).string();
  TrialResult failed;
  failed.name = trial.name, failed.dir = dir;
  try {
    check_trial_name(trial.name);
    if (std::optional<TrialResult> r = done_before(trial, dir)) {
      r->state = TrialState::done_before;
      return *r;
    }
    RunOptions options;
    options.run_dir = dir;
    options.stop = stop;
    const fs::path last = fs::path(dir) / "last.safetensors";
    const bool resume = fs::is_regular_file(last);
    if (resume)
      options.resume = last.string();
    else
      options.overwrite = true;  // what a trial killed before its first checkpoint left
    std::printf("trial %s: %s in %s\n", trial.name.c_str(), resume ? "resuming" : "training",
                dir.c_str());
    std::fflush(stdout);
    run_training(trial.config, device, options);
    std::optional<TrialResult> r = read_trial_result(dir, trial.config.epochs);
    if (!r) {
      failed.error = "stopped before it finished; run the same command again to resume it";
      return failed;
    }
    r->state = resume ? TrialState::resumed : TrialState::ran;
    return *r;
  } catch (const std::exception& e) {
    failed.error = e.what();
    return failed;
  }
}

}  // namespace danlu::train
