// `danlu sweep SWEEP.json`: a hyperparameter search as a verb of the
// trainer. The sweep file names a training config, the keys to search (the
// same paths as --set) and how to score a trial:
//   {"config": "../fashion_cnn_cpu_quick.json",        (relative to this file)
//    "set": {"data.train_limit": 6400},                 (fixed overrides)
//    "space": {"optimizer.lr": {"log_uniform": [0.001, 0.3]},
//              "optimizer.weight_decay": {"grid": [0, 0.0005, 0.005]},
//              "optimizer.momentum": {"uniform": [0.8, 0.95]}},
//    "trials": 4,          (random draws for each grid point; 1 when no key is random)
//    "seeds": [0],         (every point trains once per seed; scores are averaged)
//    "metric": "test_accuracy",                         (or test_loss, train_loss)
//    "halving": {"eta": 3, "min_epochs": 1},            (optional)
//    "sampler_seed": 0}
// Points are the grid keys' cross product, each with `trials` random draws
// of the others. Without "halving" every point trains for the config's
// epochs. With it (successive halving, Jamieson & Talwalkar 2016): every
// point trains min_epochs, the best 1/eta go on to eta times as many, and
// so on up to the config's epochs. A trial that goes on continues its own
// checkpoint, so the schedule is the one of the full run and a rung is a
// prefix of it. Each trial is a run directory (train/trials.h): a re-run
// reads finished trials and resumes stopped ones; a failed or diverged
// trial scores worst and the sweep goes on.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/device.h"
#include "train/trials.h"

namespace danlu::train {

// How one key is searched.
struct SearchDimension {
  std::string path;                 // "optimizer.lr"
  std::string kind;                 // grid, uniform, log_uniform
  std::vector<nlohmann::json> grid;  // the values of a grid
  double low = 0, high = 0;         // the range of a random key
  bool log_scale() const { return kind == "log_uniform"; }
};

struct SweepSpec {
  std::string config_path;  // resolved against the sweep file's folder
  std::vector<std::string> fixed;  // "key.path=value" overrides from "set"
  std::vector<SearchDimension> space;
  int64_t trials = 1;
  std::vector<uint64_t> seeds = {0};
  std::string metric = "test_accuracy";
  bool halving = false;
  int64_t eta = 3, min_epochs = 1;
  uint64_t sampler_seed = 0;
  bool higher_is_better() const { return metric == "test_accuracy"; }
};

// Reads and checks a sweep file; errors are one line naming the key.
SweepSpec read_sweep(const std::string& path);

// One point of the search: a value for every key, in the order of `space`.
struct SweepPoint {
  std::vector<nlohmann::json> values;
};

// The points the spec searches, in a fixed order (the same on every run).
std::vector<SweepPoint> sweep_points(const SweepSpec& spec);

// The epochs of each rung: min_epochs, x eta, ... , the config's `epochs`
// (the last rung); one rung of `epochs` without halving.
std::vector<int64_t> rung_epochs(const SweepSpec& spec, int64_t epochs);

// How many of `n` points go on from a rung: n / eta rounded up.
int64_t survivors(int64_t n, int64_t eta);

// A point's standing: its score at each rung it reached.
struct PointResult {
  SweepPoint point;
  std::string name;               // "p03": its trials are p03-s<seed>
  std::vector<double> scores;     // one per rung reached (mean over seeds); NaN when all failed
  std::vector<std::string> dirs;  // its trials' run directories
  std::string failure;            // the first failed or diverged trial's reason
};

struct SweepResult {
  std::vector<int64_t> rungs;
  std::vector<PointResult> points;  // ranked: deepest rung first, then best score
  bool stopped = false;             // a stop signal ended it early
};

// Runs the sweep into `out` (out/<point>-s<seed>/ per trial), each rung's
// trials as `jobs` says (one after another, or several at once on the CPU).
SweepResult run_sweep(const SweepSpec& spec, const std::string& out, Device device,
                      const std::atomic<bool>* stop = nullptr, const TrialJobs& jobs = {});

// The config of `point` (with `seed` and `epochs`) as the user's JSON.
nlohmann::json point_config(const SweepSpec& spec, const SweepPoint& point, uint64_t seed,
                            int64_t epochs);

// The leaderboard as Markdown and CSV: rank, point, each key's value, the
// score at each rung, the deepest rung's epochs, and any failure.
std::string sweep_markdown(const SweepSpec& spec, const SweepResult& r);
std::string sweep_csv(const SweepSpec& spec, const SweepResult& r);

}  // namespace danlu::train
