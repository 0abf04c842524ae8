// Augmentations: the crop's shift and zero fill at known offsets, flips,
// RandomErasing's statistics and bounds, normalisation, parameter checks,
// and the same generator state giving the same output.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/io/augment.h"

namespace danlu::io {
namespace {

// Values 1, 2, 3, ... so that zero means "padding".
std::vector<float> iota_image(int64_t n) {
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = float(i + 1);
  return x;
}

TEST(Crop, KnownOffsetsShiftContentAndFillZeros) {
  const std::vector<float> src = iota_image(2 * 3 * 4);  // (2, 3, 4)
  std::vector<float> dst(src.size());
  // top = left = 0 with padding 2: the image moves 2 down and 2 right.
  crop_padded(src.data(), dst.data(), 2, 3, 4, 2, 0, 0);
  EXPECT_EQ(dst, (std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2,
                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13, 14}));
  // top = 3, left = 1: source row y + 1, column x - 1.
  crop_padded(src.data(), dst.data(), 2, 3, 4, 2, 3, 1);
  EXPECT_EQ(dst, (std::vector<float>{0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0,
                                     0, 17, 18, 19, 0, 21, 22, 23, 0, 0, 0, 0}));
  crop_padded(src.data(), dst.data(), 2, 3, 4, 2, 2, 2);  // the centre: unchanged
  EXPECT_EQ(dst, src);
  crop_padded(src.data(), dst.data(), 2, 3, 4, 5, 10, 0);  // entirely in the padding
  EXPECT_EQ(dst, std::vector<float>(src.size(), 0.0f));
}

TEST(Crop, RandomOffsetsCoverEveryWindowUniformly) {
  const int64_t h = 3, w = 4, p = 1;
  const std::vector<float> src = iota_image(h * w);
  std::vector<float> dst(src.size()), expected(src.size());
  Generator gen(3);
  std::vector<int> counts(9, 0);
  const int draws = 1800;
  for (int d = 0; d < draws; ++d) {
    random_crop(src.data(), dst.data(), 1, h, w, p, gen);
    int found = -1;
    for (int k = 0; k < 9 && found < 0; ++k) {
      crop_padded(src.data(), expected.data(), 1, h, w, p, k / 3, k % 3);
      if (expected == dst) found = k;
    }
    ASSERT_GE(found, 0) << "draw " << d << " is no window of the padded image";
    counts[found]++;
  }
  for (int c : counts) EXPECT_NEAR(c, draws / 9, 60);  // ~4.5 sigma of a binomial
}

TEST(Flip, ReversesEveryRow) {
  std::vector<float> x = iota_image(2 * 2 * 3);
  hflip_(x.data(), 2, 2, 3);
  EXPECT_EQ(x, (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}));
}

TEST(Flip, FlipsWithProbabilityP) {
  Generator gen(5);
  std::vector<float> x = iota_image(4);
  int flips = 0;
  for (int i = 0; i < 4000; ++i) flips += random_hflip_(x.data(), 1, 2, 2, 0.5, gen);
  EXPECT_NEAR(flips / 4000.0, 0.5, 0.04);
  EXPECT_FALSE(random_hflip_(x.data(), 1, 2, 2, 0.0, gen));
  EXPECT_TRUE(random_hflip_(x.data(), 1, 2, 2, 1.0, gen));
}

TEST(Erasing, FrequencyAreaAndRatioMatchTheParameters) {
  const int64_t h = 32, w = 32;
  RandomErasing opts;  // torchvision's defaults except a range where every box fits
  opts.p = 0.3;
  opts.scale_min = 0.02;
  opts.scale_max = 0.1;
  Generator gen(11);
  const int draws = 10000;
  int erased = 0;
  double area_sum = 0;
  for (int i = 0; i < draws; ++i) {
    std::optional<Box> box = random_erasing_box(h, w, opts, gen);
    if (!box) continue;
    ++erased;
    ASSERT_GE(box->top, 0);
    ASSERT_GE(box->left, 0);
    ASSERT_LE(box->top + box->height, h);
    ASSERT_LE(box->left + box->width, w);
    // Height and width are sqrt(area * ratio) and sqrt(area / ratio) rounded,
    // so the unrounded values lie within half a pixel of them.
    const double hi_h = box->height + 0.5, hi_w = box->width + 0.5;
    const double lo_h = box->height - 0.5, lo_w = box->width - 0.5;
    ASSERT_LE(lo_h * lo_w, opts.scale_max * h * w);
    ASSERT_GE(hi_h * hi_w, opts.scale_min * h * w);
    ASSERT_LE(lo_h / hi_w, opts.ratio_max);
    ASSERT_GE(hi_h / lo_w, opts.ratio_min);
    area_sum += double(box->height * box->width) / (h * w);
  }
  EXPECT_NEAR(erased / double(draws), opts.p, 0.02);  // sigma 0.0046
  EXPECT_NEAR(area_sum / erased, 0.06, 0.006);        // mean of U(0.02, 0.1)
}

TEST(Erasing, LargeBoxesThatNeverFitLeaveTheImage) {
  RandomErasing opts;
  opts.p = 1;
  opts.scale_min = opts.scale_max = 1.0;  // a box of the whole image is never < h x w
  opts.ratio_min = opts.ratio_max = 1.0;
  Generator gen(2);
  EXPECT_FALSE(random_erasing_box(8, 8, opts, gen).has_value());
}

TEST(Erasing, ErasesExactlyTheBoxInEveryChannel) {
  const int64_t c = 3, h = 8, w = 8;
  RandomErasing opts;
  opts.p = 1;
  opts.value = -1.5f;
  Generator gen(4);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<float> x = iota_image(c * h * w);
    std::optional<Box> box = random_erase_(x.data(), c, h, w, opts, gen);
    if (!box) continue;
    for (int64_t i = 0; i < c * h * w; ++i) {
      const int64_t y = (i / w) % h, col = i % w;
      const bool inside = y >= box->top && y < box->top + box->height && col >= box->left &&
                          col < box->left + box->width;
      ASSERT_EQ(x[i], inside ? -1.5f : float(i + 1)) << "element " << i;
    }
  }
}

TEST(Normalize, PerChannelMeanAndStd) {
  std::vector<float> x = {1, 3, 2, 4};  // (2, 1, 2)
  normalize_(x.data(), 2, 1, 2, Normalization{{1, 2}, {2, 0.5}});
  EXPECT_EQ(x, (std::vector<float>{0, 1, 0, 4}));
}

TEST(Transform, SameSeedSameOutputAndNoDrawsWithoutAugmentation) {
  Augmentation aug;
  aug.random_crop = aug.horizontal_flip = aug.random_erasing = true;
  aug.erasing.p = 0.9;
  const Normalization norm{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
  const std::vector<float> src = iota_image(3 * 16 * 16);
  std::vector<float> a(src.size()), b(src.size()), other(src.size());
  Generator g1(42), g2(42), g3(43);
  for (int i = 0; i < 5; ++i) {
    transform(src.data(), a.data(), 3, 16, 16, aug, norm, g1);
    transform(src.data(), b.data(), 3, 16, 16, aug, norm, g2);
    ASSERT_EQ(a, b);
  }
  bool differs = false;
  Generator g4(42);
  for (int i = 0; i < 5; ++i) {
    transform(src.data(), a.data(), 3, 16, 16, aug, norm, g4);
    transform(src.data(), other.data(), 3, 16, 16, aug, norm, g3);
    differs |= a != other;
  }
  EXPECT_TRUE(differs);

  Generator untouched(1);
  transform(src.data(), a.data(), 3, 16, 16, Augmentation{}, Normalization{}, untouched);
  EXPECT_EQ(a, src);
  EXPECT_EQ(untouched.offset(), 0u);
}

TEST(Validate, RefusesWhatTorchvisionRefuses) {
  const auto message = [](const Augmentation& aug, const Normalization& norm) -> std::string {
    try {
      validate(aug, norm, 3);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message(Augmentation{}, Normalization{}), "no error");
  Augmentation bad;
  bad.crop_padding = -1;
  EXPECT_NE(message(bad, {}).find("crop_padding must be >= 0, got -1"), std::string::npos);
  bad = {};
  bad.flip_p = 1.5;
  EXPECT_NE(message(bad, {}).find("flip_p"), std::string::npos);
  bad = {};
  bad.erasing.scale_min = 0.5;
  bad.erasing.scale_max = 0.1;
  EXPECT_NE(message(bad, {}).find("erasing scale"), std::string::npos);
  bad = {};
  bad.erasing.ratio_min = 0;
  EXPECT_NE(message(bad, {}).find("erasing ratio"), std::string::npos);
  EXPECT_NE(message({}, Normalization{{0.5f}, {0.5f}}).find("per channel (3)"),
            std::string::npos);
  EXPECT_NE(message({}, Normalization{{0, 0, 0}, {1, 0, 1}}).find("std must be positive"),
            std::string::npos);
}

}  // namespace
}  // namespace danlu::io
