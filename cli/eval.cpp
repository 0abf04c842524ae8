// `danlu eval CONFIG --weights CKPT`: the test split's loss, accuracy,
// per-class accuracy and confusion matrix for a trained model; a warning
// first when the weights hold NaN or inf.
#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "engine/error.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/evaluate.h"

namespace danlu::cli {

namespace {

struct EvalArgs {
  std::string config, weights, device = "auto";
  std::vector<std::string> overrides;
};

void print(const train::EvalResult& r, const std::vector<std::string>& names) {
  std::printf("test loss %.4f  accuracy %.2f%%  (%lld examples)\n\n", r.loss, 100 * r.accuracy,
              static_cast<long long>(r.count));
  const std::vector<double> per_class = r.per_class_accuracy();
  std::printf("%-12s %9s   confusion matrix (rows: true class, columns: predicted)\n", "class",
              "accuracy");
  for (size_t c = 0; c < r.confusion.size(); ++c) {
    const std::string name = c < names.size() ? names[c] : std::to_string(c);
    // A class without test examples (data.classes leaves it out) has no accuracy.
    if (std::isfinite(per_class[c]))
      std::printf("%-12s %8.2f%%  ", name.c_str(), 100 * per_class[c]);
    else
      std::printf("%-12s %9s  ", name.c_str(), "-");
    for (int64_t n : r.confusion[c]) std::printf(" %5lld", static_cast<long long>(n));
    std::printf("\n");
  }
}

// Weights with NaN or inf come from a diverged run: every prediction is
// then meaningless, so the tensors are named before the numbers.
void warn_non_finite(const nn::Module& model, const std::string& weights) {
  const std::vector<std::string> names = train::non_finite_tensors(model);
  if (names.empty()) return;
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  std::fprintf(stderr,
               "danlu eval: warning: %s holds NaN or inf in %zu tensor(s): %s; the run that wrote "
               "it diverged (evaluate an earlier checkpoint, or lower the learning rate)\n",
               weights.c_str(), names.size(), list.c_str());
}

void run(const EvalArgs& a) {
  const train::TrainConfig config = train::load_config(a.config, a.overrides);
  std::string note;
  const Device device = train::pick_device(a.device, note);
  const io::ImageDataset test = train::load_split(config.data, /*train=*/false);
  auto model = train::make_model(config, device, train::sample_shape(test));
  train::load_weights(a.weights, *model);
  warn_non_finite(*model, a.weights);
  train::check_labels(test, config, /*train=*/false, *model);
  std::printf("danlu eval %s with %s: %s\n", a.config.c_str(), a.weights.c_str(), note.c_str());
  print(train::evaluate(*model, train::eval_loader(test, config, device)),
        train::class_names(config.data.dataset));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "evaluate trained weights on the test split");
  cmd->add_option("config", args->config, "the training config of the model")->required();
  cmd->add_option("--weights", args->weights, "a checkpoint or state-dict safetensors file")
      ->required();
  cmd->add_option("--device", args->device, "auto, cpu, cuda or cuda:N");
  add_set_option(*cmd, args->overrides);
  cmd->callback([args] { run(*args); });
}

}  // namespace danlu::cli
