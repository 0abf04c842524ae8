// run_init_lab: per initialisation, a session from the same seed, the first
// conv's maps of one image under the initial weights, then `steps` training
// steps with the monitor on the first and the last.
#include "train/init_lab.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/data_loader.h"
#include "engine/printf_string.h"
#include "layers/sequential.h"
#include "train/data.h"
#include "train/session.h"
#include "train/step.h"

namespace danlu::train {

using nlohmann::json;

namespace {

const std::vector<std::string> kNonlinearities = {"relu", "leaky_relu", "tanh", "sigmoid", "selu",
                                                  "linear"};
const char* const kAllowed =
    "default, xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, normal@STD, "
    "uniform@A, trunc_normal@STD";

// The number after '@' in `spec`, which must be finite and > 0.
double parameter(const std::string& spec, size_t at) {
  const std::string text = spec.substr(at + 1);
  size_t used = 0;
  double v = NAN;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  DANLU_CHECK(used == text.size() && std::isfinite(v) && v > 0, "--inits: \"", spec,
              "\": expected a number > 0 after '@', got \"", text, "\"");
  return v;
}

// The first batch of epoch 0: the batch every run starts with.
io::Batch first_batch(const io::DataLoader& loader) {
  std::optional<io::Batch> batch = loader.epoch(0).next();
  DANLU_CHECK(batch, "init-lab: the training data has no full batch; lower batch_size");
  return *batch;
}

// The output of the model's first Conv2d for `image` (1, C, H, W), up to
// `keep` channels, with the std over all channels.
void first_conv_maps(nn::Sequential& model, const Tensor& image, int64_t keep, InitRun& run,
                     std::string& layer) {
  Tensor out;
  {
    NoGradGuard no_grad;
    const nn::OutputTap tap([&](const nn::Module& child, const Tensor& output) {
      if (!out.defined() && child.name() == "Conv2d") out = output;
    });
    model(image);
  }
  if (!out.defined()) return;
  layer = "Conv2d";
  const std::vector<double> v = out.to_vector();  // (1, C, H, W)
  const int64_t channels = out.size(1), h = out.size(2), w = out.size(3);
  double sum = 0, squares = 0;
  for (double x : v) sum += x, squares += x * x;
  const double mean = sum / double(v.size());
  run.maps_std = std::sqrt(std::max(0.0, squares / double(v.size()) - mean * mean));
  for (int64_t c = 0; c < std::min(channels, keep); ++c) {
    Picture p{h, w, {}};
    p.pixels.assign(v.begin() + c * h * w, v.begin() + (c + 1) * h * w);
    run.maps.push_back(std::move(p));
  }
}

}  // namespace

InitChoice parse_init_choice(const std::string& spec, const std::string& nonlinearity) {
  DANLU_CHECK(std::find(kNonlinearities.begin(), kNonlinearities.end(), nonlinearity) !=
                  kNonlinearities.end(),
              "--nonlinearity: expected relu, leaky_relu, tanh, sigmoid, selu or linear, got \"",
              nonlinearity, "\"");
  const size_t at = spec.find('@');
  const std::string scheme = spec.substr(0, at);
  if (at == std::string::npos) {
    if (scheme == "default" || scheme == "xavier_uniform" || scheme == "xavier_normal")
      return {spec, {{"scheme", scheme}}};
    if (scheme == "kaiming_uniform" || scheme == "kaiming_normal")
      return {spec, {{"scheme", scheme}, {"mode", "fan_in"}, {"nonlinearity", nonlinearity}}};
  } else {
    if (scheme == "normal") return {spec, {{"scheme", "normal"}, {"std", parameter(spec, at)}}};
    if (scheme == "uniform") {
      const double a = parameter(spec, at);
      return {spec, {{"scheme", "uniform"}, {"a", -a}, {"b", a}}};
    }
    if (scheme == "trunc_normal") {
      const double s = parameter(spec, at);
      return {spec, {{"scheme", "trunc_normal"}, {"std", s}, {"a", -2 * s}, {"b", 2 * s}}};
    }
  }
  throw Error(printf_string("--inits: \"%s\": expected one of %s", spec.c_str(), kAllowed));
}

InitLabResult run_init_lab(const TrainConfig& config, Device device, const io::ImageDataset& data,
                           const InitLabOptions& o) {
  DANLU_CHECK(o.steps >= 1 && o.steps <= 100'000, "--steps: expected 1 to 100000, got ", o.steps);
  DANLU_CHECK(!o.inits.empty(), "--inits: name at least one initialisation");
  InitLabResult result;
  const io::DataLoader loader = train_loader(data, config, device);
  const io::Batch first = first_batch(loader);
  const Shape& shape = first.images.shape();  // (N, C, H, W)
  const int64_t channels = shape[1], h = shape[2], w = shape[3];
  std::vector<double> pixels = first.images.to_vector();
  pixels.resize(size_t(channels * h * w));
  const Tensor image =
      Tensor::from_vector(pixels, Shape({1, channels, h, w})).to(device);
  result.image = {h, w, std::vector<float>(pixels.begin(), pixels.begin() + h * w)};
  result.label = int64_t(first.labels.to_vector()[0]);

  for (const InitChoice& choice : o.inits) {
    json user = config.json;
    user["model"]["init"]["Conv2d"] = choice.rule;
    user["model"]["init"]["Linear"] = choice.rule;
    const TrainConfig c = parse_config(user);
    Session session = make_session(c, device, sample_shape(data), loader.size());
    InitRun run;
    run.init = choice.name;
    first_conv_maps(*session.model, image, o.maps, run, result.first_conv);

    io::Epoch batches = loader.epoch(0);
    for (int64_t step = 1, epoch = 0; step <= o.steps; ++step) {
      std::optional<io::Batch> batch = batches.next();
      if (!batch) batches = loader.epoch(++epoch), batch = batches.next();
      const bool monitor = step == 1 || step == o.steps;
      StepResult r = train_step(session, *batch, {}, monitor);
      const double loss = r.loss.item();
      run.losses.push_back(loss);
      if (step == 1) run.first = r.health;
      if (monitor) run.last = std::move(r.health);
      if (!std::isfinite(loss)) {
        run.diverged = true;
        break;
      }
    }
    result.runs.push_back(std::move(run));
  }
  return result;
}

}  // namespace danlu::train
