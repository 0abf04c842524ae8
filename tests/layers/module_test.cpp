// Module base: dotted names, registration errors, state-dict order and
// loading, train/eval, freezing, dtype moves, apply and printing. Uses small
// modules built from elementwise ops only.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "danlu.h"
#include "layers/module.h"
#include "layers/sequential.h"

namespace danlu::nn {
namespace {

// y = x * scale + shift, with a step counter buffer.
class Affine : public Module {
 public:
  explicit Affine(int64_t n, double value = 1.0) : Module("Affine") {
    scale = register_parameter("scale", Tensor::full({n}, value));
    shift = register_parameter("shift", Tensor::zeros({n}));
    steps = register_buffer("steps", Tensor::scalar(0, DType::i64));
  }
  Tensor forward(const Tensor& x) override { return x * scale + shift; }
  Tensor scale, shift, steps;

 protected:
  std::string extra_repr() const override { return "n=" + std::to_string(scale.numel()); }
};

class Net : public Module {
 public:
  Net() : Module("Net") {
    features = register_module("features", std::make_shared<Sequential>(Affine(3), Affine(3)));
    head = register_module("head", std::make_shared<Affine>(3, 2.0));
  }
  Tensor forward(const Tensor& x) override { return head->forward(features->forward(x)); }
  std::shared_ptr<Sequential> features;
  std::shared_ptr<Affine> head;
};

std::vector<std::string> keys(const OrderedDict<Tensor>& d) { return d.keys(); }

TEST(Module, DottedNamesAsPyTorch) {
  Net net;
  EXPECT_EQ(keys(net.named_parameters()),
            (std::vector<std::string>{"features.0.scale", "features.0.shift", "features.1.scale",
                                      "features.1.shift", "head.scale", "head.shift"}));
  EXPECT_EQ(keys(net.named_buffers()),
            (std::vector<std::string>{"features.0.steps", "features.1.steps", "head.steps"}));
  EXPECT_EQ(keys(net.named_parameters(/*recurse=*/false)), std::vector<std::string>{});
  EXPECT_EQ(net.parameters().size(), 6u);
  EXPECT_EQ(net.buffers().size(), 3u);
  EXPECT_EQ(net.children().size(), 2u);
  EXPECT_EQ(net.named_children().keys(), (std::vector<std::string>{"features", "head"}));
}

TEST(Module, StateDictIsParamsThenBuffersPerModuleDepthFirst) {
  Net net;
  EXPECT_EQ(keys(net.state_dict()),
            (std::vector<std::string>{"features.0.scale", "features.0.shift", "features.0.steps",
                                      "features.1.scale", "features.1.shift", "features.1.steps",
                                      "head.scale", "head.shift", "head.steps"}));
  // The entries share data with the module but carry no autograd state.
  StateDict dict = net.state_dict();
  EXPECT_FALSE(dict["head.scale"].requires_grad());
  net.head->scale.fill_(5.0);
  EXPECT_EQ(dict["head.scale"].to_vector(), (std::vector<double>{5, 5, 5}));
}

TEST(Module, ParametersRequireGradAndBuffersDoNot) {
  Affine a(2);
  EXPECT_TRUE(a.scale.requires_grad());
  EXPECT_FALSE(a.steps.requires_grad());
  EXPECT_TRUE(a.named_parameters()["scale"].same(a.scale));  // one tensor, two handles
}

class BadNames : public Module {
 public:
  using Module::register_buffer;
  using Module::register_module;
  using Module::register_parameter;
};

TEST(Module, RegistrationErrorsNameTheModuleAndTheName) {
  BadNames m;
  m.register_parameter("w", Tensor::zeros({2}));
  EXPECT_THROW(m.register_parameter("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_buffer("w", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("a.b", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("", Tensor::zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("i", Tensor::zeros({2}, DType::i64)), Error);
  EXPECT_THROW(m.register_parameter("u", Tensor()), Error);
  EXPECT_THROW(m.register_module("null", std::shared_ptr<Module>()), Error);
  try {
    m.register_module("w", std::make_shared<Affine>(1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "Module: submodule name 'w' is already registered");
  }
}

TEST(Module, SharedParametersAreListedOnceButSavedUnderEveryName) {
  auto shared = std::make_shared<Affine>(2);
  Sequential seq(shared, shared);
  EXPECT_EQ(keys(seq.named_parameters()), (std::vector<std::string>{"0.scale", "0.shift"}));
  EXPECT_EQ(seq.state_dict().size(), 6u);
}

TEST(Module, TrainAndEvalAreRecursive) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.features->is_training());
  EXPECT_FALSE((*net.features)[1]->is_training());
  EXPECT_FALSE(net.head->is_training());
  net.train();
  EXPECT_TRUE((*net.features)[0]->is_training());
  net.features->train(false);  // a subtree only
  EXPECT_TRUE(net.is_training());
  EXPECT_FALSE((*net.features)[0]->is_training());
  EXPECT_TRUE(net.head->is_training());
}

TEST(Module, ZeroGradDropsEveryGradient) {
  Net net;
  sum(net.forward(Tensor::ones({4, 3}))).backward();
  for (const Tensor& p : net.parameters()) EXPECT_TRUE(p.grad().defined());
  net.zero_grad();
  for (const Tensor& p : net.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, FrozenParametersGetNoGradient) {
  Net net;
  net.features->requires_grad_(false);
  sum(net.forward(Tensor::ones({4, 3}))).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    const bool frozen = name.rfind("features.", 0) == 0;
    EXPECT_EQ(p.grad().defined(), !frozen) << name;
    EXPECT_EQ(p.requires_grad(), !frozen) << name;
  }
  // head.scale: d(sum(y * s + b))/ds = sum over the batch of y = 4 * 1.
  EXPECT_EQ(net.head->scale.grad().to_vector(), (std::vector<double>{4, 4, 4}));
}

TEST(Module, LoadStateDictRoundTrip) {
  Net a, b;
  a.head->scale.fill_(3.0);
  a.features->at<Affine>(1)->shift.fill_(-1.0);
  a.head->steps.fill_(7.0);
  LoadReport report = b.load_state_dict(a.state_dict());
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.str(), "all keys matched");
  EXPECT_EQ(b.head->steps.item(), 7.0);
  const Tensor x = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(a.forward(x).to_vector(), b.forward(x).to_vector());
  // Loading copies: the two modules do not share data afterwards.
  a.head->scale.fill_(0.0);
  EXPECT_EQ(b.head->scale.to_vector(), (std::vector<double>{3, 3, 3}));
  EXPECT_TRUE(b.load_state_dict(b.state_dict()).ok());  // its own state: a no-op
}

TEST(Module, StrictLoadThrowsNamingEveryProblemAndLoadsNothing) {
  Net net;
  StateDict dict = net.state_dict();
  StateDict bad;
  for (const auto& [k, v] : dict) {
    if (k == "head.shift") continue;  // missing
    if (k == "head.scale") bad.insert(k, Tensor::full({4}, 9.0));  // shape mismatch
    else bad.insert(k, Tensor::full(v.shape(), 9.0, v.dtype()));
  }
  bad.insert("head.extra", Tensor::zeros({1}));  // unexpected
  try {
    net.load_state_dict(bad);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "Net.load_state_dict: missing keys [head.shift]; unexpected keys [head.extra]; "
              "shape mismatches [head.scale: (4) in the dict, (3) in the model]; nothing was "
              "loaded (strict=false loads the matching keys)");
  }
  EXPECT_EQ(net.features->at<Affine>(0)->scale.to_vector(), (std::vector<double>{1, 1, 1}));
}

TEST(Module, NonStrictLoadReportsAndLoadsWhatMatches) {
  Net net;
  StateDict bad;
  bad.insert("features.0.scale", Tensor::full({3}, 4.0, DType::f64));  // converted to f32
  bad.insert("head.scale", Tensor::full({2}, 4.0));
  bad.insert("tail.weight", Tensor::zeros({1}));
  LoadReport report = net.load_state_dict(bad, /*strict=*/false);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.missing_keys,
            (std::vector<std::string>{"features.0.shift", "features.0.steps", "features.1.scale",
                                      "features.1.shift", "features.1.steps", "head.shift",
                                      "head.steps"}));
  EXPECT_EQ(report.unexpected_keys, std::vector<std::string>{"tail.weight"});
  EXPECT_EQ(report.mismatched_keys,
            std::vector<std::string>{"head.scale: (2) in the dict, (3) in the model"});
  EXPECT_EQ(net.features->at<Affine>(0)->scale.dtype(), DType::f32);
  EXPECT_EQ(net.features->at<Affine>(0)->scale.to_vector(), (std::vector<double>{4, 4, 4}));
  EXPECT_EQ(net.head->scale.to_vector(), (std::vector<double>{2, 2, 2}));
}

TEST(Module, ToDtypeConvertsInPlaceAndKeepsIntegerBuffers) {
  Net net;
  std::vector<Tensor> held = net.parameters();  // as an optimizer would hold them
  net.head->scale.set_grad(Tensor::ones({3}));
  net.to(DType::f64);
  for (const Tensor& p : held) EXPECT_EQ(p.dtype(), DType::f64);
  EXPECT_TRUE(held[4].requires_grad());
  EXPECT_EQ(net.head->scale.grad().dtype(), DType::f64);
  EXPECT_EQ(net.head->steps.dtype(), DType::i64);
  EXPECT_EQ(net.head->scale.to_vector(), (std::vector<double>{2, 2, 2}));
  EXPECT_EQ(net.forward(Tensor::ones({1, 3}, DType::f64)).dtype(), DType::f64);
  EXPECT_THROW(net.to(DType::i64), Error);
  net.to(Device::cpu());  // already there
  EXPECT_TRUE(held[0].device().is_cpu());
}

TEST(Module, ApplyVisitsChildrenBeforeParents) {
  Net net;
  std::vector<std::string> order;
  net.apply([&](Module& m) { order.push_back(m.name()); });
  EXPECT_EQ(order, (std::vector<std::string>{"Affine", "Affine", "Sequential", "Affine", "Net"}));
  net.apply([](Module& m) {
    if (auto* a = dynamic_cast<Affine*>(&m)) a->shift.fill_(0.5);
  });
  EXPECT_EQ(net.head->shift.to_vector(), (std::vector<double>{0.5, 0.5, 0.5}));
}

TEST(Module, DescribePrintsTheTreeAsPyTorch) {
  Net net;
  EXPECT_EQ(net.describe(),
            "Net(\n"
            "  (features): Sequential(\n"
            "    (0): Affine(n=3)\n"
            "    (1): Affine(n=3)\n"
            "  )\n"
            "  (head): Affine(n=3)\n"
            ")");
  EXPECT_EQ(Sequential().describe(), "Sequential()");
}

TEST(Module, BaseForwardThrows) {
  Module m("Custom");
  EXPECT_THROW(m.forward(Tensor::zeros({1})), Error);
}

TEST(Sequential, ChainsIndexesAndNames) {
  Sequential seq(Affine(2, 2.0), std::make_shared<Affine>(2, 3.0));
  seq.push_back("last", std::make_shared<Affine>(2, 0.5));
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(keys(seq.named_parameters()).front(), "0.scale");
  EXPECT_EQ(keys(seq.named_parameters()).back(), "last.shift");
  EXPECT_EQ(seq(Tensor::ones({1, 2})).to_vector(), (std::vector<double>{3, 3}));
  EXPECT_EQ(seq.at<Affine>(1)->scale.to_vector(), (std::vector<double>{3, 3}));
  EXPECT_THROW(seq[3], Error);
  EXPECT_THROW(seq.at<Sequential>(0), Error);
}

TEST(OrderedDict, KeepsOrderAndRejectsDuplicates) {
  OrderedDict<int> d{{"b", 1}, {"a", 2}};
  d.insert("c", 3);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(d["a"], 2);
  EXPECT_EQ(d.find("z"), nullptr);
  EXPECT_THROW(d.insert("a", 4), Error);
  EXPECT_THROW(d["z"], Error);
}

}  // namespace
}  // namespace danlu::nn
