// The profiler's arithmetic and bookkeeping, on the CPU: FLOP and byte
// counts against hand-computed numbers, the roofline from SM count, clock and
// the architecture table, the standard shape list and the shapes of a model
// and a config, the table, and every documented field of the JSON report.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "layers/layers.h"
#include "profiler/costs.h"
#include "profiler/report.h"
#include "profiler/roofline.h"
#include "profiler/run.h"
#include "profiler/shapes.h"
#include "profiler/timer.h"
#include "tests/support/error_of.h"

namespace danlu::profiler {
namespace {

using nlohmann::json;

kernels::Conv2dShape conv(int64_t n, int64_t c, int64_t hw, int64_t o, int64_t k, int64_t stride,
                          int64_t pad, int64_t groups = 1) {
  kernels::Conv2dShape s;
  s.n = n, s.c = c, s.h = s.w = hw, s.o = o, s.kh = s.kw = k;
  s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad, s.groups = groups;
  s.oh = s.ow = (hw + 2 * pad - k) / stride + 1;
  return s;
}

// Which workloads of `list` have op `op`, as describe() strings.
std::vector<std::string> described(const std::vector<Workload>& list, Op op) {
  std::vector<std::string> out;
  for (const Workload& w : list)
    if (op_of(w) == op) out.push_back(describe(w));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ---- FLOPs and bytes ------------------------------------------------------------

TEST(ProfilerCosts, ConvCountsEveryMultiplyAddAndEachTensorOnce) {
  // N2 C3 5x5 -> O4, 3x3 pad 1: y 2*4*5*5 = 200, each output C*KH*KW = 27
  // multiply-adds: 2 * 200 * 27 = 10800 FLOPs; x 150 + w 108 + y 200 floats.
  const Workload w = ConvWork{conv(2, 3, 5, 4, 3, 1, 1)};
  for (Direction d : directions_of(Op::conv)) {
    EXPECT_EQ(cost_of(w, d).flops, 10800) << direction_name(d);
    EXPECT_EQ(cost_of(w, d).bytes, 4 * 458) << direction_name(d);
  }
  // Grouped and strided: N1 C4 6x6 -> O6, 3x3 s2 p1 g2: 3x3 outputs, each
  // C/groups*9 = 18 multiply-adds: 2 * 54 * 18 = 1944; x 144 + w 6*2*9 = 108 + y 54.
  const Workload g = ConvWork{conv(1, 4, 6, 6, 3, 2, 1, 2)};
  EXPECT_EQ(cost_of(g, Direction::forward).flops, 1944);
  EXPECT_EQ(cost_of(g, Direction::backward_weight).bytes, 4 * 306);
}

TEST(ProfilerCosts, MemoryBoundOpsCountCompulsoryBytes) {
  // Batch norm N2 C3 S4 (24 values): forward 2*24 + 8*3 floats, backward 3*24 + 5*3.
  EXPECT_EQ(cost_of(BatchNormWork{2, 3, 4}, Direction::forward).bytes, 4 * 72);
  EXPECT_EQ(cost_of(BatchNormWork{2, 3, 4}, Direction::backward).bytes, 4 * 87);
  // Layer norm M3 D5: forward 2*15 + 2*5 + 2*3, backward 3*15 + 3*5 + 2*3.
  EXPECT_EQ(cost_of(LayerNormWork{3, 5}, Direction::forward).bytes, 4 * 46);
  EXPECT_EQ(cost_of(LayerNormWork{3, 5}, Direction::backward).bytes, 4 * 66);
  const Workload act = ActivationWork{kernels::Activation::relu, 10};
  EXPECT_EQ(cost_of(act, Direction::forward).bytes, 80);
  EXPECT_EQ(cost_of(act, Direction::backward).bytes, 120);
  // Pooling 2 planes 4x4 -> 2x2: 32 + 8 floats, plus 8 int32 indices for max.
  PoolWork pool;
  pool.s.planes = 2, pool.s.h = pool.s.w = 4, pool.s.oh = pool.s.ow = 2;
  pool.s.kh = pool.s.kw = pool.s.stride_h = pool.s.stride_w = 2;
  EXPECT_EQ(cost_of(pool, Direction::forward).bytes, 4 * 40 + 4 * 8);
  EXPECT_EQ(cost_of(pool, Direction::backward).bytes, 4 * 40 + 4 * 8);
  pool.kind = PoolKind::avg;
  EXPECT_EQ(cost_of(pool, Direction::backward).bytes, 4 * 40);
  // Cross-entropy N4 C10: forward logits 40 floats + 4 targets + loss and lse;
  // backward logits and dlogits, targets, lse and the one dloss.
  EXPECT_EQ(cost_of(XentWork{4, 10}, Direction::forward).bytes, 4 * 40 + 8 * 4 + 4 * 8);
  EXPECT_EQ(cost_of(XentWork{4, 10}, Direction::backward).bytes, 4 * 80 + 8 * 4 + 4 * 5);
  // SGD with momentum: 5 floats per parameter.
  EXPECT_EQ(cost_of(OptimWork{{10, 5}}, Direction::update).bytes, 4 * 5 * 15);
  EXPECT_EQ(cost_of(OptimWork{{10, 5}}, Direction::update).flops, 0);
}

TEST(ProfilerCosts, GemmIsTwoFlopsPerMultiplyAddInEveryDirection) {
  const Workload g = GemmWork{8, 16, 4};  // rows 8, in 16, out 4
  for (Direction d : directions_of(Op::gemm)) {
    EXPECT_EQ(cost_of(g, d).flops, 2 * 8 * 16 * 4);
    EXPECT_EQ(cost_of(g, d).bytes, 4 * (8 * 16 + 16 * 4 + 8 * 4));
  }
  EXPECT_TRUE(compute_bound(Op::gemm));
  EXPECT_TRUE(compute_bound(Op::conv));
  EXPECT_FALSE(compute_bound(Op::bn));
}

// ---- the roofline -----------------------------------------------------------------

TEST(ProfilerRoofline, PeaksAreSmsTimesClockTimesTheTable) {
  ASSERT_TRUE(arch_peak(9, 0));
  EXPECT_EQ(arch_peak(9, 0)->fp32, 256);
  EXPECT_EQ(arch_peak(9, 0)->tf32, 2048);
  EXPECT_EQ(arch_peak(8, 0)->fp32, 128);
  EXPECT_EQ(arch_peak(8, 0)->tf32, 1024);
  EXPECT_EQ(arch_peak(7, 0)->tf32, 0);  // Volta has no TF32
  EXPECT_FALSE(arch_peak(6, 1));
  // H100 SXM: 132 SMs at 1980 MHz.
  const Roofline r = make_roofline(9, 0, 132, 1980000, 3e12);
  EXPECT_DOUBLE_EQ(r.peak_fp32(), 132 * 1.98e9 * 256);  // 66.9 TFLOP/s
  EXPECT_DOUBLE_EQ(r.peak_tf32(), 132 * 1.98e9 * 2048);
  EXPECT_EQ(make_roofline(6, 1, 28, 1500000, 1e11).peak_fp32(), 0);
  // A 1 GB copy in 1 ms reads and writes 2 GB: 2 TB/s.
  EXPECT_DOUBLE_EQ(copy_bandwidth(1e9, 1.0), 2e12);
}

TEST(ProfilerRoofline, FractionIsTheRooflineTimeOverTheMeasuredTime) {
  const Roofline r = make_roofline(9, 0, 132, 1980000, 3e12);
  // 1 ms of FP32 arithmetic at peak, few bytes, measured in 2 ms: half.
  const Cost compute{r.peak_fp32() * 1e-3, 1e3};
  EXPECT_NEAR(*roofline_fraction(r, compute, Math::fp32, true, 2.0), 0.5, 1e-12);
  // The same FLOPs with TF32 allowed take 1/8 ms at the TF32 peak.
  EXPECT_NEAR(*roofline_fraction(r, compute, Math::tf32, true, 2.0), 0.0625, 1e-12);
  // Compute-bound ops are bounded by their bytes too: 3 GB at 3 TB/s is 1 ms.
  EXPECT_NEAR(*roofline_fraction(r, Cost{1, 3e9}, Math::fp32, true, 4.0), 0.25, 1e-12);
  // Memory-bound ops need only the bandwidth, so an unknown arch still has one.
  const Roofline unknown = make_roofline(6, 1, 28, 1500000, 3e12);
  EXPECT_NEAR(*roofline_fraction(unknown, Cost{0, 3e9}, Math::fp32, false, 2.0), 0.5, 1e-12);
  EXPECT_FALSE(roofline_fraction(unknown, compute, Math::fp32, true, 2.0));
  EXPECT_FALSE(roofline_fraction(make_roofline(7, 0, 80, 1530000, 9e11), compute, Math::tf32,
                                 true, 2.0));
}

TEST(ProfilerTimer, SummaryIsTheMedianAndTheMinimum) {
  EXPECT_EQ(summarize({3, 1, 2}).median_ms, 2);
  EXPECT_EQ(summarize({3, 1, 2}).min_ms, 1);
  EXPECT_EQ(summarize({4, 1, 3, 2}).median_ms, 2.5);
}

// ---- shapes -------------------------------------------------------------------------

TEST(ProfilerShapes, OpsParseAndBadNamesAreNamed) {
  EXPECT_EQ(parse_ops("gemm,conv"), (std::vector<Op>{Op::gemm, Op::conv}));
  EXPECT_EQ(parse_ops("conv,bn,ln,act,pool,xent,optim,gemm"), all_ops());
  EXPECT_NE(testing::error_of([] { parse_ops("conv,relu"); }).find("unknown op \"relu\""),
            std::string::npos);
  EXPECT_NE(testing::error_of([] { parse_ops("bn,bn"); }).find("listed twice"), std::string::npos);
}

TEST(ProfilerShapes, ConvVariantsParseAndBadOnesAreNamed) {
  EXPECT_EQ(parse_conv_variants("auto"), std::vector<int>{0});
  EXPECT_EQ(parse_conv_variants("2"), std::vector<int>{2});
  EXPECT_EQ(parse_conv_variants("all"), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(testing::error_of([] { parse_conv_variants("9"); }),
            "--conv-variant 9: expected auto, all or a rung of 1, 2, 3, 4, 5");
  EXPECT_EQ(testing::error_of([] { parse_conv_variants("02"); }),
            "--conv-variant 02: expected auto, all or a rung of 1, 2, 3, 4, 5");
}

TEST(ProfilerShapes, StandardSetHoldsTheShippedModelsAndResNetConvsOnce) {
  const std::vector<Workload> standard = standard_workloads();
  ASSERT_FALSE(standard.empty());
  std::vector<std::pair<Op, std::string>> keys;
  for (const Workload& w : standard) keys.emplace_back(op_of(w), describe(w));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(std::adjacent_find(keys.begin(), keys.end()), keys.end()) << "a duplicate";

  const std::vector<std::string> convs = described(standard, Op::conv);
  EXPECT_TRUE(contains(convs, "N128 C16 32x32 -> O16 k3x3 s1 p1"));  // ResNet-20, CIFAR
  EXPECT_TRUE(contains(convs, "N128 C16 28x28 -> O16 k3x3 s1 p1"));  // ResNet-20, Fashion
  EXPECT_TRUE(contains(convs, "N128 C16 32x32 -> O32 k1x1 s2 p0"));  // its downsample
  EXPECT_TRUE(contains(convs, "N128 C64 56x56 -> O64 k3x3 s1 p1"));  // ResNet-18
  EXPECT_TRUE(contains(convs, "N128 C256 14x14 -> O512 k3x3 s2 p1"));
  EXPECT_TRUE(contains(convs, "N128 C64 7x7 -> O128 k3x3 s1 p1"));  // fashion_cnn.json
  EXPECT_TRUE(contains(described(standard, Op::gemm), "M128 K1152 N10"));
  EXPECT_TRUE(contains(described(standard, Op::xent), "N128 C10"));
  EXPECT_TRUE(contains(described(standard, Op::bn), "N128 C64 S64"));  // ResNet-20's last stage
  EXPECT_TRUE(contains(described(standard, Op::pool), "max P4096 28x28 -> 14x14 k2x2 s2"));
  EXPECT_TRUE(contains(described(standard, Op::pool), "adaptive_avg P8192 8x8 -> 1x1"));
  for (Op op : {Op::act, Op::optim}) EXPECT_FALSE(described(standard, op).empty());
}

TEST(ProfilerShapes, EmbeddedFashionCnnLayersMatchTheShippedConfig) {
  std::ifstream file(std::string(DANLU_SOURCE_DIR) + "/configs/fashion_cnn.json");
  ASSERT_TRUE(file);
  EXPECT_EQ(json::parse(file).at("model").at("layers"), fashion_cnn_config_layers());
}

TEST(ProfilerShapes, ModelLayersAreRecordedAtTheRequestedBatch) {
  nn::Sequential model(nn::Conv2d(nn::Conv2dOptions(3, 8, 3).padding(1)), nn::BatchNorm2d(8),
                       nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::LayerNorm(nn::LayerNormOptions({128})),
                       nn::Linear(128, 10));
  const std::vector<Workload> w = model_workloads(model, {3, 8, 8}, 4);
  std::vector<std::string> got;
  for (const Workload& x : w) got.push_back(std::string(op_name(op_of(x))) + " " + describe(x));
  const std::vector<std::string> expected = {
      "conv N4 C3 8x8 -> O8 k3x3 s1 p1",
      "bn N4 C8 S64",
      "act relu n2048",
      "pool max P32 8x8 -> 4x4 k2x2 s2",
      "ln M4 D128",
      "gemm M4 K128 N10",
      "xent N4 C10",
      // conv 216 + 8, bn 8 + 8, ln 128 + 128, linear 1280 + 10
      "optim sgd momentum, 8 tensors, 1786 params",
  };
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(model.is_training());  // left as it was found
}

TEST(ProfilerShapes, ConfigShapesUseItsBatchSizeAndDataset) {
  const std::vector<Workload> w =
      config_workloads(std::string(DANLU_SOURCE_DIR) + "/tests/data/profile_tiny.json");
  EXPECT_EQ(described(w, Op::conv), std::vector<std::string>{"N4 C1 28x28 -> O2 k3x3 s1 p1"});
  EXPECT_EQ(described(w, Op::ln), std::vector<std::string>{"M4 D392"});
  EXPECT_EQ(described(w, Op::xent), std::vector<std::string>{"N4 C10"});
  EXPECT_NE(testing::error_of([] { config_workloads("no/such/config.json"); })
                .find("no/such/config.json"),
            std::string::npos);
}

// ---- the report ----------------------------------------------------------------------

Report hand_made_report() {
  Report r;
  r.danlu_version = "0.1.0";
  r.date = "2025-01-02T03:04:05Z";
  r.iters = 20, r.warmup = 3;
  r.device = {"Test GPU", 0, 9, 0, 132, 1980000, 2619000, 13000, 13000};
  r.copy_bytes = 256.0 * 1048576, r.copy = {0.2, 0.18};
  r.roofline = make_roofline(9, 0, 132, 1980000, copy_bandwidth(r.copy_bytes, 0.18));
  r.notes = {"a note"};
  Row conv_row;
  conv_row.op = Op::conv;
  conv_row.shape = "N128 C16 32x32 -> O16 k3x3 s1 p1";
  conv_row.cost = {2e9, 1e7};
  conv_row.ours = {0.5, 0.4};
  conv_row.vendor = "cuDNN";
  conv_row.vendor_time = Timing{0.25, 0.2};
  conv_row.fraction = 0.25;
  conv_row.kernel = "auto: 3 implicit GEMM";
  Row act_row;
  act_row.op = Op::act;
  act_row.direction = Direction::backward;
  act_row.shape = "relu n100";
  act_row.cost = {0, 1.2e6};
  act_row.ours = {0.01, 0.009};
  r.rows = {conv_row, act_row};
  return r;
}

TEST(ProfilerReport, JsonHasEveryDocumentedFieldWithItsType) {
  const json j = to_json(hand_made_report());
  const auto expect_fields = [](const json& object,
                                const std::vector<std::pair<std::string, json::value_t>>& fields) {
    for (const auto& [name, type] : fields) {
      ASSERT_TRUE(object.contains(name)) << name;
      const json::value_t got = object.at(name).type();
      // nlohmann stores whole doubles as floats but ints as integers: any number is a number.
      const bool number = object.at(name).is_number() && type == json::value_t::number_float;
      EXPECT_TRUE(got == type || number) << name << " is " << object.at(name).type_name();
    }
  };
  using V = json::value_t;
  expect_fields(j, {{"danlu_version", V::string}, {"date", V::string}, {"iters", V::number_integer},
                    {"warmup", V::number_integer}, {"device", V::object}, {"roofline", V::object},
                    {"notes", V::array}, {"rows", V::array}});
  expect_fields(j["device"], {{"name", V::string}, {"index", V::number_integer},
                              {"compute_capability", V::string}, {"sm_count", V::number_integer},
                              {"clock_mhz", V::number_float}, {"memory_clock_mhz", V::number_float},
                              {"driver_version", V::string}, {"runtime_version", V::string}});
  expect_fields(j["roofline"],
                {{"bandwidth_gbps", V::number_float}, {"copy_bytes", V::number_float},
                 {"copy_min_ms", V::number_float}, {"copy_median_ms", V::number_float},
                 {"arch_in_table", V::boolean}, {"fp32_flops_per_sm_per_clock", V::number_float},
                 {"tf32_flops_per_sm_per_clock", V::number_float},
                 {"peak_fp32_tflops", V::number_float}, {"peak_tf32_tflops", V::number_float}});
  ASSERT_EQ(j["rows"].size(), 2u);
  const std::vector<std::pair<std::string, V>> common = {
      {"op", V::string},           {"direction", V::string},       {"shape", V::string},
      {"math", V::string},         {"bound", V::string},           {"flops", V::number_float},
      {"bytes", V::number_float},  {"ours_median_ms", V::number_float},
      {"ours_min_ms", V::number_float}, {"tflops", V::number_float}, {"gbps", V::number_float}};
  for (const json& row : j["rows"]) expect_fields(row, common);
  expect_fields(j["rows"][0], {{"kernel", V::string}, {"vendor", V::string}, {"vendor_median_ms", V::number_float},
                               {"vendor_min_ms", V::number_float},
                               {"ratio_ours_vendor", V::number_float},
                               {"roofline_fraction", V::number_float}});
  // No vendor kernel, no fraction: null, not a made-up number.
  expect_fields(j["rows"][1], {{"kernel", V::null}, {"vendor", V::null}, {"vendor_median_ms", V::null},
                               {"vendor_min_ms", V::null}, {"ratio_ours_vendor", V::null},
                               {"roofline_fraction", V::null}});
  // The values, where the arithmetic is easy to check by hand.
  EXPECT_EQ(j["device"]["compute_capability"], "9.0");
  EXPECT_EQ(j["device"]["driver_version"], "13.0");
  EXPECT_DOUBLE_EQ(j["device"]["clock_mhz"].get<double>(), 1980);
  EXPECT_DOUBLE_EQ(j["rows"][0]["ratio_ours_vendor"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["rows"][0]["tflops"].get<double>(), 4.0);  // 2e9 FLOPs in 0.5 ms
  EXPECT_DOUBLE_EQ(j["rows"][1]["gbps"].get<double>(), 120.0);  // 1.2 MB in 0.01 ms
  EXPECT_EQ(j["rows"][1]["direction"], "backward");
  EXPECT_EQ(j["rows"][1]["bound"], "memory");
  EXPECT_NEAR(j["roofline"]["peak_fp32_tflops"].get<double>(), 66.90816, 1e-9);
}

TEST(ProfilerReport, TableIsAlignedAndHeaderShowsTheArithmetic) {
  const Report r = hand_made_report();
  const std::string table = format_table(r);
  std::vector<std::string> lines;
  std::stringstream in(table);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  // Columns line up: "achieved" ends where each row's achieved value ends.
  const size_t end = lines[0].find("achieved") + std::string("achieved").size();
  EXPECT_EQ(lines[1].substr(end - std::string("4.00 TFLOP/s").size(), 12), "4.00 TFLOP/s");
  EXPECT_EQ(lines[2].substr(end - std::string("120.0 GB/s").size(), 10), "120.0 GB/s");
  EXPECT_NE(lines[1].find("0.2500 cuDNN"), std::string::npos);
  EXPECT_NE(lines[1].find("25.0%"), std::string::npos);
  EXPECT_NE(lines[2].find("  -  "), std::string::npos);  // no vendor: "-"
  EXPECT_NE(lines[0].find("kernel"), std::string::npos);
  EXPECT_NE(lines[1].find("auto: 3 implicit GEMM"), std::string::npos);

  const std::string header = format_header(r);
  EXPECT_NE(header.find("132 SMs x 1980 MHz x 256 FLOP/SM/clock = 66.9 TFLOP/s"),
            std::string::npos)
      << header;
  EXPECT_NE(header.find("x 2048 FLOP/SM/clock = 535.3 TFLOP/s"), std::string::npos) << header;
  Report unknown = r;
  unknown.device.major = 6, unknown.device.minor = 1;
  unknown.roofline = make_roofline(6, 1, 28, 1500000, 3e11);
  EXPECT_NE(format_header(unknown).find("sm_61 is not in the architecture table"),
            std::string::npos);
}

}  // namespace
}  // namespace danlu::profiler
