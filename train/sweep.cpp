// The sweep file, its points, successive halving over trials, and the
// leaderboard.
#include "train/sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include "engine/error.h"
#include "engine/json_number.h"
#include "engine/printf_string.h"
#include "train/config.h"

namespace danlu::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kKeys[] = {"config", "set",     "space",  "trials",
                             "seeds",  "metric",  "halving", "sampler_seed"};

// A positive whole number at `key` of `j`, or `fallback` when absent.
int64_t positive_int(const json& j, const std::string& key, int64_t fallback,
                     const std::string& where) {
  if (!j.contains(key)) return fallback;
  DANLU_CHECK(is_int64(j[key]) && j[key].get<int64_t>() > 0, where, key,
              ": expected a whole number > 0, got ", j[key].dump());
  return j[key].get<int64_t>();
}

SearchDimension read_dimension(const std::string& path, const json& j, const std::string& file) {
  const std::string where = file + ": space." + path;
  DANLU_CHECK(j.is_object() && j.size() == 1, where,
              ": expected one of {\"grid\": [values]}, {\"uniform\": [low, high]} or "
              "{\"log_uniform\": [low, high]}, got ", j.dump());
  SearchDimension d;
  d.path = path;
  d.kind = j.begin().key();
  const json& v = j.begin().value();
  if (d.kind == "grid") {
    DANLU_CHECK(v.is_array() && !v.empty(), where, ".grid: expected a list of values, got ", v.dump());
    for (const json& value : v) d.grid.push_back(value);
    return d;
  }
  DANLU_CHECK(d.kind == "uniform" || d.kind == "log_uniform", where, ": unknown search \"", d.kind,
              "\"; expected grid, uniform or log_uniform");
  DANLU_CHECK(v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number() &&
                  v[0].get<double>() < v[1].get<double>(),
              where, ".", d.kind, ": expected [low, high] with low < high, got ", v.dump());
  d.low = v[0].get<double>(), d.high = v[1].get<double>();
  DANLU_CHECK(!d.log_scale() || d.low > 0, where, ".log_uniform: expected low > 0, got ", d.low);
  return d;
}

// A uniform number in [0, 1) from 53 bits of the generator: the same on
// every platform (std's distributions are not).
double unit(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

// The value of `metric` at `epoch` of a trial (the last evaluation at or
// before it); NaN when the trial failed or diverged or has none.
double score_at(const TrialResult& r, const std::string& metric, int64_t epoch) {
  if (r.state == TrialState::failed || r.diverged) return NAN;
  double score = NAN;
  for (const EpochScore& e : r.history) {
    if (e.epoch > epoch) break;
    if (metric == "train_loss") score = e.train_loss;
    if (metric == "test_accuracy" && e.test_accuracy) score = *e.test_accuracy;
    if (metric == "test_loss" && e.test_loss) score = *e.test_loss;
  }
  return score;
}

// Whether a is a better score than b (NaN is worst).
bool better(double a, double b, bool higher) {
  if (std::isnan(b)) return !std::isnan(a);
  if (std::isnan(a)) return false;
  return higher ? a > b : a < b;
}

std::string value_text(const json& v) {
  return v.is_number_float() ? printf_string("%.4g", v.get<double>()) : v.dump();
}

}  // namespace

SweepSpec read_sweep(const std::string& path) {
  const json j = read_json_file(path);
  DANLU_CHECK(j.is_object(), path, ": expected a JSON object with \"config\" and \"space\"");
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    DANLU_CHECK(known, path, ": ", key, ": unknown key; expected config, set, space, trials, "
                "seeds, metric, halving or sampler_seed");
  }
  SweepSpec s;
  DANLU_CHECK(j.contains("config") && j["config"].is_string(), path,
              ": config: expected the training config's path (relative to this file)");
  s.config_path = (fs::path(path).parent_path() / j["config"].get<std::string>()).string();
  read_json_file(s.config_path);  // there and JSON, before anything runs
  if (j.contains("set")) {
    DANLU_CHECK(j["set"].is_object(), path, ": set: expected {\"key.path\": value, ...}");
    for (const auto& [key, value] : j["set"].items()) s.fixed.push_back(key + "=" + value.dump());
  }
  DANLU_CHECK(j.contains("space") && j["space"].is_object() && !j["space"].empty(), path,
              ": space: expected {\"key.path\": {\"grid\": [...]}, ...} with at least one key");
  for (const auto& [key, value] : j["space"].items())
    s.space.push_back(read_dimension(key, value, path));
  const std::string where = path + ": ";
  const bool random = std::any_of(s.space.begin(), s.space.end(),
                                  [](const SearchDimension& d) { return d.kind != "grid"; });
  s.trials = positive_int(j, "trials", random ? 8 : 1, where);
  DANLU_CHECK(random || s.trials == 1, where, "trials: ", s.trials,
              " random draws, but every key is a grid; remove trials or make a key random");
  if (j.contains("seeds")) {
    DANLU_CHECK(j["seeds"].is_array() && !j["seeds"].empty(), where,
                "seeds: expected a list of seeds, e.g. [0, 1]");
    s.seeds.clear();
    for (const json& seed : j["seeds"]) {
      DANLU_CHECK(seed.is_number_unsigned(), where, "seeds: expected whole numbers >= 0, got ",
                  seed.dump());
      s.seeds.push_back(seed.get<uint64_t>());
    }
  }
  DANLU_CHECK(!j.contains("metric") || j["metric"].is_string(), where,
              "metric: expected test_accuracy, test_loss or train_loss, got ",
              j.value("metric", json()).dump());
  s.metric = j.value("metric", s.metric);
  DANLU_CHECK(s.metric == "test_accuracy" || s.metric == "test_loss" || s.metric == "train_loss",
              where, "metric: expected test_accuracy, test_loss or train_loss, got \"", s.metric,
              "\"");
  if (j.contains("halving")) {
    const json& h = j["halving"];
    DANLU_CHECK(h.is_object(), where, "halving: expected {\"eta\": 3, \"min_epochs\": 1}");
    s.halving = true;
    s.eta = positive_int(h, "eta", 3, where + "halving.");
    DANLU_CHECK(s.eta >= 2, where, "halving.eta: expected 2 or more (the fraction kept is 1/eta)");
    s.min_epochs = positive_int(h, "min_epochs", 1, where + "halving.");
  }
  if (j.contains("sampler_seed")) {
    DANLU_CHECK(j["sampler_seed"].is_number_unsigned(), where,
                "sampler_seed: expected a whole number >= 0");
    s.sampler_seed = j["sampler_seed"].get<uint64_t>();
  }
  return s;
}

std::vector<SweepPoint> sweep_points(const SweepSpec& spec) {
  // The grid's cross product, the last key varying fastest.
  std::vector<SweepPoint> grid(1);
  for (const SearchDimension& d : spec.space) {
    std::vector<SweepPoint> next;
    for (const SweepPoint& p : grid)
      for (size_t i = 0; i < std::max<size_t>(d.grid.size(), 1); ++i) {
        SweepPoint q = p;
        q.values.push_back(d.kind == "grid" ? d.grid[i] : json());
        next.push_back(q);
      }
    grid = next;
  }
  std::mt19937_64 rng(spec.sampler_seed);
  std::vector<SweepPoint> points;
  for (const SweepPoint& g : grid)
    for (int64_t t = 0; t < spec.trials; ++t) {
      SweepPoint p = g;
      for (size_t k = 0; k < spec.space.size(); ++k) {
        const SearchDimension& d = spec.space[k];
        if (d.kind == "grid") continue;
        const double u = unit(rng);
        p.values[k] = d.log_scale()
                          ? std::exp(std::log(d.low) + u * (std::log(d.high) - std::log(d.low)))
                          : d.low + u * (d.high - d.low);
      }
      points.push_back(p);
    }
  return points;
}

std::vector<int64_t> rung_epochs(const SweepSpec& spec, int64_t epochs) {
  std::vector<int64_t> rungs;
  if (spec.halving)
    for (int64_t e = spec.min_epochs; e < epochs; e *= spec.eta) rungs.push_back(e);
  rungs.push_back(epochs);
  return rungs;
}

int64_t survivors(int64_t n, int64_t eta) { return std::max<int64_t>(1, (n + eta - 1) / eta); }

json point_config(const SweepSpec& spec, const SweepPoint& point, uint64_t seed, int64_t epochs) {
  json user = read_json_file(spec.config_path);
  for (const std::string& o : spec.fixed) apply_override(user, o);
  for (size_t k = 0; k < spec.space.size(); ++k)
    apply_override(user, spec.space[k].path + "=" + point.values[k].dump());
  user["seed"] = seed;
  if (epochs > 0) user["epochs"] = epochs;
  return user;
}

SweepResult run_sweep(const SweepSpec& spec, const std::string& out, Device device,
                      const std::atomic<bool>* stop, const TrialJobs& jobs) {
  SweepResult result;
  const std::vector<SweepPoint> points = sweep_points(spec);
  // The full run's epochs: the config's, after the fixed overrides.
  json base = read_json_file(spec.config_path);
  for (const std::string& o : spec.fixed) apply_override(base, o);
  result.rungs = rung_epochs(spec, parse_config(base).epochs);
  for (size_t i = 0; i < points.size(); ++i) {
    PointResult p;
    p.point = points[i];
    p.name = printf_string("p%02zu", i);
    for (const uint64_t seed : spec.seeds)
      p.dirs.push_back((fs::path(out) / printf_string("%s-s%llu", p.name.c_str(),
                                                      static_cast<unsigned long long>(seed)))
                           .string());
    result.points.push_back(p);
  }
  std::vector<size_t> alive(points.size());
  for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
  for (size_t rung = 0; rung < result.rungs.size(); ++rung) {
    const int64_t epochs = result.rungs[rung];
    std::printf("rung %zu of %zu: %zu points at %lld epochs\n", rung + 1, result.rungs.size(),
                alive.size(), static_cast<long long>(epochs));
    std::fflush(stdout);
    // Every (point, seed) of the rung; a value the config refuses fails
    // its trial here, before anything runs.
    std::vector<Trial> trials;
    std::vector<std::pair<size_t, TrialResult>> refused;  // (index into the rung's list, result)
    for (const size_t i : alive)
      for (size_t s = 0; s < spec.seeds.size(); ++s) {
        Trial t;
        t.name = fs::path(result.points[i].dirs[s]).filename().string();
        try {
          t.config = parse_config(point_config(spec, result.points[i].point, spec.seeds[s], epochs));
          trials.push_back(std::move(t));
        } catch (const Error& e) {
          TrialResult r;
          r.name = t.name, r.error = e.what();
          refused.emplace_back(trials.size() + refused.size(), r);
        }
      }
    const std::vector<TrialResult> ran = run_trials(trials, out, device, jobs, stop);
    if (stop && *stop) {
      result.stopped = true;
      return result;
    }
    // Back in (point, seed) order.
    std::vector<TrialResult> rung_results;
    size_t next_ran = 0, next_refused = 0;
    for (size_t k = 0; k < ran.size() + refused.size(); ++k)
      if (next_refused < refused.size() && refused[next_refused].first == k)
        rung_results.push_back(refused[next_refused++].second);
      else
        rung_results.push_back(ran[next_ran++]);
    for (size_t a = 0; a < alive.size(); ++a) {
      PointResult& p = result.points[alive[a]];
      double sum = 0;
      for (size_t s = 0; s < spec.seeds.size(); ++s) {
        const TrialResult& r = rung_results[a * spec.seeds.size() + s];
        const double score = score_at(r, spec.metric, epochs);
        if (std::isnan(score) && p.failure.empty())
          p.failure = r.state == TrialState::failed ? r.error
                      : r.diverged                  ? r.end
                                                    : "no " + spec.metric + " at epoch " +
                                                          std::to_string(epochs);
        sum += score;
      }
      p.scores.push_back(sum / double(spec.seeds.size()));
      std::printf("rung %zu: %s scored %s %.4g\n", rung + 1, p.name.c_str(), spec.metric.c_str(),
                  p.scores.back());
      std::fflush(stdout);
    }
    if (rung + 1 == result.rungs.size()) break;
    std::stable_sort(alive.begin(), alive.end(), [&](size_t a, size_t b) {
      return better(result.points[a].scores[rung], result.points[b].scores[rung],
                    spec.higher_is_better());
    });
    alive.resize(static_cast<size_t>(survivors(static_cast<int64_t>(alive.size()), spec.eta)));
  }
  std::stable_sort(result.points.begin(), result.points.end(),
                   [&](const PointResult& a, const PointResult& b) {
                     if (a.scores.size() != b.scores.size())
                       return a.scores.size() > b.scores.size();
                     return better(a.scores.back(), b.scores.back(), spec.higher_is_better());
                   });
  return result;
}

std::string sweep_markdown(const SweepSpec& spec, const SweepResult& r) {
  std::ostringstream out;
  out << "| rank | point |";
  for (const SearchDimension& d : spec.space) out << " " << d.path << " |";
  for (const int64_t e : r.rungs) out << " " << spec.metric << " @" << e << " ep |";
  out << " note |\n|---:|---|";
  for (size_t i = 0; i < spec.space.size() + r.rungs.size(); ++i) out << "---:|";
  out << "---|\n";
  for (size_t rank = 0; rank < r.points.size(); ++rank) {
    const PointResult& p = r.points[rank];
    out << "| " << rank + 1 << " | " << p.name << " |";
    for (const json& v : p.point.values) out << " " << value_text(v) << " |";
    for (size_t k = 0; k < r.rungs.size(); ++k)
      out << " " << (k < p.scores.size() ? printf_string("%.4f", p.scores[k]) : "-") << " |";
    out << " " << p.failure << " |\n";
  }
  return out.str();
}

std::string sweep_csv(const SweepSpec& spec, const SweepResult& r) {
  std::ostringstream out;
  out << "rank,point";
  for (const SearchDimension& d : spec.space) out << "," << d.path;
  for (const int64_t e : r.rungs) out << "," << spec.metric << "_at_" << e;
  out << ",failure\n";
  for (size_t rank = 0; rank < r.points.size(); ++rank) {
    const PointResult& p = r.points[rank];
    out << rank + 1 << "," << p.name;
    for (const json& v : p.point.values) out << "," << v.dump();  // a string keeps its quotes
    for (size_t k = 0; k < r.rungs.size(); ++k)
      out << "," << (k < p.scores.size() ? printf_string("%.6f", p.scores[k]) : "");
    std::string failure = "\"";
    for (const char c : p.failure) failure += c == '"' ? std::string("\"\"") : std::string(1, c);
    out << "," << failure << "\"\n";
  }
  return out.str();
}

}  // namespace danlu::train
