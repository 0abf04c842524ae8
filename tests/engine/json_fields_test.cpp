// The one JSON reader (engine/json_fields.h) and the one range check
// (engine/range_check.h): what each error says, and that it names the path.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/json_fields.h"
#include "engine/range_check.h"

namespace danlu {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(JsonFields, GettersReadTypedValuesAndFallBackWhenAbsent) {
  const json j = json::parse(R"({"n": 3, "x": 0.5, "b": true, "s": "relu", "l": [1, 2]})");
  JsonFields f(j, "model.layers[2]", "Conv2d");
  EXPECT_EQ(f.integer("n", 1), 3);
  EXPECT_EQ(f.integer("absent", 1, 7), 7);
  EXPECT_DOUBLE_EQ(f.number("x"), 0.5);
  EXPECT_TRUE(f.boolean("b"));
  EXPECT_EQ(f.choice("s", {"relu", "tanh"}), "relu");
  EXPECT_EQ(f.integers("l", 0, false), (std::vector<int64_t>{1, 2}));
  EXPECT_FALSE(f.optional_number("y").has_value());
  f.finish();
}

TEST(JsonFields, ErrorsNameThePathWhatIsAllowedAndWhatWasGiven) {
  const json j = json::parse(R"({"out_channels": 0, "mode": "max", "huge": 18446744073709551615})");
  JsonFields f(j, "model.layers[2]", "Conv2d");
  EXPECT_EQ(error_of([&] { f.integer("out_channels", 1); }),
            "model.layers[2].out_channels: expected an integer >= 1, got 0");
  EXPECT_EQ(error_of([&] { f.choice("mode", {"sum", "mean"}); }),
            "model.layers[2].mode: expected one of \"sum\", \"mean\", got \"max\"");
  EXPECT_EQ(error_of([&] { f.integer("huge", JsonFields::kAny); }),
            "model.layers[2].huge: expected an integer, got 18446744073709551615");
  EXPECT_EQ(error_of([&] { f.number("stride"); }),
            "model.layers[2].stride: required by Conv2d (a number)");
}

TEST(JsonFields, FinishRefusesTheFirstKeyNoGetterAskedFor) {
  const json j = json::parse(R"({"lr": 0.1, "momentun": 0.9})");
  JsonFields f(j, "optimizer", "SGD");
  f.number("lr");
  f.optional_number("momentum");
  EXPECT_EQ(error_of([&] { f.finish(); }),
            "optimizer.momentun: unknown key for SGD; expected one of lr, momentum");
}

TEST(JsonFields, NestedObjectsAndTopLevelKeysAreNamedByTheirPath) {
  const json j = json::parse(R"({"data": {"augmentation": {"crop_padding": -1}}, "epochs": "x"})");
  JsonFields top(j, "", "the config");
  EXPECT_EQ(error_of([&] { top.integer("epochs", 1); }), "epochs: expected an integer >= 1, got \"x\"");
  JsonFields augmentation = top.object("data").object("augmentation");
  EXPECT_EQ(augmentation.path(), "data.augmentation");
  EXPECT_EQ(error_of([&] { augmentation.integer("crop_padding", 0); }),
            "data.augmentation.crop_padding: expected an integer >= 0, got -1");
  EXPECT_EQ(error_of([&] { JsonFields(json::array(), "model", "the model", "a model spec"); }),
            "model: expected a model spec, got []");
}

TEST(RangeCheck, NumbersPrintInTheirShortestExactForm) {
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(-1), "-1");
  EXPECT_EQ(format_number(1e-5), "1e-05");
  EXPECT_EQ(format_number(0.123456789), "0.123456789");
}

TEST(RangeCheck, ARefusalKeepsOwnerAndFieldApartSoAReaderCanRenameIt) {
  check_range(true, "StepLR", "gamma", "a number > 0", -1.0);  // ok: nothing thrown
  try {
    check_range(false, "StepLR", "gamma", "a number > 0", -1.0);
    FAIL() << "no error";
  } catch (const FieldError& e) {
    EXPECT_STREQ(e.what(), "StepLR.gamma: expected a number > 0, got -1");
    EXPECT_EQ(e.field(), "gamma");
    EXPECT_EQ(e.detail(), "expected a number > 0, got -1");
  }
  EXPECT_EQ(error_of([] { check_range(false, "", "label_smoothing", "a number in [0, 1)", 1.5); }),
            "label_smoothing: expected a number in [0, 1), got 1.5");
}

}  // namespace
}  // namespace danlu
