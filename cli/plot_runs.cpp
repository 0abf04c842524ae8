// `danlu plot RUN_DIR [RUN_DIR...] [--out DIR] [--format png|svg]`: learning
// curves from each run's metrics.jsonl: loss.png (train per logged step, test
// per evaluation), accuracy.png (per epoch, in percent), lr.png, grad_norms.png
// (per layer, named with its type, for one run; the global norm per run when
// several are overlaid). Past two runs, loss.png holds the training loss and
// accuracy.png the test accuracy only, one curve per run. For one run, the
// health monitor's records also become layer x step heatmaps:
// layers_grad_norm.png, layers_update_ratio.png, layers_act_std.png and
// layers_dead_fraction.png. A field
// of the wrong type is an error naming the line; a chart with nothing to
// draw is skipped with a line saying which values were missing.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/plot_runs.h"

#include "cli/commands.h"
#include "cli/plot.h"
#include "cli/plot_sample.h"
#include "engine/error.h"

namespace danlu::cli {

namespace {

using nlohmann::json;

// The monitor's statistics that become heatmaps, with how each is coloured.
struct MonitorStat {
  const char* key;
  const char* title;
  bool log;
  double lo = NAN, hi = NAN;  // a fixed colour scale (a fraction's [0, 1])
};
constexpr std::array<MonitorStat, 4> kMonitorStats = {{
    {"grad_norm", "gradient norm per layer (colour: log10)", true},
    {"update_ratio", "update-to-weight ratio |dw|/|w| per layer (colour: log10; healthy near 1e-3)", true},
    {"act_std", "activation std per layer", false},
    {"dead_fraction", "fraction of dead ReLU units per layer", false, 0, 1},
}};

// The monitor records as a table: values[stat][layer][column], NaN where a
// layer has no value at that step.
struct MonitorTable {
  std::vector<double> steps;
  std::vector<std::string> layers;
  std::map<std::string, size_t> row_of;
  std::array<std::vector<std::vector<double>>, kMonitorStats.size()> values;
};

// A run's curves, sampled as the records stream by (cli/plot_sample.h), so
// that a metrics file of any length plots in bounded memory.
struct Run {
  std::string name;
  SampledCurve train_loss, test_loss, train_accuracy, test_accuracy, lr, grad_norm;
  std::map<std::string, SampledCurve> layer_norms;
  std::map<std::string, std::string> layer_types;  // from monitor records
  MonitorTable monitor;
};

// One record's fields, each checked for its type; errors name the line.
class Record {
 public:
  Record(const json& j, std::string where) : j_(j), where_(std::move(where)) {}
  // The number at `key`; nullopt when absent or null (NaN is written as null).
  std::optional<double> number(const std::string& key) const {
    if (!j_.contains(key) || j_[key].is_null()) return std::nullopt;
    check(j_[key].is_number(), key, "a number");
    return j_[key].get<double>();
  }
  double required(const std::string& key) const {
    const std::optional<double> v = number(key);
    check(v.has_value(), key, "a number (the record's position)");
    return *v;
  }
  // The first element of the list at `key` (param group 0's lr).
  std::optional<double> first(const std::string& key) const {
    if (!j_.contains(key) || j_[key].is_null()) return std::nullopt;
    const json& v = j_[key];
    check(v.is_array() && !v.empty() && (v[0].is_number() || v[0].is_null()), key,
          "a list of numbers, one per param group");
    if (v[0].is_null()) return std::nullopt;
    return v[0].get<double>();
  }
  const json* object(const std::string& key) const {
    if (!j_.contains(key)) return nullptr;
    check(j_[key].is_object(), key, "an object of numbers");
    return &j_[key];
  }
  void check(bool ok, const std::string& key, const char* expected) const {
    DANLU_CHECK(ok, where_, ": \"", key, "\": expected ", expected, ", got ",
                j_.contains(key) ? j_[key].dump() : "nothing",
                "; is this file written by danlu train?");
  }

  const std::string& where() const { return where_; }

 private:
  const json& j_;
  std::string where_;
};

void add(SampledCurve& curve, double x, std::optional<double> y, double scale = 1) {
  if (y) curve.add(x, scale * *y);
}

void read_step(const Record& r, Run& run) {
  const double step = r.required("step");
  add(run.train_loss, step, r.number("loss"));
  add(run.grad_norm, step, r.number("grad_norm"));
  add(run.lr, step, r.first("lr"));
  if (const json* layers = r.object("layer_grad_norms"))
    for (const auto& [layer, v] : layers->items()) {
      r.check(v.is_number() || v.is_null(), "layer_grad_norms." + layer, "a number");
      if (v.is_number()) run.layer_norms[layer].add(step, v.get<double>());
    }
}

// A monitor record: each layer's statistics at one step, as a column of the
// heatmaps (layers keep the order they first appear in).
void read_monitor(const Record& r, const json& j, Run& run) {
  const double step = r.required("step");
  r.check(j.contains("layers") && j["layers"].is_array(), "layers", "a list of layer records");
  MonitorTable& t = run.monitor;
  t.steps.push_back(step);
  for (const json& layer : j["layers"]) {
    const Record l(layer, r.where() + " (layers)");
    l.check(layer.is_object() && layer.contains("layer") && layer["layer"].is_string(), "layer",
            "a layer name");
    const std::string name = layer["layer"].get<std::string>();
    if (layer.contains("type") && layer["type"].is_string())
      run.layer_types[name] = layer["type"].get<std::string>();
    auto [at, added] = t.row_of.try_emplace(name, t.layers.size());
    if (added) t.layers.push_back(name);
    for (size_t k = 0; k < kMonitorStats.size(); ++k) {
      auto& values = t.values[k];
      values.resize(t.layers.size());
      values[at->second].resize(t.steps.size(), NAN);
      values[at->second].back() = l.number(kMonitorStats[k].key).value_or(NAN);
    }
  }
}

void read_epoch(const Record& r, Run& run) {
  const double epoch = r.required("epoch"), step = r.required("step");
  add(run.test_loss, step, r.number("test_loss"));
  add(run.train_accuracy, epoch, r.number("train_accuracy"), 100);
  add(run.test_accuracy, epoch, r.number("test_accuracy"), 100);
}

Run read_run(const std::string& dir) {
  const std::string path = dir + "/metrics.jsonl";
  std::ifstream in(path);
  DANLU_CHECK(in, path, ": cannot open (is ", dir, " a run directory of danlu train?)");
  Run run;
  run.name = std::filesystem::path(dir).lexically_normal().filename().string();
  if (run.name.empty() || run.name == ".")
    run.name = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
  std::string line;
  int64_t used = 0;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    const std::string where = path + ":" + std::to_string(n);
    DANLU_CHECK(!j.is_discarded() && j.is_object(), where, ": not a JSON object");
    const Record r(j, where);
    r.check(j.contains("kind") && j["kind"].is_string(), "kind", "a string");
    const std::string kind = j["kind"].get<std::string>();
    // Other kinds (summary, diverged, ...) hold nothing to plot.
    if (kind == "step") read_step(r, run), ++used;
    if (kind == "epoch") read_epoch(r, run), ++used;
    if (kind == "monitor") read_monitor(r, j, run);
  }
  DANLU_CHECK(used > 0, path, ": no records of kind \"step\" or \"epoch\"");
  return run;
}

// "3.layers.0.linear1 (Linear)": the layer's name and, when the monitor
// recorded it, its type.
std::string layer_label(const Run& run, const std::string& layer) {
  const auto type = run.layer_types.find(layer);
  return type == run.layer_types.end() ? layer : layer + " (" + type->second + ")";
}

// Writes the picture, or says why there is nothing to draw.
void write_picture(const std::string& path, const std::vector<Series>& all, PlotOptions o,
               const char* missing) {
  std::vector<Series> series;
  for (const Series& s : all)
    if (!s.y.empty()) series.push_back(s);
  if (series.empty()) {
    std::printf("skipped %s: %s\n", path.c_str(), missing);
    return;
  }
  size_t label = 0;
  for (const Series& s : series) label = std::max(label, s.label.size());
  o.width = std::min(8192, 620 + 7 * int(label));
  o.height = std::min(8192, std::max(360, 120 + 18 * int(series.size())));
  if (write_line_plot(path, series, o)) std::printf("wrote %s\n", path.c_str());
}

// One heatmap per monitor statistic, layers named with their types; a
// statistic no layer has (dead_fraction without ReLUs) is skipped.
void write_heatmaps(const std::string& out, const Run& run, const std::string& format) {
  const MonitorTable& t = run.monitor;
  if (t.steps.empty()) {
    std::printf("skipped the layer heatmaps: no \"monitor\" records (train.monitor.every)\n");
    return;
  }
  for (size_t k = 0; k < kMonitorStats.size(); ++k) {
    Heatmap h;
    h.title = kMonitorStats[k].title, h.log_z = kMonitorStats[k].log, h.x = t.steps;
    h.z_label = kMonitorStats[k].key, h.z_lo = kMonitorStats[k].lo, h.z_hi = kMonitorStats[k].hi;
    for (size_t l = 0; l < t.layers.size(); ++l) {
      std::vector<double> row = t.values[k][l];
      row.resize(t.steps.size(), NAN);
      if (std::none_of(row.begin(), row.end(), [](double v) { return std::isfinite(v); }))
        continue;
      h.rows.push_back(layer_label(run, t.layers[l]));
      h.z.push_back(std::move(row));
    }
    const std::string path = out + "/layers_" + kMonitorStats[k].key + "." + format;
    if (h.rows.empty()) {
      std::printf("skipped %s: no layer has a \"%s\" value\n", path.c_str(), kMonitorStats[k].key);
      continue;
    }
    if (write_heatmap(path, h)) std::printf("wrote %s\n", path.c_str());
  }
}

}  // namespace

void plot_runs(const std::vector<std::string>& dirs, std::string out, const std::string& format) {
  std::vector<Run> runs;
  for (const std::string& d : dirs) runs.push_back(read_run(d));
  if (out.empty()) out = dirs.front();
  std::filesystem::create_directories(out);
  const bool several = runs.size() > 1;
  const auto name = [&](const Run& r, const char* what) {
    return several ? r.name + " " + what : std::string(what);
  };
  // Past two runs, one curve per run (tab10 has ten colours): the training
  // loss, and the test accuracy.
  const bool crowded = runs.size() > 2;
  std::vector<Series> loss, accuracy, lr, norms;
  for (const Run& r : runs) {
    loss.push_back(r.train_loss.series(crowded ? r.name : name(r, "train")));
    if (!crowded) loss.push_back(r.test_loss.series(name(r, "test")));
    if (!crowded) accuracy.push_back(r.train_accuracy.series(name(r, "train")));
    accuracy.push_back(r.test_accuracy.series(crowded ? r.name : name(r, "test")));
    lr.push_back(r.lr.series(several ? r.name : "group 0"));
    if (several) {
      norms.push_back(r.grad_norm.series(r.name));
      continue;
    }
    for (const auto& [layer, c] : r.layer_norms) norms.push_back(c.series(layer_label(r, layer)));
  }
  PlotOptions o;
  // Many runs' losses differ by ratios late in training: a log axis shows them.
  o.x_label = "step", o.y_label = "loss", o.log_y = crowded;
  o.title = crowded ? "training loss (log scale)" : "training and test loss";
  write_picture(out + "/loss." + format, loss, o, "no \"loss\" or \"test_loss\" values");
  // Accuracy in percent on an axis fitted to the curves, where a point matters.
  PlotOptions fitted = o;
  fitted.x_label = "epoch", fitted.y_label = "accuracy (%)";
  fitted.title = crowded ? "test accuracy" : "training and test accuracy";
  fitted.y_from_zero = false, fitted.log_y = false;
  write_picture(out + "/accuracy." + format, accuracy, fitted,
            "no \"train_accuracy\" or \"test_accuracy\" values in epoch records");
  o.x_label = "step", o.y_label = "lr", o.title = "learning rate", o.log_y = false;
  write_picture(out + "/lr." + format, lr, o, "no \"lr\" values in step records");
  o.y_label = "norm", o.log_y = true;
  o.title = several ? "global gradient norm (log scale)" : "gradient norm per layer (log scale)";
  write_picture(out + "/grad_norms." + format, norms, o,
            several ? "no \"grad_norm\" values" : "no \"layer_grad_norms\" values");
  if (!several) write_heatmaps(out, runs.front(), format);
}

void add_plot_command(CLI::App& app) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("png");
  CLI::App* cmd = app.add_subcommand(
      "plot", "learning curves of one or more runs, and one run's layer x step heatmaps");
  cmd->add_option("runs", *dirs, "run directories (each holds metrics.jsonl)")->required();
  cmd->add_option("--out", *out, "where the pictures go (default: the first run directory)");
  cmd->add_option("--format", *format, "png or svg")->check(CLI::IsMember({"png", "svg"}));
  cmd->callback([dirs, out, format] { plot_runs(*dirs, *out, *format); });
}

}  // namespace danlu::cli
