// Checkpoint layout and the checks a resume makes before it trusts a file.
#include "train/checkpoint.h"

#include <stdexcept>
#include <utility>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/random.h"
#include "train/distributed.h"
#include "train/resume_check.h"

namespace danlu::train {

using nlohmann::json;

namespace {

constexpr const char* kFormat = "danlu.checkpoint.v1";
const std::string kModel = "model.", kOptimizer = "optimizer.";

json progress_json(const Progress& p) {
  return {{"step", p.step},
          {"epoch", p.epoch},
          {"batch", p.batch},
          {"epoch_loss_sum", p.epoch_loss_sum},
          {"epoch_correct", p.epoch_correct},
          {"epoch_seen", p.epoch_seen},
          {"best_metric", std::isnan(p.best_metric) ? json() : json(p.best_metric)},
          {"best_epoch", p.best_epoch},
          {"evals_without_improvement", p.evals_without_improvement}};
}

// A count as written by progress_json: an integer, not 1e12 or "3".
int64_t count(const json& j, const char* key) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) throw std::invalid_argument(std::string(key) + " is not an integer");
  return v.get<int64_t>();
}

// The fields' types; check_resume_progress checks their ranges against the data.
Progress progress_from(const json& j) {
  Progress p;
  p.step = count(j, "step");
  p.epoch = count(j, "epoch");
  p.batch = count(j, "batch");
  p.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
  p.epoch_correct = count(j, "epoch_correct");
  p.epoch_seen = count(j, "epoch_seen");
  if (!j.at("best_metric").is_null()) p.best_metric = j.at("best_metric").get<double>();
  p.best_epoch = count(j, "best_epoch");
  p.evals_without_improvement = count(j, "evals_without_improvement");
  return p;
}

// The RNG's (seed, offset); an offset beyond any real run's draws (2^52) is damage.
std::pair<uint64_t, uint64_t> rng_from(const json& j, const std::string& path) {
  constexpr uint64_t kMaxOffset = uint64_t(1) << 52;
  const bool ok = j.is_object() && j.contains("seed") && j.contains("offset") &&
                  j["seed"].is_number_unsigned() && j["offset"].is_number_unsigned() &&
                  j["offset"].get<uint64_t>() <= kMaxOffset;
  DANLU_CHECK(ok, path, ": damaged checkpoint (rng ", j.dump(),
              ": expected {\"seed\": N, \"offset\": N} with an offset up to 2^52); use an "
              "earlier checkpoint");
  return {j["seed"].get<uint64_t>(), j["offset"].get<uint64_t>()};
}

// The data-parallel ranks that trained a checkpoint (1 when the metadata
// predates them): the global batch and each rank's data follow from it.
void check_ranks(const std::map<std::string, std::string>& meta, const std::string& path) {
  auto it = meta.find("ranks");
  const std::string saved = it == meta.end() ? "1" : it->second;
  const std::string now = std::to_string(world().size());
  DANLU_CHECK(saved == now, path, ": saved by a run of ", saved, " data-parallel ranks, resumed ",
              "with ", now, "; resume it with ", saved == "1" ? "one process (no mpirun)"
                                                            : "mpirun -np " + saved);
}

json parse_meta(const std::map<std::string, std::string>& meta, const std::string& key,
                const std::string& path) {
  auto it = meta.find(key);
  DANLU_CHECK(it != meta.end(), path, ": not a danlu training checkpoint (no \"", key,
              "\" in its metadata)");
  json j = json::parse(it->second, nullptr, false);
  DANLU_CHECK(!j.is_discarded(), path, ": damaged checkpoint (metadata \"", key,
              "\" is not valid JSON)");
  return j;
}

}  // namespace

void save_checkpoint(const std::string& path, const Session& s, const Progress& progress) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : s.model->state_dict()) tensors.emplace_back(kModel + name, t);
  const optim::OptimizerState opt = s.optimizer->state_dict();
  for (const auto& [name, t] : opt.tensors) tensors.emplace_back(kOptimizer + name, t);
  const Generator& rng = default_generator();
  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"config", s.config.json.dump()},
      {"optimizer", opt.meta.dump()},
      {"scheduler", s.scheduler ? s.scheduler->state_dict().dump() : "null"},
      {"rng", json{{"seed", rng.seed()}, {"offset", rng.offset()}}.dump()},
      {"progress", progress_json(progress).dump()},
      {"ranks", std::to_string(world().size())}};
  io::save_safetensors(path, tensors, meta, /*checksum=*/true);
}

Resumed load_checkpoint(const std::string& path, Session& s, int64_t steps_per_epoch) {
  const io::SafetensorsFile file = io::load_safetensors(path);
  auto format = file.metadata.find("format");
  DANLU_CHECK(format != file.metadata.end(), path,
              ": not a danlu training checkpoint (no \"format\" in its metadata)");
  DANLU_CHECK(format->second == kFormat, path, ": checkpoint format \"", format->second,
              "\" is not ", kFormat);
  Resumed resumed;
  resumed.changes = check_resume_config(parse_meta(file.metadata, "config", path), s.config.json, path);
  const json opt_meta = parse_meta(file.metadata, "optimizer", path);
  const json sched_state = parse_meta(file.metadata, "scheduler", path);
  const auto [seed, offset] = rng_from(parse_meta(file.metadata, "rng", path), path);
  Progress& progress = resumed.progress;
  try {
    progress = progress_from(parse_meta(file.metadata, "progress", path));
  } catch (const std::exception& e) {  // a missing key, a wrong type
    DANLU_FAIL(path, ": damaged checkpoint (progress: ", e.what(), "); use an earlier checkpoint");
  }
  check_ranks(file.metadata, path);
  check_resume_progress(progress, steps_per_epoch, s.config.batch_size * world().size(), path);
  DANLU_CHECK(sched_state.is_null() == !s.scheduler, path, ": the checkpoint was saved ",
              sched_state.is_null() ? "without" : "with", " a scheduler but the config has ",
              s.scheduler ? "one" : "none");

  nn::StateDict model;
  optim::OptimizerState opt{{}, opt_meta};
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind(kModel, 0) == 0) model.insert(name.substr(kModel.size()), t);
    else if (name.rfind(kOptimizer, 0) == 0) opt.tensors[name.substr(kOptimizer.size())] = t;
    else DANLU_FAIL(path, ": unexpected tensor \"", name, "\" in a danlu checkpoint");
  }
  // A mismatch throws before training starts (the session is then dropped).
  try {
    s.model->load_state_dict(model, /*strict=*/true);
    s.optimizer->load_state_dict(opt);
    if (s.scheduler) s.scheduler->load_state_dict(sched_state);
  } catch (const Error& e) {
    DANLU_FAIL(path, ": does not fit this config: ", e.what());
  } catch (const json::exception& e) {
    DANLU_FAIL(path, ": damaged checkpoint (", e.what(), ")");
  }
  default_generator().set_state(seed, offset);
  return resumed;
}

nn::StateDict read_weights(const std::string& path) {
  const io::SafetensorsFile file = io::load_safetensors(path);
  const bool checkpoint = file.metadata.count("format") > 0;
  nn::StateDict dict;
  for (const auto& [name, t] : file.tensors) {
    if (!checkpoint) dict.insert(name, t);
    else if (name.rfind(kModel, 0) == 0) dict.insert(name.substr(kModel.size()), t);
  }
  return dict;
}

void load_weights(const std::string& path, nn::Module& model) {
  const nn::StateDict dict = read_weights(path);
  try {
    model.load_state_dict(dict, /*strict=*/true);
  } catch (const Error& e) {
    DANLU_FAIL(path, ": ", e.what());
  }
}

}  // namespace danlu::train
