// i32 tensors (torch.int32): the dtype's name and size, creation, fill,
// conversions both ways, copies, printing, safetensors round trips, and the
// one-line errors of ops that take other dtypes.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "danlu.h"
#include "engine/io/safetensors.h"
#include "engine/ops/attention.h"

namespace danlu {
namespace {

constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Int32Tensor, NameSizeAndType) {
  EXPECT_EQ(element_size(DType::i32), 4u);
  EXPECT_STREQ(dtype_name(DType::i32), "i32");
  EXPECT_EQ(dtype_of<int32_t>(), DType::i32);
  EXPECT_FALSE(is_floating(DType::i32));
}

TEST(Int32Tensor, CreationFillAndPrinting) {
  const Tensor t = Tensor::from_vector(std::vector<int32_t>{-7, 0, kMax, kMin}, {2, 2});
  EXPECT_EQ(t.dtype(), DType::i32);  // the default for int32 values
  EXPECT_EQ(t.data<int32_t>()[2], kMax);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{-7, 0, kMax, kMin}));
  EXPECT_EQ(t.str(), "Tensor(i32, (2, 2), cpu)");
  EXPECT_EQ(Tensor::zeros({3}, DType::i32).to_vector(), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(Tensor::full({2}, -5, DType::i32).to_vector(), (std::vector<double>{-5, -5}));
  EXPECT_EQ(Tensor::scalar(9, DType::i32).item(), 9);
  EXPECT_EQ(Tensor::from_vector(std::vector<double>{1.9, -1.9}, {2}, DType::i32).to_vector(),
            (std::vector<double>{1, -1}));  // truncated toward zero, as torch's .to(int32)
  EXPECT_EQ(error_of([&] { t.data<int64_t>(); }),
            "data<i64>() called on a tensor of dtype i32");
}

TEST(Int32Tensor, ConversionsAndCopies) {
  const Tensor t = Tensor::from_vector(std::vector<int32_t>{-3, 4, kMax}, {3});
  EXPECT_EQ(t.to(DType::i64).to_vector(), t.to_vector());
  EXPECT_EQ(t.to(DType::i64).dtype(), DType::i64);
  EXPECT_EQ(t.to(DType::f64).to_vector(), t.to_vector());
  const Tensor f = Tensor::from_vector(std::vector<float>{2.75f, -0.5f, 100.f}, {3});
  EXPECT_EQ(f.to(DType::i32).to_vector(), (std::vector<double>{2, 0, 100}));
  EXPECT_EQ(Tensor::from_vector(std::vector<int64_t>{-1, 1 << 20}, {2}).to(DType::i32).to_vector(),
            (std::vector<double>{-1, 1 << 20}));
  Tensor c = t.clone();
  EXPECT_EQ(c.dtype(), DType::i32);
  Tensor(t).fill_(1);
  EXPECT_EQ(c.to_vector(), (std::vector<double>{-3, 4, kMax}));
  c.copy_(t);
  EXPECT_EQ(c.to_vector(), (std::vector<double>{1, 1, 1}));
  EXPECT_THROW(c.copy_(t.to(DType::i64)), Error);
}

TEST(Int32Tensor, OpsThatTakeOtherDtypesSaySo) {
  const Tensor t = Tensor::from_vector(std::vector<int32_t>{1, 2}, {2});
  EXPECT_EQ(error_of([&] { Tensor(t).set_requires_grad(); }),
            "set_requires_grad: i32 tensors cannot require grad; only f32/f64 can");
  EXPECT_EQ(error_of([&] { relu(t); }), "relu: expected a floating tensor (f32 or f64), got i32");
  EXPECT_EQ(error_of([&] { cross_entropy(Tensor::zeros({2, 3}), t); }),
            "cross_entropy: expected an i64 target of class indices, got i32 (2)");
  EXPECT_EQ(error_of([&] { additive_attention_mask(t, Tensor::zeros({2})); }),
            "attention mask: expected a floating or an i64 (boolean) mask, got i32; convert it "
            "with .to(DType::i64)");
}

TEST(Int32Tensor, SafetensorsRoundTrip) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "danlu_int32_tensor_test.safetensors").string();
  const Tensor t = Tensor::from_vector(std::vector<int32_t>{-7, 0, kMax, kMin}, {4});
  io::save_safetensors(path, {{"idx", t}});
  const io::SafetensorsFile f = io::load_safetensors(path);
  std::filesystem::remove(path);
  ASSERT_EQ(f.tensors.size(), 1u);
  EXPECT_EQ(f.tensors[0].second.dtype(), DType::i32);
  EXPECT_EQ(f.tensors[0].second.to_vector(), t.to_vector());
}

}  // namespace
}  // namespace danlu
