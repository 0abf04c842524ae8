// Fuzzing the inputs a user hands danlu: a real checkpoint (header and
// bytes), a training config, a schedule spec, an IDX dataset header and a
// run's metrics.jsonl (what `danlu plot` reads) are mutated and fed to the code the CLI runs on them, in this process (the
// readers must end in danlu::Error, nothing else) and, for a sample of
// cases, to the danlu binary itself (no signal, no hang, one-line error).
//
// Seeded and reproducible. Environment:
//   DANLU_FUZZ_SECONDS  time per input kind (default 1; e.g. 600 for a long run)
//   DANLU_FUZZ_SEED     the seed (default 1); every case's seed derives from it
//   DANLU_FUZZ_CASE     run only this case number (to replay a failure)
//   DANLU_FUZZ_VERBOSE  1: print every refusal (to see what the mutations reach)
// A failure prints the seed, the case and the path of the input that caused it.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <zlib.h>

#include "engine/error.h"
#include "engine/io/idx.h"
#include "mutate.h"
#include "schedulers/from_json.h"
#include "subprocess.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/session.h"
#include "tests/support/files.h"

namespace danlu::fuzz {
namespace {

using danlu::testing::read_file;

namespace fs = std::filesystem;

const std::string kData = DANLU_SOURCE_DIR "/tests/fuzz/data";

double env_number(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : fallback;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A stand-in optimizer for the schedules: one param group with momentum.
class OneGroup : public sched::LrTarget {
 public:
  size_t num_param_groups() const override { return 1; }
  double lr(size_t) const override { return lr_; }
  void set_lr(size_t, double lr) override { lr_ = lr; }
  bool has_momentum() const override { return true; }
  double momentum(size_t) const override { return momentum_; }
  void set_momentum(size_t, double m) override { momentum_ = m; }

 private:
  double lr_ = 0.1, momentum_ = 0.9;
};

// One kind of input: how to mutate it, what to call in process, and the
// danlu command line for it (empty: in process only), run for every
// `command_every`-th case.
struct Target {
  std::string name;
  std::function<std::string(Mutator&)> mutate;
  std::function<void(const std::string& path)> in_process;
  std::function<std::vector<std::string>(const std::string& path)> command;
  int64_t command_every = 16;
};

class FuzzInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    // Bound this process's memory so that a size a mutation makes huge fails
    // as an allocation rather than swapping the machine (AddressSanitizer
    // reserves its shadow memory as address space, so not under it).
#if !defined(__SANITIZE_ADDRESS__)
    const rlimit limit{rlim_t(8) << 30, rlim_t(8) << 30};
    setrlimit(RLIMIT_AS, &limit);
#endif
    dir_ = fs::temp_directory_path() /
           ("danlu_fuzz_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    seed_ = uint64_t(env_number("DANLU_FUZZ_SEED", 1));
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // A real checkpoint of the tiny config's model, optimizer and scheduler.
  std::string make_checkpoint() {
    const train::TrainConfig config = train::parse_config(train::read_json_file(kData + "/tiny.json"));
    train::Session session = train::make_session(config, Device::cpu(), {1, 28, 28}, 8);
    train::Progress progress;
    progress.step = 12, progress.epoch = 1, progress.batch = 4;
    const std::string file = path("tiny.safetensors");
    train::save_checkpoint(file, session, progress);
    return file;
  }

  // A small Fashion-MNIST-like test split: 16 images 28x28 and their labels.
  void make_idx(const std::string& folder, const std::string& images, bool gzip) {
    fs::create_directories(folder);
    std::string labels("\0\0\x08\x01\0\0\0\x10", 8);
    for (int i = 0; i < 16; ++i) labels.push_back(char(i % 10));
    const std::string image_file = folder + "/t10k-images-idx3-ubyte";
    fs::remove(image_file), fs::remove(image_file + ".gz");
    write_file(folder + "/t10k-labels-idx1-ubyte", labels);
    if (!gzip) return write_file(image_file, images);
    gzFile f = gzopen((image_file + ".gz").c_str(), "wb");
    gzwrite(f, images.data(), unsigned(images.size()));
    gzclose(f);
  }

  // Mutates and feeds `t`'s input until the time budget is spent.
  void fuzz(const Target& t) {
    const double seconds = env_number("DANLU_FUZZ_SECONDS", 1);
    const int64_t only = int64_t(env_number("DANLU_FUZZ_CASE", -1));
    const bool verbose = env_number("DANLU_FUZZ_VERBOSE", 0) != 0;
    const std::string input = path(t.name + ".input");
    std::printf("fuzz %s: seed %llu, %.0f s; the case being run is in %s\n", t.name.c_str(),
                static_cast<unsigned long long>(seed_), seconds, input.c_str());
    // A case that hangs in process ends the test with its number.
    std::atomic<int64_t> running{-1};
    std::atomic<bool> done{false};
    std::thread watchdog([&] {
      int64_t last = -2;
      auto since = std::chrono::steady_clock::now();
      while (!done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (running != last) last = running, since = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - since > std::chrono::seconds(60)) {
          std::fprintf(stderr, "fuzz %s: case %lld (seed %llu) hangs in process; input: %s\n",
                       t.name.c_str(), static_cast<long long>(last),
                       static_cast<unsigned long long>(seed_), input.c_str());
          std::_Exit(1);
        }
      }
    });
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    int64_t cases = 0, refused = 0, subprocesses = 0;
    for (int64_t i = only >= 0 ? only : 0; only >= 0 ? i == only : (elapsed() < seconds || i < 8);
         ++i) {
      Mutator m(seed_ * 0x9E3779B97F4A7C15ull + uint64_t(i));
      write_file(input, t.mutate(m));
      running = i;
      const std::string where = "fuzz " + t.name + ": seed " + std::to_string(seed_) + " case " +
                                std::to_string(i) + " (DANLU_FUZZ_SEED=" +
                                std::to_string(seed_) + " DANLU_FUZZ_CASE=" +
                                std::to_string(i) + "), input " + input;
      try {
        t.in_process(input);
      } catch (const Error& e) {
        ++refused;
        if (verbose) std::printf("case %lld: %s\n", static_cast<long long>(i), e.what());
      } catch (const std::exception& e) {
        ADD_FAILURE() << where << ": threw " << typeid(e).name() << " instead of danlu::Error: "
                      << e.what();
        break;
      }
      ++cases;
      if (t.command && (i % t.command_every == 0 || only >= 0)) {
        ++subprocesses;
        const Outcome o = run(t.command(input), 120);
        const std::string wrong = judge(o);
        if (!wrong.empty()) {
          ADD_FAILURE() << where << ": danlu " << wrong << "; stderr:\n" << o.err;
          break;
        }
      }
    }
    done = true;
    watchdog.join();
    std::printf("fuzz %s: %lld cases (%lld refused), %lld run by the danlu binary, %.1f s\n",
                t.name.c_str(), static_cast<long long>(cases), static_cast<long long>(refused),
                static_cast<long long>(subprocesses), elapsed());
  }

  fs::path dir_;
  uint64_t seed_ = 1;
};

// The data of a test split for the CLI runs: the real one when installed.
std::vector<std::string> eval_command(const std::string& config, const std::string& weights,
                                      const std::string& data = "") {
  std::vector<std::string> argv{DANLU_CLI_PATH, "eval", config, "--weights", weights,
                                "--device", "cpu", "--set", "data.test_limit=16"};
  if (!data.empty()) argv.insert(argv.end(), {"--set", "data.path=" + data});
  return argv;
}

TEST_F(FuzzInputs, Checkpoint) {
  const std::string original = read_file(make_checkpoint());
  ASSERT_GT(original.size(), 8u);
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = header << 8 | uint8_t(original[size_t(i)]);
  const train::TrainConfig config = train::parse_config(train::read_json_file(kData + "/tiny.json"));
  train::Session session = train::make_session(config, Device::cpu(), {1, 28, 28}, 8);
  const std::string idx_dir = path("idx");
  std::string images("\0\0\x08\x03\0\0\0\x10\0\0\0\x1c\0\0\0\x1c", 16);
  images.resize(16 + 16 * 28 * 28, char(100));
  make_idx(idx_dir, images, false);
  fuzz({"checkpoint",
        [&](Mutator& m) {
          switch (m.below(4)) {
            case 0:  // the JSON header, its length prefix kept
              return original.substr(0, 8) + m.json(original.substr(8, header)) +
                     original.substr(8 + header);
            case 1:  // the length prefix and the header's bytes
              return m.range(original, 0, 8 + header);
            case 2:  // the tensor data
              return m.range(original, 8 + header, original.size());
            default:
              return m.bytes(original);
          }
        },
        [&](const std::string& p) {
          try {
            train::load_weights(p, *session.model);
          } catch (const Error&) {
          }
          train::load_checkpoint(p, session, 8);
        },
        [&](const std::string& p) {
          return eval_command(kData + "/tiny.json", p, idx_dir);
        }});
}

TEST_F(FuzzInputs, Config) {
  const std::string original = read_file(kData + "/tiny.json");
  const std::string weights = make_checkpoint();
  const std::string idx_dir = path("idx");
  std::string images("\0\0\x08\x03\0\0\0\x10\0\0\0\x1c\0\0\0\x1c", 16);
  images.resize(16 + 16 * 28 * 28, char(100));
  make_idx(idx_dir, images, false);
  fuzz({"config", [&](Mutator& m) { return m.json(original); },
        [&](const std::string& p) { train::load_config(p, {}); },
        [&](const std::string& p) { return eval_command(p, weights, idx_dir); }});
}

TEST_F(FuzzInputs, ScheduleSpec) {
  const std::string original = read_file(kData + "/schedule.json");
  fuzz({"schedule", [&](Mutator& m) { return m.json(original); },
        [&](const std::string& p) {
          const nlohmann::json specs = train::read_json_file(p);
          if (!specs.is_array()) return;
          for (const nlohmann::json& spec : specs) {
            OneGroup target;
            nlohmann::json s = spec;
            if (s.is_object()) s.erase("label");
            auto scheduler = sched::make_scheduler(s, target, 5);
            for (int step = 0; step < 100; ++step)
              scheduler->needs_metric() ? scheduler->step(1.0) : scheduler->step();
          }
        },
        [&](const std::string& p) {
          return std::vector<std::string>{DANLU_CLI_PATH, "schedule", p, "--steps", "100"};
        }});
}

TEST_F(FuzzInputs, IdxHeader) {
  std::string images("\0\0\x08\x03\0\0\0\x10\0\0\0\x1c\0\0\0\x1c", 16);
  for (int i = 0; i < 16 * 28 * 28; ++i) images.push_back(char(i * 7));
  const std::string weights = make_checkpoint();
  const std::string folder = path("idx");
  fuzz({"idx",
        [&](Mutator& m) {
          // Mostly the 16 header bytes; sometimes anywhere, gzip-compressed too.
          const std::string mutated = m.below(4) ? m.range(images, 0, 16) : m.bytes(images);
          make_idx(folder, mutated, m.below(3) == 0);
          return mutated;
        },
        [&](const std::string&) { io::load_mnist(folder, "t10k"); },
        [&](const std::string&) {
          return eval_command(kData + "/tiny.json", weights, folder);
        }});
}

// `danlu plot` reads only through the binary (its reader is the command's
// own), so every case runs it: a mistyped or cut record must be refused in
// one line or skipped, never crash the plot or write a half PNG.
TEST_F(FuzzInputs, PlotMetrics) {
  const std::string original = read_file(kData + "/metrics.jsonl");
  const std::string run_dir = path("run"), pictures = path("pictures");
  fs::create_directories(run_dir);
  fuzz({"plot",
        [&](Mutator& m) {
          const std::string mutated = m.below(4) ? m.json(original) : m.bytes(original);
          write_file(run_dir + "/metrics.jsonl", mutated);
          return mutated;
        },
        [&](const std::string&) {},
        [&](const std::string&) {
          return std::vector<std::string>{DANLU_CLI_PATH, "plot", run_dir, "--out", pictures};
        },
        /*command_every=*/1});
}

}  // namespace
}  // namespace danlu::fuzz
