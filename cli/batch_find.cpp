// `danlu batch-find CONFIG [--max 1024] [--steps 5] [--warmup-steps 2]
//  [--margin 0.2] [--device D] [--out DIR] [--host-memory-limit MIB] [--set k=v ...]`:
// batch 16, 32, 64, ... each timed for a few real training steps with its
// peak memory (train/batch_find.h), the table on stdout and as CSV and
// Markdown in DIR, and the knee to use (train/batch_knee.h) with the --set
// lines that apply it.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "engine/error.h"
#include "engine/host_memory.h"
#include "engine/io/atomic_file.h"
#include "engine/printf_string.h"
#include "train/batch_find.h"
#include "train/data.h"
#include "train/session.h"

namespace danlu::cli {

namespace {

struct BatchFindArgs {
  std::string config, device, out;
  std::vector<std::string> overrides;
  int64_t host_memory_limit_mib = 0;
  train::BatchFindOptions options;
};

std::string memory_name(Device device) {
  if (device.is_cuda()) return device.str() + " memory";
  return host_memory_stats().limit ? "the host memory cap" : "host memory";
}

std::string markdown_table(const train::BatchSearch& s) {
  std::ostringstream out;
  out << "| batch | peak memory | % of memory | ms/step | images/s | status |\n"
      << "|------:|------------:|------------:|--------:|---------:|--------|\n";
  for (const train::BatchTrial& t : s.trials) {
    const double percent = s.device_bytes ? 100.0 * double(t.peak_bytes) / double(s.device_bytes) : 0;
    if (t.out_of_memory)
      out << printf_string("| %lld | %s | %.1f%% | - | - | out of memory |\n",
                           static_cast<long long>(t.batch), train::format_memory(t.peak_bytes).c_str(),
                           percent);
    else
      out << printf_string("| %lld | %s | %.1f%% | %.1f | %.0f | ok |\n",
                           static_cast<long long>(t.batch), train::format_memory(t.peak_bytes).c_str(),
                           percent, t.ms_per_step, t.images_per_s);
  }
  return out.str();
}

std::string csv_table(const train::BatchSearch& s) {
  std::ostringstream out;
  out << "batch,peak_bytes,memory_fraction,ms_per_step,images_per_s,status\n";
  for (const train::BatchTrial& t : s.trials)
    out << printf_string("%lld,%llu,%.6f,%.4f,%.2f,%s\n", static_cast<long long>(t.batch),
                         static_cast<unsigned long long>(t.peak_bytes),
                         s.device_bytes ? double(t.peak_bytes) / double(s.device_bytes) : 0.0,
                         t.ms_per_step, t.images_per_s, t.out_of_memory ? "out_of_memory" : "ok");
  return out.str();
}

// The --set lines that train at `batch`. The config's learning rate was tuned
// at its batch_size; unless optimizer.lr_scaling already rescales it, say how.
std::string usage_lines(const train::TrainConfig& config, int64_t batch) {
  std::string text = printf_string("use it: --set batch_size=%lld\n", static_cast<long long>(batch));
  const nlohmann::json& optimizer = config.json.at("optimizer");
  if (optimizer.contains("lr_scaling"))
    return text + "the config's optimizer.lr_scaling rescales the learning rate for that batch\n";
  if (batch == config.batch_size || !optimizer.contains("lr")) return text;
  // Linear for SGD (Goyal et al. 2017); the square root for adaptive optimizers.
  const bool sgd = optimizer.value("type", std::string()) == "SGD";
  return text + printf_string(
                    "and, as optimizer.lr %g was tuned at batch_size %lld: --set "
                    "'optimizer.lr_scaling={\"rule\":\"%s\",\"reference_batch\":%lld}'\n",
                    optimizer.at("lr").get<double>(), static_cast<long long>(config.batch_size),
                    sgd ? "linear" : "sqrt", static_cast<long long>(config.batch_size));
}

void write_outputs(const std::string& dir, const std::string& command, Device device,
                   const train::BatchSearch& s, const std::string& advice) {
  std::filesystem::create_directories(dir);
  const std::string csv = dir + "/batch_find.csv", md = dir + "/batch_find.md";
  const std::string csv_text = csv_table(s);
  const std::string md_text = "# batch-find\n\n`" + command + "` on " +
                              device.str() + "\n\n" + markdown_table(s) + "\n" +
                              advice;
  io::replace_file(csv, [&](io::AtomicWriter& f) { f.write(csv_text); });
  io::replace_file(md, [&](io::AtomicWriter& f) { f.write(md_text); });
  std::printf("wrote %s and %s\n", csv.c_str(), md.c_str());
}

void print_trial(const train::BatchTrial& t) {
  if (t.out_of_memory)
    std::printf("batch %lld: %s\n", static_cast<long long>(t.batch), t.failure.c_str());
  else
    std::printf("batch %lld: peak %s, %.1f ms/step, %.0f images/s\n",
                static_cast<long long>(t.batch), train::format_memory(t.peak_bytes).c_str(),
                t.ms_per_step, t.images_per_s);
  std::fflush(stdout);
}

// The check that every attempt, the failed one included, gave back its memory.
void print_release(const train::BatchSearch& s, Device device) {
  std::printf("memory in use before the search: %s (%scounted in every peak); after it: ",
              train::format_memory(s.held_before).c_str(),
              device.is_cuda() ? "" : "the training set, ");
  if (s.held_after == s.held_before)
    std::printf("the same, so every attempt released its buffers\n");
  else
    std::printf("%s, so %s the search is still held\n", train::format_memory(s.held_after).c_str(),
                s.held_after > s.held_before ? "memory taken during" : "less than before");
}

// The command as run, with every option's value, for batch_find.md.
std::string command_line(const BatchFindArgs& a) {
  std::string command = printf_string(
      "danlu batch-find %s --max %lld --steps %lld --warmup-steps %lld --margin %g", a.config.c_str(),
      static_cast<long long>(a.options.max_batch), static_cast<long long>(a.options.steps),
      static_cast<long long>(a.options.warmup_steps), a.options.margin);
  if (!a.device.empty()) command += " --device " + a.device;
  if (a.host_memory_limit_mib > 0)
    command += " --host-memory-limit " + std::to_string(a.host_memory_limit_mib);
  for (const std::string& o : a.overrides) command += " --set " + o;
  return command;
}

void run(const BatchFindArgs& a) {
  const train::TrainConfig config = train::load_config(a.config, a.overrides);
  std::string note;
  const Device device = train::pick_device(a.device.empty() ? config.device : a.device, note);
  constexpr int64_t kLargestLimitMib = int64_t{1} << 30;  // 1 PiB: no machine has more
  DANLU_CHECK(a.host_memory_limit_mib <= kLargestLimitMib,
              "batch-find: --host-memory-limit is in MiB, at most ", kLargestLimitMib, ", got ",
              a.host_memory_limit_mib);
  if (a.host_memory_limit_mib > 0) set_host_memory_limit(uint64_t(a.host_memory_limit_mib) << 20);
  const io::ImageDataset data = train::load_split(config.data, /*train=*/true);
  train::check_options(a.options, data.size());  // before the first step
  std::printf("danlu batch-find %s: %s, batches %lld to %lld, %lld warm-up + %lld timed steps "
              "each\n",
              a.config.c_str(), note.c_str(), static_cast<long long>(train::kSmallestBatchTried),
              static_cast<long long>(a.options.max_batch),
              static_cast<long long>(a.options.warmup_steps),
              static_cast<long long>(a.options.steps));
  std::fflush(stdout);
  const train::BatchSearch s = train::batch_find(config, device, data, a.options, print_trial);
  print_release(s, device);
  const train::KneeOptions knee_options{a.options.margin, 0.05};
  const train::Knee knee = train::choose_knee(s.trials, s.device_bytes, knee_options);
  std::string advice =
      train::explain_knee(knee, s.trials, s.device_bytes, knee_options, memory_name(device)) + "\n";
  if (knee.chosen) advice += usage_lines(config, s.trials[*knee.chosen].batch);
  std::printf("\n%s\n%s", markdown_table(s).c_str(), advice.c_str());
  write_outputs(a.out.empty() ? "runs/" + std::filesystem::path(a.config).stem().string() +
                                    "-batch-find"
                              : a.out,
                command_line(a), device, s, advice);
}

}  // namespace

void add_batch_find_command(CLI::App& app) {
  auto args = std::make_shared<BatchFindArgs>();
  CLI::App* cmd = app.add_subcommand(
      "batch-find", "time batch 16, 32, 64, ... with their peak memory; recommend the knee");
  cmd->add_option("config", args->config, "training config")->required();
  cmd->add_option("--max", args->options.max_batch, "the largest batch to try, a power of two")
      ->check(kInt64)
      ->capture_default_str();
  cmd->add_option("--steps", args->options.steps, "timed training steps per batch size")
      ->check(kInt64 & CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--warmup-steps", args->options.warmup_steps,
                  "untimed steps before them, per batch size")
      ->check(kInt64 & CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--margin", args->options.margin,
                  "fraction of memory the recommended batch must leave free")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "auto (GPU when usable), cpu, cuda or cuda:N");
  cmd->add_option("--out", args->out, "output folder (default runs/<config>-batch-find)");
  cmd->add_option("--host-memory-limit", args->host_memory_limit_mib,
                  "cap the host memory danlu's tensors hold, in MiB, data included: on the "
                  "CPU, search as if the machine were that small")
      ->check(kInt64 & CLI::PositiveNumber);
  add_set_option(*cmd, args->overrides);
  cmd->callback([args] { run(*args); });
}

}  // namespace danlu::cli
