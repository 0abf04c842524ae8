// `danlu plot RUN_DIR [RUN_DIR...] [--out DIR]`: learning curves from each
// run's metrics.jsonl as PNGs: loss.png (train per logged step, test per
// evaluation), accuracy.png (per epoch, in percent), lr.png, grad_norms.png (per layer
// for one run; the global norm per run when several are overlaid).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/plot.h"
#include "engine/error.h"

namespace danlu::cli {

namespace {

using nlohmann::json;

struct Run {
  std::string name;
  std::vector<json> steps, epochs;
};

Run read_run(const std::string& dir) {
  const std::string path = dir + "/metrics.jsonl";
  std::ifstream in(path);
  DANLU_CHECK(in, path, ": cannot open (is ", dir, " a run directory of danlu train?)");
  Run run{std::filesystem::path(dir).lexically_normal().filename().string(), {}, {}};
  if (run.name.empty() || run.name == ".")
    run.name = std::filesystem::absolute(dir).lexically_normal().parent_path().filename().string();
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const json record = json::parse(line, nullptr, false);
    DANLU_CHECK(!record.is_discarded() && record.is_object(), path, ":", n,
                ": not a JSON object");
    const std::string kind = record.value("kind", "");
    if (kind == "step") run.steps.push_back(record);
    if (kind == "epoch") run.epochs.push_back(record);
  }
  DANLU_CHECK(!run.steps.empty() || !run.epochs.empty(), path, ": no step or epoch records");
  return run;
}

// y = record[key] against x = record[x_key] for the records that have both.
Series curve(const std::string& label, const std::vector<json>& records, const std::string& x_key,
             const std::string& key, double scale = 1) {
  Series s{label, {}, {}};
  for (const json& r : records)
    if (r.contains(key) && r.contains(x_key) && r[key].is_number())
      s.x.push_back(r[x_key].get<double>()), s.y.push_back(scale * r[key].get<double>());
  return s;
}

void write_png(const std::string& path, const std::vector<Series>& all, PlotOptions o) {
  std::vector<Series> series;
  for (const Series& s : all)
    if (!s.y.empty()) series.push_back(s);
  if (series.empty()) return;
  o.width = 720, o.height = std::max(360, 200 + 20 * int(series.size()));
  const std::vector<uint8_t> bytes = line_plot_png(series, o);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  std::printf("wrote %s\n", path.c_str());
}

void plot(const std::vector<std::string>& dirs, std::string out) {
  std::vector<Run> runs;
  for (const std::string& d : dirs) runs.push_back(read_run(d));
  if (out.empty()) out = dirs.front();
  std::filesystem::create_directories(out);
  const bool several = runs.size() > 1;
  const auto name = [&](const Run& r, const char* what) {
    return several ? r.name + " " + what : std::string(what);
  };
  std::vector<Series> loss, accuracy, lr, norms;
  for (const Run& r : runs) {
    loss.push_back(curve(name(r, "train"), r.steps, "step", "loss"));
    loss.push_back(curve(name(r, "test"), r.epochs, "step", "test_loss"));
    accuracy.push_back(curve(name(r, "train"), r.epochs, "epoch", "train_accuracy", 100));
    accuracy.push_back(curve(name(r, "test"), r.epochs, "epoch", "test_accuracy", 100));
    Series rate{several ? r.name : "group 0", {}, {}};
    for (const json& s : r.steps)
      if (s.contains("lr") && s["lr"].is_array() && !s["lr"].empty())
        rate.x.push_back(s["step"].get<double>()), rate.y.push_back(s["lr"][0].get<double>());
    lr.push_back(rate);
    if (several) {
      norms.push_back(curve(r.name, r.steps, "step", "grad_norm"));
      continue;
    }
    std::map<std::string, Series> per_layer;
    for (const json& s : r.steps) {
      const json layers = s.value("layer_grad_norms", json::object());
      for (const auto& [layer, v] : layers.items()) {
        Series& c = per_layer.try_emplace(layer, Series{layer, {}, {}}).first->second;
        c.x.push_back(s["step"].get<double>()), c.y.push_back(v.get<double>());
      }
    }
    for (auto& [layer, c] : per_layer) norms.push_back(c);
  }
  PlotOptions o;
  o.x_label = "step", o.y_label = "loss", o.title = "training and test loss";
  write_png(out + "/loss.png", loss, o);
  // Accuracy in percent on an axis fitted to the curves, where a point matters.
  PlotOptions fitted = o;
  fitted.x_label = "epoch", fitted.y_label = "accuracy (%)";
  fitted.title = "training and test accuracy", fitted.y_from_zero = false;
  write_png(out + "/accuracy.png", accuracy, fitted);
  o.x_label = "step", o.y_label = "lr", o.title = "learning rate";
  write_png(out + "/lr.png", lr, o);
  o.y_label = "norm", o.log_y = true;
  o.title = several ? "global gradient norm (log scale)" : "gradient norm per layer (log scale)";
  write_png(out + "/grad_norms.png", norms, o);
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("plot", "learning curves of one or more runs as PNGs");
  cmd->add_option("runs", *dirs, "run directories (each holds metrics.jsonl)")->required();
  cmd->add_option("--out", *out, "where the PNGs go (default: the first run directory)");
  cmd->callback([dirs, out] { plot(*dirs, *out); });
}

}  // namespace danlu::cli
