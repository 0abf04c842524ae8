// Running the trials of an experiment one after another, each in its own
// run directory, and reading their results back from metrics.jsonl.
#include "train/trials.h"

#include <cctype>
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

std::optional<TrialResult> read_trial_result(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "metrics.jsonl");
  if (!in) return std::nullopt;
  TrialResult r;
  r.dir = dir;
  r.name = fs::path(dir).filename().string();
  std::optional<json> summary;
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // a line cut short by a crash
    const std::string kind = j.value("kind", "");
    if (kind == "epoch" && j.contains("test_accuracy") && j["test_accuracy"].is_number()) {
      r.test_epochs.push_back(j.value("epoch", int64_t{0}));
      r.test_accuracy.push_back(j["test_accuracy"].get<double>());
    }
    if (kind == "summary") summary = j;
  }
  if (!summary || summary->value("ended", "") == "interrupted") return std::nullopt;
  const json& s = *summary;
  const auto number = [&](const char* key) {
    return s.contains(key) && s[key].is_number() ? s[key].get<double>() : 0.0;
  };
  r.end = s.value("end", "");
  r.diverged = s.value("ended", "") == "diverged";
  r.best_accuracy = number("best_accuracy"), r.final_accuracy = number("final_accuracy");
  r.final_loss = number("final_loss"), r.seconds = number("seconds");
  r.images_per_s = number("images_per_s");
  r.best_epoch = static_cast<int64_t>(number("best_epoch"));
  r.epochs = static_cast<int64_t>(number("epochs"));
  return r;
}

int64_t epoch_reaching(const TrialResult& r, double target) {
  for (size_t i = 0; i < r.test_accuracy.size(); ++i)
    if (r.test_accuracy[i] >= target) return r.test_epochs[i];
  return 0;
}

namespace {

// A finished run of exactly this config is a result already.
bool done_before(const Trial& trial, const std::string& dir) {
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(config) || !read_trial_result(dir)) return false;
  try {
    return read_json_file(config.string()) == trial.config.json;
  } catch (const Error&) {
    return false;  // unreadable: run it again
  }
}

}  // namespace

TrialResult run_trial(const Trial& trial, const std::string& parent, Device device,
                      const std::atomic<bool>* stop) {
  const std::string dir = (fs::path(parent) / trial.name).string();
  TrialResult failed;
  failed.name = trial.name, failed.dir = dir;
  try {
    check_trial_name(trial.name);
    if (done_before(trial, dir)) {
      TrialResult r = *read_trial_result(dir);
      r.state = TrialState::done_before;
      return r;
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
    std::optional<TrialResult> r = read_trial_result(dir);
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
