// The training loop: one optimizer step per batch, the scheduler stepped
// every iteration, evaluation and checkpoints at epoch ends, and every way a
// run can end (finished, early-stopped, interrupted, diverged) leaving a
// consistent RUN_DIR behind.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/profile.h"
#include "engine/random.h"
#include "engine/sync_check.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/evaluate.h"
#include "train/finetune.h"
#include "train/health_warnings.h"
#include "train/memory_advice.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/step.h"
#include "train/step_graph.h"
#include "train/sync_report.h"

namespace danlu::train {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// "layer1.0.conv1.weight" -> "layer1.0.conv1": the gradient norm per layer.
std::string layer_of(const std::string& parameter) {
  const size_t dot = parameter.rfind('.');
  return dot == std::string::npos ? parameter : parameter.substr(0, dot);
}

// Training from NaN/Inf weights can only diverge, and the message would
// blame the learning rate; name the tensor and where it came from instead.
void check_finite_weights(const nn::Module& model, const std::string& source) {
  for (const auto& [name, t] : model.state_dict()) {
    if (t.dtype() == DType::i64) continue;  // counters such as BatchNorm's num_batches_tracked
    const Tensor host = t.to(Device::cpu()).to(DType::f64);
    const double* v = static_cast<const double*>(host.raw_data());
    for (int64_t i = 0; i < host.numel(); ++i)
      DANLU_CHECK(std::isfinite(v[i]), source, ": weight tensor '", name, "' holds ",
                  std::isnan(v[i]) ? "NaN" : "Inf", " (element ", i,
                  "); training cannot start from it: use an earlier checkpoint or other weights");
  }
}

// Losses and accuracy since the last log record: `seen` images read back so
// far, `images` trained (ahead of `seen` between two reads on a GPU).
struct Interval {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, images = 0;
  Clock::time_point start = Clock::now();
};

// Rank 0 claims the run directory (train/run_dir.h); the other ranks wait
// until it has, so none reads a checkpoint that --overwrite removes.
std::unique_ptr<RunDirectory> claim_run_dir(const RunOptions& options) {
  std::unique_ptr<RunDirectory> dir;
  if (is_writer())
    dir = std::make_unique<RunDirectory>(options.run_dir,
                                         !options.resume.empty() ? ExistingRun::continue_
                                         : options.overwrite     ? ExistingRun::overwrite
                                                                 : ExistingRun::refuse);
  world().barrier();
  return dir;
}

Shard this_shard() { return {world().rank(), world().size()}; }

// A step's loss summed over its images, correct predictions and images,
// over every rank of a data-parallel job.
struct StepCounts {
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
};

// A step whose loss and predictions are still on the device.
struct PendingStep {
  int64_t step;  // 1-based
  std::vector<double> lrs;  // the rates it trained with, per param group
  Tensor loss, predicted, labels;
};

class Trainer {
 public:
  Trainer(const TrainConfig& config, Device device, const RunOptions& options)
      : options_(options),
        run_dir_(claim_run_dir(options)),
        train_data_(load_split(config.data, true)),
        test_data_(load_split(config.data, false)),
        train_(train_loader(train_data_, config, device, this_shard())),
        test_(eval_loader(test_data_, config, device, this_shard())),
        session_(make_session(config, device, sample_shape(train_data_), train_.size())),
        config_(session_.config) {
    if (device.is_cuda()) reset_peak_memory(device);
    manual_seed(config.seed);  // dropout's stream
    total_epochs_ = config_.epochs > 0
                        ? config_.epochs
                        : (config_.max_steps + train_.size() - 1) / train_.size();
    // A label beyond the model's classes would index past the logits.
    check_labels(train_data_, config_, /*train=*/true, *session_.model);
    check_labels(test_data_, config_, /*train=*/false, *session_.model);
    if (!options.resume.empty()) resume();
    // The run header: what the pretrained weights loaded, what was scaled and why.
    for (const json* record : {&session_.pretrained, &session_.lr_scaling})
      if (!record->is_null()) std::printf("%s\n", (*record)["text"].get<std::string>().c_str());
    if (const std::string parallel = data_parallel_summary(device); !parallel.empty())
      std::printf("%s\n", parallel.c_str());
    if (device.is_cuda() && config.data.on_device)
      std::printf("data: %s\n", train_.resident() ? "on the GPU as bytes; batches are gathered and "
                                                     "augmented there"
                                                   : ("on the host: " + train_.on_device_note()).c_str());
    if (session_.graph)
      std::printf("CUDA graph: on: the forward and backward are captured after %d steps of a "
                  "batch shape and replayed (\"cuda_graph\": false turns it off)\n",
                  StepGraph::kWarmSteps);
    broadcast_model(*session_.model, world());  // every rank starts from rank 0's weights
    check_finite_weights(*session_.model, !options.resume.empty()     ? options.resume
                                          : !config.pretrained.empty() ? config.pretrained
                                                                       : "the initial weights");
    first_step_ = progress_.step;
    // Written only now that a resume is validated, and crash-safely, by rank 0.
    if (is_writer()) {
      const std::string text = config_.json.dump(2) + '\n';
      io::replace_file(path("config.json"), [&](io::AtomicWriter& file) { file.write(text); });
      metrics_ = MetricsLog(path("metrics.jsonl"));
      // A resumed run keeps its first record: the checkpoint holds the scaled rates.
      if (options.resume.empty())
        for (const json* record : {&session_.pretrained, &session_.lr_scaling})
          if (!record->is_null()) metrics_.write(*record);
    }
  }

  // Out of memory anywhere in training names what the model takes (train/memory_advice.h).
  RunSummary run() {
    return explain_out_of_memory_in(*session_.model, session_.optimizer.get(), session_.device,
                                    config_.batch_size, [&] { return train_to_the_end(); });
  }

 private:
  RunSummary train_to_the_end() {
    start_ = Clock::now();
    ProgressLine line(options_.interactive, total_epochs_, train_.size());
    while (progress_.epoch < total_epochs_ && !steps_done()) {
      unfreeze_when_due();
      line.start_epoch(progress_.epoch, progress_.batch);
      if (!train_epoch(line)) break;
      if (progress_.batch < train_.size()) break;  // max_steps ended it early
      line.end_epoch();
      if (!end_epoch()) break;
    }
    if (summary_.end == RunEnd::finished && progress_.batch > 0) {
      line.end_epoch();  // max_steps ended training inside an epoch
      evaluate_now();
      save("last.safetensors");
    }
    return finish(seconds_since(start_));
  }

  // Restores the checkpoint; a finished run has nothing to continue.
  void resume() {
    const Resumed r = load_checkpoint(options_.resume, session_, train_.size());
    progress_ = r.progress;
    DANLU_CHECK(progress_.epoch < total_epochs_ && !steps_done(), options_.resume,
                ": the run is finished (epoch ", progress_.epoch, " of ", total_epochs_, ", step ",
                progress_.step, "); to train further, raise epochs or max_steps with --set ",
                "(e.g. --set epochs=", progress_.epoch + 1, ")");
    for (const std::string& c : r.changes) std::printf("resume: %s\n", c.c_str());
    if (is_writer()) purge_metrics_after(path("metrics.jsonl"), progress_.step);
  }

  std::string path(const std::string& file) const {
    return (std::filesystem::path(options_.run_dir) / file).string();
  }
  // On the CPU a read back costs nothing, so the numbers are read every step;
  // on a GPU only at log steps, epoch ends and stops.
  bool read_every_step() const { return !session_.device.is_cuda(); }
  bool steps_done() const { return config_.max_steps > 0 && progress_.step >= config_.max_steps; }
  double lr(size_t group = 0) const { return session_.optimizer->lr(group); }
  void save(const std::string& file) {
    if (is_writer()) save_checkpoint(path(file), session_, progress_);
  }

  // Gradual unfreezing: from epoch unfreeze_at_epoch on (a resumed run too)
  // every layer trains; the frozen ones are already in the optimizer.
  void unfreeze_when_due() {
    const int64_t epoch = progress_.epoch + 1;
    if (config_.unfreeze_at_epoch == 0 || epoch < config_.unfreeze_at_epoch) return;
    const int64_t unfrozen = unfreeze_all(*session_.model);
    if (unfrozen == 0) return;
    std::printf("epoch %lld: unfroze %lld parameter tensors (unfreeze_at_epoch %lld)\n",
                static_cast<long long>(epoch), static_cast<long long>(unfrozen),
                static_cast<long long>(config_.unfreeze_at_epoch));
    if (is_writer())
      metrics_.write({{"kind", "unfreeze"}, {"epoch", epoch}, {"step", progress_.step},
                      {"tensors", unfrozen}});
  }

  // One epoch from progress_.batch on. False when training must stop.
  bool train_epoch(ProgressLine& line) {
    io::Epoch epoch = train_.epoch(progress_.epoch);
    for (int64_t b = 0; b < progress_.batch; ++b) epoch.next();  // resumed mid-epoch
    Interval interval;
    StepStats shown;  // the progress line's numbers: the last ones read back
    for (;;) {
      sync_.begin_step();
      std::optional<io::Batch> batch;
      {
        PhaseRange data(Phase::data);
        batch = epoch.next();
      }
      if (!batch) break;
      const bool reads_before = step(*batch, interval);
      const bool log = progress_.step % config_.log_every == 0;
      // Every rank stops after the same step, when any rank was asked to.
      const bool stop = any_rank(options_.stop && options_.stop->load(), world());
      const bool reads_back = read_every_step() || log || stop || steps_done();
      if (reads_back) {
        if (!read_back(interval)) return false;
        shown = interval_stats(interval);
      }
      line.update(progress_.batch, shown, log);
      if (log) log_step(interval);
      if (sync_check_ && is_writer())
        metrics_.write(sync_.end_step(progress_.step, progress_.step - first_step_,
                                      reads_back || reads_before || progress_.batch == train_.size()));
      if (stop) return interrupt();
      if (steps_done()) return true;
    }
    return read_back(interval);
  }

  // One step; its numbers stay on the device until read_back(). True when it
  // read something back itself (a log step's gradient norms, the monitor's).
  bool step(const io::Batch& batch, Interval& interval) {
    const bool log_next = progress_.step % config_.log_every == config_.log_every - 1;
    std::vector<double> rates;
    for (size_t g = 0; g < session_.optimizer->num_param_groups(); ++g) rates.push_back(lr(g));
    const bool monitor = monitored_step(progress_.step + 1, config_.monitor_every);
    const StepResult r = train_step(
        session_, batch, [&] { if (log_next) grad_norms_ = grad_norms(); }, monitor);
    ++progress_.step, ++progress_.batch;
    if (monitor) log_health(r.health, rates[0]);
    if (session_.graph) log_graph_note(session_.graph->take_note());
    pending_.push_back({progress_.step, std::move(rates), r.loss, r.predicted, batch.labels});
    const int64_t images = batch.labels.numel() * world().size();  // every rank's
    interval.images += images;
    trained_images_ += images;
    return log_next || monitor;
  }

  // Reads the pending steps' losses and predictions (on a GPU the first read
  // waits for the queued work) into the interval and epoch sums, in step
  // order. False, after diverge(), at the first NaN/Inf loss.
  bool read_back(Interval& interval) {
    const std::vector<PendingStep> steps = std::move(pending_);
    pending_.clear();
    const std::vector<StepCounts> counts = step_counts(steps);
    for (size_t i = 0; i < steps.size(); ++i) {
      const int64_t n = counts[i].seen, correct = counts[i].correct;
      const double value = counts[i].loss_sum / n;
      if (!std::isfinite(value)) return diverge(value, steps[i]);
      interval.loss_sum += value * n, interval.correct += correct, interval.seen += n;
      progress_.epoch_loss_sum += value * n, progress_.epoch_correct += correct;
      progress_.epoch_seen += n;
    }
    return true;
  }

  // Each step's numbers over every rank, read back and reduced at once. With
  // one rank the mean loss is the step's own bits ((v * n) / n is exact in
  // double for a float v).
  static std::vector<StepCounts> step_counts(const std::vector<PendingStep>& steps) {
    std::vector<double> sums;
    for (const PendingStep& p : steps) {
      const int64_t n = p.labels.numel();
      sums.insert(sums.end(), {p.loss.item() * n, double(count_correct(p.predicted, p.labels)),
                               double(n)});
    }
    all_reduce_sum(sums, world());
    std::vector<StepCounts> counts;
    for (size_t i = 0; i < sums.size(); i += 3)
      counts.push_back({sums[i], static_cast<int64_t>(sums[i + 1]), static_cast<int64_t>(sums[i + 2])});
    return counts;
  }

  // The global gradient norm and one per layer, before clipping.
  json grad_norms() const {
    std::map<std::string, double> per_layer;
    double total = 0;
    for (const auto& [name, p] : session_.model->named_parameters()) {
      if (!p.grad().defined()) continue;
      const double sq = sum(mul(p.grad(), p.grad())).item();
      per_layer[layer_of(name)] += sq, total += sq;
    }
    json layers = json::object();
    for (auto& [layer, sq] : per_layer) layers[layer] = std::sqrt(sq);
    return {{"grad_norm", std::sqrt(total)}, {"layer_grad_norms", layers}};
  }

  StepStats interval_stats(const Interval& i) const {
    const double seconds = seconds_since(i.start);
    return {i.seen ? i.loss_sum / i.seen : 0, i.seen ? double(i.correct) / i.seen : 0, lr(),
            seconds > 0 ? i.images / seconds : 0};
  }

  void log_step(Interval& interval) {
    const StepStats s = interval_stats(interval);
    json record = {{"kind", "step"},        {"step", progress_.step},
                   {"epoch", progress_.epoch + 1}, {"loss", s.loss},
                   {"accuracy", s.accuracy}, {"lr", lrs()},
                   {"images_per_s", s.images_per_s}};
    record.update(grad_norms_);
    record.update(memory());
    metrics_.write(record);
    interval = Interval{};
  }

  // The monitor's record, and its warnings (once each) on stdout and in the log.
  void log_health(const std::vector<LayerHealth>& layers, double lr) {
    json record = {{"kind", "monitor"}, {"step", progress_.step}, {"epoch", progress_.epoch + 1}};
    for (const LayerHealth& l : layers) record["layers"].push_back(to_json(l));
    metrics_.write(record);
    for (const HealthWarning& w : health_warnings_.check(layers, progress_.step, lr)) {
      std::printf("%swarning: %s\n", options_.interactive ? "\r\033[K" : "", w.message.c_str());
      metrics_.write({{"kind", "warning"}, {"step", progress_.step},
                      {"condition", w.condition}, {"message", w.message}});
    }
  }

  // What the step's CUDA Graph did (captured, turned off), when it did.
  void log_graph_note(const std::string& note) {
    if (note.empty()) return;
    std::printf("%s%s\n", options_.interactive ? "\r\033[K" : "", note.c_str());
    metrics_.write({{"kind", "cuda_graph"}, {"step", progress_.step}, {"text", note}});
  }

  // GPU memory in use and the run's peak (bytes), on a GPU only.
  json memory() const {
    if (!session_.device.is_cuda()) return json::object();
    const CudaMemoryStats m = cuda_memory_stats(session_.device);
    return {{"gpu_memory_bytes", m.in_use}, {"gpu_peak_bytes", m.peak}};
  }

  json lrs() const {
    json out = json::array();
    for (size_t g = 0; g < session_.optimizer->num_param_groups(); ++g) out.push_back(lr(g));
    return out;
  }

  // Epoch summary, evaluation, best/last checkpoints, early stopping. False
  // when early stopping ends the run.
  bool end_epoch() {
    ++progress_.epoch;
    json record = {{"kind", "epoch"},
                   {"epoch", progress_.epoch},
                   {"step", progress_.step},
                   {"train_loss", progress_.epoch_loss_sum / std::max<int64_t>(progress_.epoch_seen, 1)},
                   {"train_accuracy", double(progress_.epoch_correct) / std::max<int64_t>(progress_.epoch_seen, 1)},
                   {"lr", lrs()}};
    progress_.batch = 0, progress_.epoch_loss_sum = 0;
    progress_.epoch_correct = progress_.epoch_seen = 0;
    const bool last = progress_.epoch == total_epochs_ || steps_done();
    bool keep_going = true;
    if (last || (config_.eval_every > 0 && progress_.epoch % config_.eval_every == 0)) {
      const EvalResult e = evaluate_now();
      record["test_loss"] = e.loss, record["test_accuracy"] = e.accuracy;
      keep_going = !early_stop();
    }
    record["seconds"] = seconds_since(start_);
    metrics_.write(record);
    std::printf("epoch %lld: train loss %.4f acc %.2f%%", static_cast<long long>(progress_.epoch),
                record["train_loss"].get<double>(), 100 * record["train_accuracy"].get<double>());
    if (record.contains("test_accuracy"))
      std::printf("  test loss %.4f acc %.2f%%", record["test_loss"].get<double>(),
                  100 * record["test_accuracy"].get<double>());
    std::printf("\n");
    std::fflush(stdout);
    if (last || !keep_going ||
        (config_.checkpoint_every > 0 && progress_.epoch % config_.checkpoint_every == 0))
      save("last.safetensors");
    if (!keep_going) {
      summary_.end = RunEnd::early_stopped;
      summary_.message = "early stopping: " + config_.early_stopping.metric + " did not improve for " +
                         std::to_string(config_.early_stopping.patience) + " evaluations";
    }
    return keep_going;
  }

  EvalResult evaluate_now() {
    // Every rank evaluates its shard with rank 0's running statistics (the
    // ones a checkpoint keeps), and the counts are summed.
    broadcast_tensors(session_.model->buffers(), world());
    const EvalResult e = sum_over_ranks(evaluate(*session_.model, test_), world());
    summary_.final_accuracy = e.accuracy, summary_.final_loss = e.loss;
    const EarlyStopping& es = config_.early_stopping;
    const double metric = es.higher_is_better() ? e.accuracy : e.loss;
    const bool improved = std::isnan(progress_.best_metric) ||
                          (es.higher_is_better() ? metric > progress_.best_metric + es.min_delta
                                                 : metric < progress_.best_metric - es.min_delta);
    if (improved) {
      progress_.best_metric = metric, progress_.best_epoch = progress_.epoch;
      progress_.evals_without_improvement = 0;
      save("best.safetensors");
    } else {
      ++progress_.evals_without_improvement;
    }
    if (session_.scheduler && session_.scheduler->needs_metric()) session_.scheduler->step(e.loss);
    return e;
  }

  bool early_stop() const {
    return config_.early_stopping.patience > 0 &&
           progress_.evals_without_improvement >= config_.early_stopping.patience;
  }

  bool interrupt() {
    save("last.safetensors");
    summary_.end = RunEnd::interrupted;
    summary_.message = "interrupted at step " + std::to_string(progress_.step) +
                       "; continue with --resume " + path("last.safetensors");
    return false;
  }

  bool diverge(double value, const PendingStep& at) {
    char text[320];
    std::snprintf(text, sizeof text,
                  "the loss became %s at step %lld (epoch %lld, lr %.6g); training stopped and "
                  "the last good checkpoint was kept; try an initial learning rate 10x smaller "
                  "(--set optimizer.lr=%.6g)",
                  std::isnan(value) ? "NaN" : "infinite", static_cast<long long>(at.step),
                  static_cast<long long>(progress_.epoch + 1), at.lrs[0],
                  config_.json["optimizer"].value("lr", at.lrs[0]) / 10);
    summary_.end = RunEnd::diverged;
    summary_.message = text;
    metrics_.write({{"kind", "diverged"}, {"step", at.step}, {"lr", at.lrs}});
    return false;
  }

  RunSummary finish(double seconds) {
    RunSummary& s = summary_;
    s.steps = progress_.step, s.epochs = progress_.epoch, s.seconds = seconds;
    s.first_step = first_step_;
    s.best_epoch = progress_.best_epoch;
    s.best_accuracy = config_.early_stopping.higher_is_better() && !std::isnan(progress_.best_metric)
                          ? progress_.best_metric
                          : s.final_accuracy;
    s.images_per_s = seconds > 0 ? double(trained_images_) / seconds : 0;
    if (s.message.empty()) s.message = "finished";
    if (session_.device.is_cuda()) s.peak_memory_bytes = cuda_memory_stats(session_.device).peak;
    json record = {{"kind", "summary"},         {"end", s.message}, {"ended", run_end_name(s.end)},
                   {"steps", s.steps},           {"first_step", s.first_step},
                   {"epochs", s.epochs},
                   {"best_accuracy", s.best_accuracy}, {"best_epoch", s.best_epoch},
                   {"final_accuracy", s.final_accuracy}, {"final_loss", s.final_loss},
                   {"seconds", s.seconds},       {"images_per_s", s.images_per_s}};
    record.update(memory());
    if (session_.graph)
      record["cuda_graph"] = {{"captures", session_.graph->captures()},
                              {"replays", session_.graph->replays()},
                              {"off", session_.graph->off_reason()}};
    if (sync_check_) {
      std::printf("%s\n", sync_.summary().c_str());
      record["sync_check"] = {{"steady_steps", sync_.steady_steps()},
                              {"steady_blocking_calls", sync_.steady_calls()}};
    }
    metrics_.write(record);
    return s;
  }

  RunOptions options_;
  std::unique_ptr<RunDirectory> run_dir_;  // first: checked and locked before any data loads
  io::ImageDataset train_data_, test_data_;
  io::DataLoader train_, test_;
  Session session_;
  const TrainConfig& config_;
  Progress progress_;
  int64_t first_step_ = 0;  // the step this process started at (after a resume)
  const bool sync_check_ = sync_check_enabled();  // DANLU_SYNC_CHECK=1, read once per run
  SyncReport sync_;                                // its blocking CUDA calls per step
  int64_t trained_images_ = 0;  // by this process: partial batches count what they hold
  Clock::time_point start_;  // when this process began training
  int64_t total_epochs_ = 0;
  MetricsLog metrics_;
  json grad_norms_ = json::object();
  HealthWarnings health_warnings_{config_.json.at("optimizer").value("lr", 0.0)};
  std::vector<PendingStep> pending_;
  RunSummary summary_;
};

}  // namespace

const char* run_end_name(RunEnd end) {
  switch (end) {
    case RunEnd::finished: return "finished";
    case RunEnd::early_stopped: return "early_stopped";
    case RunEnd::interrupted: return "interrupted";
    case RunEnd::diverged: return "diverged";
  }
  return "?";
}

RunSummary run_training(const TrainConfig& config, Device device, const RunOptions& options) {
  Trainer trainer(config, device, options);
  return trainer.run();
}

}  // namespace danlu::train
