// `danlu init-lab CONFIG [--inits default,xavier_uniform,...] [--steps N]
// [--nonlinearity relu] [--out DIR]`: the config trained for N steps under
// each initialisation from the same seed (train/init_lab.h). Writes to DIR:
//   init_lab.md         the loss at the start and end, and per layer the
//                       activation std and gradient norm at step 1 and N
//   init_lab.csv        every layer's health at step 1 and N, per init
//   loss.csv, loss.png  the training loss at every step, overlaid
//   act_std.png, grad_norm.png   layer x init heatmaps (step 1 and step N)
//   first_conv.png      one image through the first conv under each init
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/plot.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/printf_string.h"
#include "train/data.h"
#include "train/init_lab.h"
#include "train/session.h"

namespace danlu::cli {

namespace {

namespace fs = std::filesystem;

struct InitLabArgs {
  std::string config, out, device = "auto", nonlinearity = "relu";
  std::vector<std::string> inits = {"default", "xavier_uniform", "xavier_normal",
                                    "kaiming_uniform", "kaiming_normal"};
  int64_t steps = 100;
  std::vector<std::string> overrides;
};

std::string number(double v) { return std::isfinite(v) ? printf_string("%.3g", v) : "-"; }

// The layers in the order the first run measured them.
std::vector<std::pair<std::string, std::string>> layers_of(const train::InitLabResult& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const train::LayerHealth& l : r.runs.front().first) out.emplace_back(l.layer, l.type);
  return out;
}

double stat(const std::vector<train::LayerHealth>& health, const std::string& layer,
            double train::LayerHealth::*field) {
  for (const train::LayerHealth& l : health)
    if (l.layer == layer) return l.*field;
  return NAN;
}

std::string markdown(const train::InitLabResult& r, const InitLabArgs& a) {
  std::ostringstream md;
  const int64_t n = a.steps;
  // A single batch's loss is noisy: the mean over the last tenth reads better.
  const int64_t tail = std::max<int64_t>(1, n / 10);
  md << "# init-lab: " << a.config << ", " << n << " steps from the same seed\n\n"
     << "| init | loss at step 1 | loss at step " << n << " | mean loss, last " << tail
     << " steps | " << r.first_conv << " output std (the picture) |\n|---|---:|---:|---:|---:|\n";
  for (const train::InitRun& run : r.runs) {
    double sum = 0;
    for (int64_t i = n - tail; i < n && !run.diverged; ++i) sum += run.losses[size_t(i)];
    const std::string diverged = "diverged at step " + std::to_string(run.losses.size());
    md << "| " << run.init << " | " << number(run.losses.front()) << " | "
       << (run.diverged ? diverged : number(run.losses.back())) << " | "
       << (run.diverged ? "-" : number(sum / double(tail))) << " | "
       << (r.first_conv.empty() ? "-" : number(run.maps_std)) << " |\n";
  }
  const auto table = [&](const char* title, double train::LayerHealth::*field, bool last) {
    md << "\n## " << title << (last ? " after " + std::to_string(n) + " steps" : " at step 1")
       << "\n\n| layer |";
    for (const train::InitRun& run : r.runs) md << ' ' << run.init << " |";
    md << "\n|---|";
    for (size_t i = 0; i < r.runs.size(); ++i) md << "---:|";
    md << '\n';
    for (const auto& [layer, type] : layers_of(r)) {
      md << "| " << layer << " (" << type << ") |";
      for (const train::InitRun& run : r.runs)
        md << ' ' << number(stat(last ? run.last : run.first, layer, field)) << " |";
      md << '\n';
    }
  };
  table("Activation std", &train::LayerHealth::act_std, false);
  table("Gradient norm", &train::LayerHealth::grad_norm, false);
  table("Activation std", &train::LayerHealth::act_std, true);
  table("Gradient norm", &train::LayerHealth::grad_norm, true);
  return md.str();
}

std::string health_csv(const train::InitLabResult& r) {
  std::ostringstream csv;
  csv.precision(9);
  csv << "init,step,layer,type,act_mean,act_std,dead_fraction,grad_norm,weight_norm,update_ratio\n";
  const auto cell = [](double v) { return std::isfinite(v) ? printf_string("%.9g", v) : ""; };
  const auto rows = [&](const std::string& init, size_t step, const std::vector<train::LayerHealth>& health) {
    for (const train::LayerHealth& l : health)
      csv << init << ',' << step << ',' << l.layer << ',' << l.type << ',' << cell(l.act_mean) << ','
          << cell(l.act_std) << ',' << cell(l.dead_fraction) << ',' << cell(l.grad_norm) << ','
          << cell(l.weight_norm) << ',' << cell(l.update_ratio) << '\n';
  };
  for (const train::InitRun& run : r.runs) {
    rows(run.init, 1, run.first);
    if (run.losses.size() > 1) rows(run.init, run.losses.size(), run.last);
  }
  return csv.str();
}

std::string loss_csv(const train::InitLabResult& r) {
  std::ostringstream csv;
  csv << "step";
  size_t steps = 0;
  for (const train::InitRun& run : r.runs) csv << ',' << run.init, steps = std::max(steps, run.losses.size());
  csv << '\n';
  for (size_t i = 0; i < steps; ++i) {
    csv << i + 1;
    for (const train::InitRun& run : r.runs)
      csv << ',' << (i < run.losses.size() ? printf_string("%.9g", run.losses[i]) : "");
    csv << '\n';
  }
  return csv.str();
}

// Layer x init heatmap of one statistic: for each init a column at step 1
// and one at the last step.
void write_layer_heatmap(const std::string& path, const train::InitLabResult& r,
                         double train::LayerHealth::*field, const std::string& what,
                         int64_t steps) {
  Heatmap h;
  h.title = what + " per layer at step 1 and step " + std::to_string(steps) + " (colour: log10)";
  h.z_label = what, h.log_z = true;
  for (const train::InitRun& run : r.runs) {
    h.columns.push_back(run.init + " @1");
    h.columns.push_back(run.init + " @" + std::to_string(run.losses.size()));
  }
  for (const auto& [layer, type] : layers_of(r)) {
    std::vector<double> row;
    for (const train::InitRun& run : r.runs) {
      row.push_back(stat(run.first, layer, field));
      row.push_back(stat(run.last, layer, field));
    }
    if (std::none_of(row.begin(), row.end(), [](double v) { return v > 0 && std::isfinite(v); }))
      continue;
    h.rows.push_back(layer + " (" + type + ")");
    h.z.push_back(std::move(row));
  }
  if (h.rows.empty()) {
    std::printf("skipped %s: no layer has a %s\n", path.c_str(), what.c_str());
    return;
  }
  if (write_heatmap(path, h)) std::printf("wrote %s\n", path.c_str());
}

// The picture and each init's maps, all maps on one grey scale (symmetric
// about 0, so that a weaker init shows as fainter maps).
void write_first_conv(const std::string& path, const train::InitLabResult& r) {
  if (r.first_conv.empty()) {
    std::printf("skipped %s: the model has no Conv2d\n", path.c_str());
    return;
  }
  double bound = 0;
  for (const train::InitRun& run : r.runs)
    for (const train::Picture& p : run.maps)
      for (float v : p.pixels) bound = std::max(bound, double(std::abs(v)));
  const auto image = [](const train::Picture& p, double lo, double hi) {
    return Image{int(p.height), int(p.width), p.pixels, lo, hi};
  };
  const auto [lo, hi] = std::minmax_element(r.image.pixels.begin(), r.image.pixels.end());
  ImageGrid g;
  g.title = printf_string("one image (class %lld) through the first conv; one grey scale, +-%.3g",
                          static_cast<long long>(r.label), bound);
  g.column_labels.push_back("input");
  for (size_t c = 0; c < r.runs.front().maps.size(); ++c)
    g.column_labels.push_back("map " + std::to_string(c));
  for (const train::InitRun& run : r.runs) {
    g.row_labels.push_back(run.init + " (std " + number(run.maps_std) + ")");
    std::vector<Image> row = {image(r.image, *lo, *hi)};
    for (const train::Picture& p : run.maps) row.push_back(image(p, -bound, bound));
    g.cells.push_back(std::move(row));
  }
  if (write_image_grid(path, g)) std::printf("wrote %s\n", path.c_str());
}

void run(const InitLabArgs& a) {
  std::vector<train::InitChoice> inits;
  for (const std::string& spec : a.inits) inits.push_back(train::parse_init_choice(spec, a.nonlinearity));
  const train::TrainConfig config = train::load_config(a.config, a.overrides);
  std::string note;
  const Device device = train::pick_device(a.device, note);
  const io::ImageDataset data = train::load_split(config.data, /*train=*/true);
  std::printf("danlu init-lab %s: %s, %zu initialisations x %lld steps\n", a.config.c_str(),
              note.c_str(), inits.size(), static_cast<long long>(a.steps));
  std::fflush(stdout);
  const train::InitLabResult r = train::run_init_lab(config, device, data, {inits, a.steps});

  const fs::path out = a.out.empty() ? fs::path("runs") / (fs::path(a.config).stem().string() + "-init-lab")
                                     : fs::path(a.out);
  fs::create_directories(out);
  const auto save = [&](const std::string& name, const std::string& text) {
    io::replace_file((out / name).string(), [&](io::AtomicWriter& f) { f.write(text); });
  };
  const std::string md = markdown(r, a);
  save("init_lab.md", md);
  save("init_lab.csv", health_csv(r));
  save("loss.csv", loss_csv(r));
  std::printf("%s", md.substr(0, md.find("\n## ")).c_str());
  std::printf("\nwrote %s, init_lab.csv and loss.csv\n", (out / "init_lab.md").string().c_str());

  std::vector<Series> losses;
  for (const train::InitRun& run : r.runs) {
    Series s{run.init, run.losses, {}};
    for (size_t i = 0; i < run.losses.size(); ++i) s.x.push_back(double(i + 1));
    losses.push_back(std::move(s));
  }
  PlotOptions o;
  o.width = 720, o.height = 360, o.log_y = true;
  o.x_label = "step", o.y_label = "training loss", o.title = "training loss per initialisation (log scale)";
  const std::string loss_png = (out / "loss.png").string();
  if (write_line_plot(loss_png, losses, o)) std::printf("wrote %s\n", loss_png.c_str());
  write_layer_heatmap((out / "act_std.png").string(), r, &train::LayerHealth::act_std,
                      "activation std", a.steps);
  write_layer_heatmap((out / "grad_norm.png").string(), r, &train::LayerHealth::grad_norm,
                      "gradient norm", a.steps);
  write_first_conv((out / "first_conv.png").string(), r);
}

}  // namespace

void add_init_lab_command(CLI::App& app) {
  auto a = std::make_shared<InitLabArgs>();
  CLI::App* cmd = app.add_subcommand(
      "init-lab", "train a few steps under each initialisation from the same seed and compare");
  cmd->add_option("config", a->config, "training config")->required();
  cmd->add_option("--inits", a->inits,
                  "comma-separated: default, xavier_uniform, xavier_normal, kaiming_uniform, "
                  "kaiming_normal, normal@STD, uniform@A, trunc_normal@STD")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--steps", a->steps, "training steps per initialisation")
      ->check(kInt64)
      ->capture_default_str();
  cmd->add_option("--nonlinearity", a->nonlinearity,
                  "what kaiming_* initialises for: relu, leaky_relu, tanh, sigmoid, selu, linear")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "output folder (default runs/<config>-init-lab)");
  cmd->add_option("--device", a->device, "auto, cpu, cuda or cuda:N");
  add_set_option(*cmd, a->overrides);
  cmd->callback([a] { run(*a); });
}

}  // namespace danlu::cli
