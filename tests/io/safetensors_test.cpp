// safetensors: round trips of every dtype, the exact header bytes the spec
// asks for, a one-line error for every kind of damaged file, crash-safe
// writes, state dicts, and a file written by PyTorch.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/random.h"
#include "layers/layers.h"
#include "layers/serialize.h"
#include "tests/support/error_of.h"
#include "tests/support/reference.h"

namespace danlu::io {
namespace {

namespace fs = std::filesystem;
using danlu::testing::error_of;
using Named = std::vector<std::pair<std::string, Tensor>>;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Removes the file first: truncating one in place makes ext4 flush it to disk
// on close (auto_da_alloc), which made the many-files tests slow.
void write_bytes(const std::string& path, const std::string& bytes) {
  fs::remove(path);
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

// A file with this exact header text and `data_bytes` zero bytes of data.
std::string raw_file(const std::string& header, size_t data_bytes) {
  const uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + std::string(data_bytes, '\0');
}

std::string tensor_bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), t.numel() * element_size(t.dtype()));
}

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("danlu_safetensors_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // The message loading `bytes` from a file gives; fails the test unless it
  // is one line that names the file.
  std::string load_error(const std::string& bytes) {
    const std::string p = path("bad.safetensors");
    write_bytes(p, bytes);
    const std::string msg = error_of([&] { load_safetensors(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  bool has_temp_files() const {
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.path().string().find(".tmp.") != std::string::npos) return true;
    return false;
  }
  fs::path dir_;
};

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();

Named sample_tensors() {
  manual_seed(7);
  return {{"conv.weight", Tensor::randn({2, 1, 3, 3})},
          {"fc.bias", Tensor::randn({5}, DType::f64)},
          {"labels", Tensor::from_vector(std::vector<int64_t>{-3, 0, kI64Max, kI64Min}, {2, 2})},
          {"scalar.f32", Tensor::scalar(2.5)},
          {"bn.num_batches_tracked", Tensor::scalar(12, DType::i64)},
          {"empty.f32", Tensor::empty({0, 3})},
          {"empty.i64", Tensor::empty({4, 0}, DType::i64)},
          {"scalar.f64", Tensor::scalar(-1.0 / 3.0, DType::f64)},
          {"pool.indices",
           Tensor::from_vector(std::vector<int32_t>{-7, 0, kI32Max, kI32Min}, {4})}};
}

TEST_F(Safetensors, RoundTripsEveryDtypeInOrderBitExact) {
  const Named saved = sample_tensors();
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"step", "12"},
                                                   {"note", "ünïcode \"quoted\"\n"}};
  save_safetensors(path("a.safetensors"), saved, meta);
  const SafetensorsFile loaded = load_safetensors(path("a.safetensors"));
  EXPECT_EQ(loaded.metadata, meta);
  ASSERT_EQ(loaded.tensors.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    const auto& [name, t] = loaded.tensors[i];
    EXPECT_EQ(name, saved[i].first);
    EXPECT_EQ(t.dtype(), saved[i].second.dtype()) << name;
    EXPECT_EQ(t.shape(), saved[i].second.shape()) << name;
    EXPECT_TRUE(t.device().is_cpu()) << name;
    EXPECT_EQ(tensor_bytes(t), tensor_bytes(saved[i].second)) << name;
  }
  EXPECT_EQ(loaded.tensors[1].second.shape().size(), 1);
  EXPECT_EQ(loaded.tensors[3].second.dim(), 0);
  EXPECT_EQ(loaded.tensors[3].second.item(), 2.5);
  EXPECT_EQ(loaded.tensors[2].second.data<int64_t>()[3], kI64Min);
}

TEST_F(Safetensors, NoTensorsAndNoMetadata) {
  save_safetensors(path("e.safetensors"), {});
  EXPECT_EQ(read_bytes(path("e.safetensors")), raw_file("{}      ", 0));
  const SafetensorsFile f = load_safetensors(path("e.safetensors"));
  EXPECT_TRUE(f.tensors.empty());
  EXPECT_TRUE(f.metadata.empty());
}

TEST_F(Safetensors, HeaderBytesFollowTheSpec) {
  const Tensor w = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  const Tensor n = Tensor::scalar(7, DType::i64);
  const Tensor d = Tensor::from_vector(std::vector<double>{0.5}, {1}, DType::f64);
  save_safetensors(path("h.safetensors"), {{"w", w}, {"n", n}, {"d", d}}, {{"format", "pt"}});
  const std::string bytes = read_bytes(path("h.safetensors"));

  // The reference implementation's serde_json output: compact, __metadata__
  // first, fields in the order dtype, shape, data_offsets.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},)"
      R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("n":{"dtype":"I64","shape":[],"data_offsets":[16,24]},)"
      R"("d":{"dtype":"F64","shape":[1],"data_offsets":[24,32]}})";
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  const unsigned char first = static_cast<unsigned char>(bytes[0]);
  EXPECT_EQ(first, header_len & 0xff);  // little-endian on disk
  EXPECT_EQ((8 + header_len) % 8, 0u) << "the data must start 8-byte aligned";
  ASSERT_EQ(bytes.size(), 8 + header_len + 32);
  const std::string header = bytes.substr(8, header_len);
  EXPECT_EQ(header.substr(0, json.size()), json);
  EXPECT_LT(header.size() - json.size(), 8u);
  EXPECT_EQ(header.substr(json.size()), std::string(header.size() - json.size(), ' '));
  EXPECT_EQ(bytes.substr(8 + header_len), tensor_bytes(w) + tensor_bytes(n) + tensor_bytes(d));
  EXPECT_NO_THROW(nlohmann::json::parse(header));
}

TEST_F(Safetensors, EveryTruncationIsRefused) {
  save_safetensors(path("good.safetensors"), sample_tensors(), {{"format", "pt"}});
  const std::string good = read_bytes(path("good.safetensors"));
  uint64_t header_len = 0;
  std::memcpy(&header_len, good.data(), 8);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    const std::string msg = load_error(good.substr(0, cut));
    if (cut < 8) EXPECT_NE(msg.find("too short"), std::string::npos) << cut << ": " << msg;
    else EXPECT_NE(msg.find(" is truncated: "), std::string::npos) << cut << ": " << msg;
  }
  const size_t data = good.size() - 8 - header_len;
  EXPECT_NE(load_error(good.substr(0, good.size() - 5))
                .find("its header says " + std::to_string(data) +
                      " bytes of tensor data, the file has " + std::to_string(data - 5) +
                      "; it was not written completely"),
            std::string::npos);
}

TEST_F(Safetensors, FlippedHeaderBytesNeverCrash) {
  save_safetensors(path("good.safetensors"), sample_tensors(), {{"format", "pt"}});
  const std::string good = read_bytes(path("good.safetensors"));
  uint64_t header_len = 0;
  std::memcpy(&header_len, good.data(), 8);
  int refused = 0;
  for (size_t i = 0; i < 8 + header_len; ++i) {
    for (unsigned char mask : {0x01, 0x04, 0x20, 0x80}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      write_bytes(path("flip.safetensors"), bad);
      // A flip may leave a valid file (a letter of a name, a padding space
      // turned into another whitespace); otherwise it must be a danlu::Error.
      try {
        load_safetensors(path("flip.safetensors"));
      } catch (const Error& e) {
        ++refused;
        EXPECT_NE(std::string(e.what()).find("flip.safetensors"), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GT(refused, 100);
}

TEST_F(Safetensors, DamagedHeadersGiveOneLineErrors) {
  const auto msg = [&](const std::string& header, size_t data) {
    return load_error(raw_file(header, data));
  };
  const auto has = [](const std::string& m, const std::string& part) {
    return m.find(part) != std::string::npos;
  };
  EXPECT_TRUE(has(load_error("abc"), "too short to be a safetensors file"));
  std::string huge = raw_file("{}", 0);
  huge[5] = 1;  // header length 2^40 + 2
  EXPECT_TRUE(has(load_error(huge), "is not a safetensors file"));
  std::string beyond = raw_file("{}", 0);
  beyond[0] = 10;
  EXPECT_TRUE(has(load_error(beyond), "is truncated: its header length says 10 bytes"));
  EXPECT_TRUE(has(msg("{\"a\":", 0), "not valid JSON"));
  EXPECT_TRUE(has(msg("[1, 2]", 0), "not an object"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", 4),
                  "unknown dtype 'F17'"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 4),
                  "dtype BF16, which danlu cannot hold"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                  "tensor 'a' has shape (3) of F32, which needs 12 bytes, "
                  "but its data_offsets [0, 8] hold 8"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                  "is truncated: its header says 8 bytes of tensor data, the file has 4"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12),
                  "8 bytes after the last tensor's data that no tensor owns"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                      R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", 24),
                  "tensor 'b' (bytes [8, 24)) overlaps tensor 'a' (bytes [0, 16))"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})", 24),
                  "bytes [8, 16) of the data belong to no tensor"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
                  "bytes [0, 4) of the data belong to no tensor"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
                  "names 'a' twice"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","dtype":"I64","shape":[],"data_offsets":[0,4]}})", 4),
                  "names 'dtype' twice"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                  "must be a non-negative integer, got -1"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
                  "must be a non-negative integer, got 1.5"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4),
                  "end before they begin"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
                  "data_offsets must be [begin, end]"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1]}})", 4),
                  "needs an object with dtype, shape and data_offsets"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],)"
                      R"("data_offsets":[0,4]}})", 4),
                  "has 9 dimensions; danlu supports at most 8"));
  EXPECT_TRUE(has(msg(R"({"a":{"dtype":"I64","shape":[4294967296,4294967296],)"
                      R"("data_offsets":[0,8]}})", 8),
                  "more than 2^64"));
  EXPECT_TRUE(has(msg(R"({"__metadata__":{"step":12}})", 0), "'step' is 12"));
  EXPECT_TRUE(has(msg(R"({"__metadata__":"pt"})", 0), "__metadata__ must be an object"));
}

TEST_F(Safetensors, UnusualButValidFilesLoad) {
  // Header order differs from data order, extra whitespace, unaligned data,
  // two empty tensors at the same offset: all within the spec.
  write_bytes(path("u.safetensors"),
              raw_file(R"( { "b" : {"data_offsets":[4,8],"shape":[1],"dtype":"F32"},)"
                       R"( "e1":{"dtype":"I64","shape":[0],"data_offsets":[0,0]},)"
                       R"( "a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                       R"( "e2":{"dtype":"F64","shape":[2,0],"data_offsets":[0,0]}})",
                       8));
  const SafetensorsFile f = load_safetensors(path("u.safetensors"));
  std::vector<std::string> names;
  for (const auto& [name, t] : f.tensors) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"e1", "e2", "a", "b"}));
  EXPECT_EQ(f.tensors[1].second.shape(), Shape({2, 0}));
  EXPECT_EQ(f.tensors[1].second.dtype(), DType::f64);
}

TEST_F(Safetensors, MissingFileOrDirectoryIsRefused) {
  EXPECT_NE(error_of([&] { load_safetensors(path("nope.safetensors")); })
                .find("cannot open " + path("nope.safetensors") + ": No such file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_safetensors(dir_.string()); }).find("is not a regular file"),
            std::string::npos);
}

// ---- crash-safe writes ----------------------------------------------------------------

TEST_F(Safetensors, FailedWriteMidwayLeavesTheEarlierFileByteIdentical) {
  const std::string target = path("last.safetensors");
  save_safetensors(target, sample_tensors(), {{"step", "1"}});
  const std::string before = read_bytes(target);

  // Limit the size of files this process may write, so that write() fails
  // with EFBIG after the first 64 KiB of a 4 MB tensor, like a full disk.
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  const Tensor big = Tensor::zeros({1 << 20});
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string msg =
      error_of([&] { save_safetensors(target, {{"big", big}}, {{"step", "2"}}); });
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);

  EXPECT_NE(msg.find("cannot save " + target + ": writing " + target + ".tmp."), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("is unchanged"), std::string::npos) << msg;
  EXPECT_EQ(read_bytes(target), before);
  EXPECT_FALSE(has_temp_files());
  EXPECT_EQ(load_safetensors(target).metadata.at("step"), "1");
}

TEST_F(Safetensors, BadTargetsLeaveNoTempFiles) {
  fs::create_directories(dir_ / "sub");
  const std::string to_dir = error_of([&] { save_safetensors(path("sub"), sample_tensors()); });
  EXPECT_NE(to_dir.find("renaming"), std::string::npos) << to_dir;
  EXPECT_TRUE(fs::is_directory(dir_ / "sub"));
  EXPECT_TRUE(fs::is_empty(dir_ / "sub"));
  const std::string no_dir =
      error_of([&] { save_safetensors(path("missing/x.safetensors"), sample_tensors()); });
  EXPECT_NE(no_dir.find("does the directory exist?"), std::string::npos) << no_dir;
  EXPECT_FALSE(has_temp_files());
}

TEST_F(Safetensors, BadInputIsRefusedBeforeTheFileIsTouched) {
  const std::string target = path("w.safetensors");
  save_safetensors(target, sample_tensors());
  const std::string before = read_bytes(target);
  const Tensor t = Tensor::ones({2});
  EXPECT_NE(error_of([&] { save_safetensors(target, {{"a", t}, {"a", t}}); })
                .find("two tensors are named 'a'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { save_safetensors(target, {{"__metadata__", t}}); }).find("reserved"),
            std::string::npos);
  EXPECT_NE(error_of([&] { save_safetensors(target, {{"a", Tensor()}}); }).find("'a' is undefined"),
            std::string::npos);
  EXPECT_NE(error_of([&] { save_safetensors(target, {{"bad\xff", t}}); }).find("not valid UTF-8"),
            std::string::npos);
  EXPECT_EQ(read_bytes(target), before);
  EXPECT_FALSE(has_temp_files());
}

TEST_F(Safetensors, OverwriteReplacesTheFile) {
  const std::string target = path("o.safetensors");
  save_safetensors(target, sample_tensors());
  save_safetensors(target, {{"x", Tensor::ones({3})}});
  const SafetensorsFile f = load_safetensors(target);
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].second.to_vector(), (std::vector<double>{1, 1, 1}));
  EXPECT_FALSE(has_temp_files());
}

// ---- state dicts and PyTorch ------------------------------------------------------------

std::shared_ptr<nn::Sequential> conv_bn() {
  return std::make_shared<nn::Sequential>(nn::Conv2d(nn::Conv2dOptions(1, 2, 3)),
                                          nn::BatchNorm2d(2));
}

TEST_F(Safetensors, StateDictRoundTripsThroughAModel) {
  manual_seed(1);
  auto a = conv_bn();
  a->state_dict()["1.running_mean"].fill_(0.25);
  a->state_dict()["1.num_batches_tracked"].fill_(3);
  nn::save_state_dict(path("m.safetensors"), a->state_dict(), {{"format", "pt"}});
  manual_seed(2);
  auto b = conv_bn();
  const nn::StateDict loaded = nn::load_state_dict_file(path("m.safetensors"));
  EXPECT_EQ(loaded.keys(), a->state_dict().keys());
  EXPECT_TRUE(b->load_state_dict(loaded).ok());
  for (const auto& [name, t] : a->state_dict())
    EXPECT_EQ(tensor_bytes(b->state_dict()[name]), tensor_bytes(t)) << name;
}

TEST(SafetensorsFromPyTorch, ReadsTheFileTorchWrote) {
  const nlohmann::json expected = testing::load_reference("torch_written.json");
  const SafetensorsFile f =
      load_safetensors(std::string(DANLU_REFERENCE_DIR) + "/torch_written.safetensors");
  EXPECT_EQ(f.metadata, expected.at("metadata").get<decltype(f.metadata)>());
  const nlohmann::json& tensors = expected.at("tensors");
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const auto& [name, t] = f.tensors[i];
    const nlohmann::json& e = tensors[i];
    EXPECT_EQ(name, e.at("name").get<std::string>());
    const std::string dtype = e.at("dtype");
    EXPECT_EQ(t.dtype(), dtype == "F32" ? DType::f32 : dtype == "F64" ? DType::f64 : DType::i64)
        << name;
    EXPECT_EQ(t.shape().vec(), e.at("shape").get<std::vector<int64_t>>()) << name;
    if (t.dtype() == DType::i64) {
      const auto values = e.at("data").get<std::vector<int64_t>>();
      const int64_t* p = t.data<int64_t>();
      EXPECT_EQ(std::vector<int64_t>(p, p + t.numel()), values) << name;
    } else {
      EXPECT_EQ(t.to_vector(), e.at("data").get<std::vector<double>>()) << name;  // exact
    }
  }
  // The model's entries load into danlu's twin of the PyTorch model.
  auto model = conv_bn();
  const nn::LoadReport report = model->load_state_dict(
      nn::load_state_dict_file(std::string(DANLU_REFERENCE_DIR) + "/torch_written.safetensors"),
      /*strict=*/false);
  EXPECT_TRUE(report.missing_keys.empty()) << report.str();
  EXPECT_TRUE(report.mismatched_keys.empty()) << report.str();
  EXPECT_EQ(report.unexpected_keys, expected.at("extra").get<std::vector<std::string>>());
  EXPECT_EQ(model->state_dict()["1.num_batches_tracked"].item(), 2);
}

}  // namespace
}  // namespace danlu::io
