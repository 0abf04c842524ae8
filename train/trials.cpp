// Running the trials of an experiment one after another, each in its own
// run directory, and reading their results back from metrics.jsonl.
#include "train/trials.h"

#include <fcntl.h>
#include <omp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
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

namespace {

// What a trial's directory holds when it is about to run.
struct Plan {
  std::string dir;
  std::optional<TrialResult> done;  // a result already
  bool resume = false;              // a checkpoint to continue
  std::string last() const { return (fs::path(dir) / "last.safetensors").string(); }
};

Plan plan(const Trial& trial, const std::string& parent) {
  check_trial_name(trial.name);
  Plan p;
  p.dir = (fs::path(parent) / trial.name).string();
  p.done = done_before(trial, p.dir);
  p.resume = !p.done && fs::is_regular_file(p.last());
  return p;
}

void announce(const Trial& trial, const Plan& p) {
  std::printf("trial %s: %s in %s\n", trial.name.c_str(), p.resume ? "resuming" : "training",
              p.dir.c_str());
  std::fflush(stdout);
}

// The trial's result once its run has ended; `why` explains a missing one.
TrialResult finished(const Trial& trial, const Plan& p, const std::string& why) {
  std::optional<TrialResult> r = read_trial_result(p.dir, trial.config.epochs);
  if (!r) {
    TrialResult failed;
    failed.name = trial.name, failed.dir = p.dir, failed.error = why;
    return failed;
  }
  r->state = p.resume ? TrialState::resumed : TrialState::ran;
  return *r;
}

const char* const kStopped = "stopped before it finished; run the same command again to resume it";

}  // namespace

TrialResult run_trial(const Trial& trial, const std::string& parent, Device device,
                      const std::atomic<bool>* stop) {
  TrialResult failed;
  failed.name = trial.name, failed.dir = (fs::path(parent) / trial.name).string();
  try {
    const Plan p = plan(trial, parent);
    if (p.done) {
      TrialResult r = *p.done;
      r.state = TrialState::done_before;
      return r;
    }
    RunOptions options;
    options.run_dir = p.dir;
    options.stop = stop;
    if (p.resume)
      options.resume = p.last();
    else
      options.overwrite = true;  // what a trial killed before its first checkpoint left
    announce(trial, p);
    run_training(trial.config, device, options);
    return finished(trial, p, kStopped);
  } catch (const std::exception& e) {
    failed.error = e.what();
    return failed;
  }
}

namespace {

// A trial running in a child process.
struct Child {
  size_t index = 0;
  Plan plan;
  pid_t pid = 0;
};

// The last "danlu: error: ..." line of a child's log, without the prefix.
std::string error_in_log(const std::string& log) {
  std::ifstream in(log);
  std::string line, error;
  const std::string prefix = "danlu: error: ";
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) error = line.substr(prefix.size());
  return error;
}

// Starts `program train CONFIG --out DIR ...` with `threads` OpenMP threads
// and its output in DIR/train.log.
pid_t spawn(const Trial& trial, const Plan& p, const std::string& parent, Device device,
            const TrialJobs& jobs, int threads) {
  fs::create_directories(p.dir);
  const std::string config = (fs::path(parent) / (trial.name + ".config.json")).string();
  const std::string text = trial.config.json.dump(2) + "\n";
  io::replace_file(config, [&](io::AtomicWriter& f) { f.write(text); });
  std::vector<std::string> args = {jobs.program, "train", config, "--out", p.dir,
                                   "--device", device.str()};
  if (p.resume)
    args.insert(args.end(), {"--resume", p.last()});
  else
    args.push_back("--overwrite");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env_text.emplace_back(*e);
  env_text.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  std::vector<char*> envp;
  for (std::string& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = (fs::path(p.dir) / "train.log").string();
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // A process group of its own, so that Ctrl-C reaches the child once, from
  // run_trials (a second signal would stop it without its checkpoint).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, jobs.program.c_str(), &actions, &attributes, argv.data(),
                                envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  DANLU_CHECK(error == 0, "trial ", trial.name, ": cannot start ", jobs.program, ": ",
              std::strerror(error));
  return pid;
}

}  // namespace

std::vector<TrialResult> run_trials(const std::vector<Trial>& trials, const std::string& parent,
                                    Device device, const TrialJobs& jobs,
                                    const std::atomic<bool>* stop) {
  std::vector<TrialResult> results(trials.size());
  if (jobs.jobs <= 1) {
    for (size_t i = 0; i < trials.size() && !(stop && *stop); ++i)
      results[i] = run_trial(trials[i], parent, device, stop);
    return results;
  }
  DANLU_CHECK(!device.is_cuda(), "--jobs ", jobs.jobs, ": trials run several at once on the CPU "
              "only; on ", device.str(), " leave --jobs at 1");
  const int threads =
      jobs.threads > 0 ? jobs.threads : std::max(1, omp_get_max_threads() / jobs.jobs);
  std::vector<Child> running;
  size_t next = 0;
  bool stopping = false;
  while (next < trials.size() || !running.empty()) {
    if (stop && *stop && !stopping) {  // checkpoint and stop the running ones; start no more
      stopping = true;
      for (const Child& c : running) kill(c.pid, SIGINT);
    }
    while (!stopping && next < trials.size() && running.size() < size_t(jobs.jobs)) {
      const size_t i = next++;
      results[i].name = trials[i].name;
      results[i].dir = (fs::path(parent) / trials[i].name).string();
      try {
        Plan p = plan(trials[i], parent);
        if (p.done) {
          results[i] = *p.done;
          results[i].state = TrialState::done_before;
          continue;
        }
        announce(trials[i], p);
        const pid_t pid = spawn(trials[i], p, parent, device, jobs, threads);
        running.push_back({i, std::move(p), pid});
      } catch (const std::exception& e) {
        results[i].error = e.what();
      }
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (pid < 0 && running.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const auto it = std::find_if(running.begin(), running.end(),
                                 [&](const Child& c) { return c.pid == pid; });
    if (it == running.end()) continue;  // not a trial of ours
    const Trial& trial = trials[it->index];
    const std::string log = (fs::path(it->plan.dir) / "train.log").string();
    std::string why = error_in_log(log);
    if (why.empty())
      why = WIFEXITED(status) && WEXITSTATUS(status) >= 128
                ? std::string(kStopped)
                : "the trial's process ended without a result (exit status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "); see " + log;
    results[it->index] = finished(trial, it->plan, why);
    std::printf("trial %s: %s\n", trial.name.c_str(),
                results[it->index].state == TrialState::failed ? "failed" : "finished");
    std::fflush(stdout);
    running.erase(it);
  }
  for (size_t i = next; i < trials.size(); ++i) {  // never started: a stop came first
    results[i].name = trials[i].name;
    results[i].dir = (fs::path(parent) / trials[i].name).string();
    results[i].error = kStopped;
  }
  return results;
}

}  // namespace danlu::train
