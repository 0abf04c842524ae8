// make_scheduler(): each schedule's reader turns its spec into a recipe (the
// parsed parameters, checked for type and presence); the recipe builds the
// scheduler over a target, where the constructors check the ranges.
#include "schedulers/from_json.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>

#include "schedulers/caffe.h"
#include "schedulers/check.h"
#include "schedulers/composite.h"
#include "schedulers/cosine.h"
#include "schedulers/cyclic.h"
#include "schedulers/interval.h"
#include "schedulers/one_cycle.h"
#include "schedulers/paddle.h"
#include "schedulers/plateau.h"
#include "schedulers/pytorch_basic.h"
#include "schedulers/spec.h"
#include "schedulers/tensorflow.h"

namespace danlu::sched {

namespace {

using Recipe = std::function<std::unique_ptr<LRScheduler>(LrTarget&)>;
using Reader = std::function<Recipe(Spec&)>;

const std::map<std::string, Reader>& readers();

// A spec's recipe; a constructor's FieldError is reported at the spec's path.
Recipe read(Spec& spec) {
  const auto& all = readers();
  auto it = all.find(spec.type());
  if (it == all.end()) {
    const bool lambda = spec.type() == "LambdaLR" || spec.type() == "MultiplicativeLR";
    DANLU_CHECK(!lambda, spec.path("type"), ": ", spec.type(),
                " takes C++ functions and cannot be built from JSON");
    DANLU_FAIL(spec.path("type"), ": unknown scheduler \"", spec.type(), "\"; expected one of ",
               nlohmann::json(scheduler_types()).dump());
  }
  Recipe recipe = it->second(spec);
  spec.finish();
  return [recipe, path = spec.path()](LrTarget& target) {
    try {
      return recipe(target);
    } catch (const FieldError& e) {
      throw Error(path + "." + e.field() + ": " + e.detail());
    }
  };
}

Recipe read_nested(const nlohmann::json& j, const std::string& path, const std::string& parent,
                   const std::vector<std::string>& refused, const std::string& why) {
  Spec spec(j, path);
  for (const std::string& r : refused)
    DANLU_CHECK(spec.type() != r, spec.path("type"), ": ", r, " cannot run inside ", parent, why);
  return read(spec);
}

std::vector<Recipe> read_children(Spec& spec) {
  const nlohmann::json& list = spec.list("schedulers");
  std::vector<Recipe> children;
  for (size_t i = 0; i < list.size(); ++i)
    children.push_back(read_nested(list[i], spec.path("schedulers[" + std::to_string(i) + "]"),
                                   spec.type(), {"ReduceLROnPlateau"}, " (it needs a metric)"));
  return children;
}

std::vector<std::unique_ptr<LRScheduler>> build_all(const std::vector<Recipe>& recipes,
                                                    LrTarget& target) {
  std::vector<std::unique_ptr<LRScheduler>> built;
  for (const Recipe& r : recipes) built.push_back(r(target));
  return built;
}

// The enum value at `name`'s position in `names` (a name Spec::choice accepted).
template <class E>
E pick(const std::string& name, const std::vector<std::string>& names,
       std::initializer_list<E> values) {
  return values.begin()[std::find(names.begin(), names.end(), name) - names.begin()];
}

// Paddle's/TF's/Caffe's own learning rate: absent means each group's lr.
std::optional<double> own_lr(Spec& s, const char* key) { return s.optional_number(key); }

uint64_t seed_of(Spec& s) {
  const int64_t seed = s.integer("seed", 0);
  DANLU_CHECK(seed >= 0, s.path("seed"), ": expected an integer >= 0, got ", seed);
  return uint64_t(seed);
}

// ---- PyTorch -------------------------------------------------------------------
Recipe step_lr(Spec& s) {
  auto step_size = s.integer("step_size");
  auto gamma = s.number("gamma", 0.1);
  return [=](LrTarget& t) { return std::make_unique<StepLR>(t, step_size, gamma); };
}

Recipe multi_step_lr(Spec& s) {
  auto milestones = s.integers("milestones");
  auto gamma = s.number("gamma", 0.1);
  return [=](LrTarget& t) { return std::make_unique<MultiStepLR>(t, milestones, gamma); };
}

Recipe constant_lr(Spec& s) {
  auto factor = s.number("factor", 1.0 / 3);
  auto total_iters = s.integer("total_iters", 5);
  return [=](LrTarget& t) { return std::make_unique<ConstantLR>(t, factor, total_iters); };
}

Recipe linear_lr(Spec& s) {
  auto start = s.number("start_factor", 1.0 / 3);
  auto end = s.number("end_factor", 1.0);
  auto total_iters = s.integer("total_iters", 5);
  return [=](LrTarget& t) { return std::make_unique<LinearLR>(t, start, end, total_iters); };
}

Recipe exponential_lr(Spec& s) {
  auto gamma = s.number("gamma");
  return [=](LrTarget& t) { return std::make_unique<ExponentialLR>(t, gamma); };
}

Recipe polynomial_lr(Spec& s) {
  auto total_iters = s.integer("total_iters", 5);
  auto power = s.number("power", 1.0);
  return [=](LrTarget& t) { return std::make_unique<PolynomialLR>(t, total_iters, power); };
}

Recipe cosine_annealing_lr(Spec& s) {
  auto T_max = s.integer("T_max");
  auto eta_min = s.number("eta_min", 0.0);
  return [=](LrTarget& t) { return std::make_unique<CosineAnnealingLR>(t, T_max, eta_min); };
}

Recipe cosine_warm_restarts(Spec& s) {
  auto T_0 = s.integer("T_0");
  auto T_mult = s.integer("T_mult", 1);
  auto eta_min = s.number("eta_min", 0.0);
  return [=](LrTarget& t) {
    return std::make_unique<CosineAnnealingWarmRestarts>(t, T_0, T_mult, eta_min);
  };
}

Recipe cyclic_lr(Spec& s) {
  CyclicLROptions o(s.per_group("base_lr"), s.per_group("max_lr"));
  o.step_size_up(s.number("step_size_up", 2000));
  if (auto down = s.optional_number("step_size_down")) o.step_size_down(*down);
  const std::vector<std::string> modes{"triangular", "triangular2", "exp_range"};
  o.mode(pick(s.choice("mode", "triangular", modes), modes,
              {CyclicMode::triangular, CyclicMode::triangular2, CyclicMode::exp_range}));
  o.gamma(s.number("gamma", 1.0));
  o.cycle_momentum(s.boolean("cycle_momentum", true));
  o.base_momentum(s.per_group("base_momentum", 0.8));
  o.max_momentum(s.per_group("max_momentum", 0.9));
  return [=](LrTarget& t) { return std::make_unique<CyclicLR>(t, o); };
}

Recipe one_cycle_lr(Spec& s) {
  OneCycleLROptions o(s.per_group("max_lr"));
  if (auto v = s.optional_integer("total_steps")) o.total_steps(*v);
  if (auto v = s.optional_integer("epochs")) o.epochs(*v);
  if (auto v = s.optional_integer("steps_per_epoch")) o.steps_per_epoch(*v);
  o.pct_start(s.number("pct_start", 0.3));
  const std::vector<std::string> strategies{"cos", "linear"};
  o.anneal_strategy(pick(s.choice("anneal_strategy", "cos", strategies), strategies,
                         {AnnealStrategy::cos, AnnealStrategy::linear}));
  o.cycle_momentum(s.boolean("cycle_momentum", true));
  o.base_momentum(s.per_group("base_momentum", 0.85));
  o.max_momentum(s.per_group("max_momentum", 0.95));
  o.div_factor(s.number("div_factor", 25.));
  o.final_div_factor(s.number("final_div_factor", 1e4));
  o.three_phase(s.boolean("three_phase", false));
  return [=](LrTarget& t) { return std::make_unique<OneCycleLR>(t, o); };
}

Recipe reduce_on_plateau(Spec& s) {
  ReduceLROnPlateauOptions o;
  const std::vector<std::string> modes{"min", "max"}, thresholds{"rel", "abs"};
  o.mode(pick(s.choice("mode", "min", modes), modes, {PlateauMode::min, PlateauMode::max}));
  o.factor(s.number("factor", 0.1));
  o.patience(s.integer("patience", 10));
  o.threshold(s.number("threshold", 1e-4));
  o.threshold_mode(pick(s.choice("threshold_mode", "rel", thresholds), thresholds,
                        {ThresholdMode::rel, ThresholdMode::abs}));
  o.cooldown(s.integer("cooldown", 0));
  o.min_lr(s.per_group("min_lr", 0.0));
  o.eps(s.number("eps", 1e-8));
  return [=](LrTarget& t) { return std::make_unique<ReduceLROnPlateau>(t, o); };
}

Recipe sequential_lr(Spec& s) {
  auto children = read_children(s);
  auto milestones = s.integers("milestones");
  return [=](LrTarget& t) {
    return std::make_unique<SequentialLR>(t, build_all(children, t), milestones);
  };
}

Recipe chained_scheduler(Spec& s) {
  auto children = read_children(s);
  return [=](LrTarget& t) { return std::make_unique<ChainedScheduler>(build_all(children, t)); };
}

// ---- Paddle --------------------------------------------------------------------
Recipe piecewise_decay(Spec& s) {
  auto boundaries = s.integers("boundaries");
  auto values = s.numbers("values");
  return [=](LrTarget& t) { return std::make_unique<PiecewiseDecay>(t, boundaries, values); };
}

Recipe natural_exp_decay(Spec& s) {
  auto lr = own_lr(s, "learning_rate");
  auto gamma = s.number("gamma");
  return [=](LrTarget& t) { return std::make_unique<NaturalExpDecay>(t, lr, gamma); };
}

Recipe inverse_time_decay(Spec& s) {
  auto lr = own_lr(s, "learning_rate");
  auto gamma = s.number("gamma");
  return [=](LrTarget& t) { return std::make_unique<InverseTimeDecay>(t, lr, gamma); };
}

Recipe polynomial_decay(Spec& s) {
  auto lr = own_lr(s, "learning_rate");
  auto decay_steps = s.integer("decay_steps");
  auto end_lr = s.number("end_lr", 0.0001);
  auto power = s.number("power", 1.0);
  auto cycle = s.boolean("cycle", false);
  return [=](LrTarget& t) {
    return std::make_unique<PolynomialDecay>(t, lr, decay_steps, end_lr, power, cycle);
  };
}

Recipe linear_warmup(Spec& s) {
  const nlohmann::json* after = s.find("learning_rate");
  auto warmup_steps = s.integer("warmup_steps");
  auto start_lr = s.number("start_lr");
  auto end_lr = s.number("end_lr");
  if (after && after->is_object()) {
    Recipe schedule =
        read_nested(*after, s.path("learning_rate"), "LinearWarmup",
                    {"SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"},
                    " (LinearWarmup hands over by epoch; put LinearWarmup inside it instead)");
    return [=](LrTarget& t) {
      return std::make_unique<LinearWarmup>(t, schedule, warmup_steps, start_lr, end_lr);
    };
  }
  DANLU_CHECK(!after || after->is_number(), s.path("learning_rate"),
              ": expected a number or a scheduler spec {\"type\": ...}, got ", after->dump());
  std::optional<double> lr;
  if (after) lr = after->get<double>();
  return [=](LrTarget& t) {
    return std::make_unique<LinearWarmup>(t, lr, warmup_steps, start_lr, end_lr);
  };
}

Recipe noam_decay(Spec& s) {
  auto d_model = s.number("d_model");
  auto warmup_steps = s.integer("warmup_steps");
  auto lr = own_lr(s, "learning_rate");
  return [=](LrTarget& t) { return std::make_unique<NoamDecay>(t, d_model, warmup_steps, lr); };
}

// ---- TensorFlow ----------------------------------------------------------------
Recipe cosine_decay(Spec& s) {
  auto lr = own_lr(s, "initial_learning_rate");
  auto decay_steps = s.integer("decay_steps");
  auto alpha = s.number("alpha", 0.0);
  return [=](LrTarget& t) { return std::make_unique<CosineDecay>(t, lr, decay_steps, alpha); };
}

Recipe cosine_decay_restarts(Spec& s) {
  auto lr = own_lr(s, "initial_learning_rate");
  auto first = s.integer("first_decay_steps");
  auto t_mul = s.number("t_mul", 2.0);
  auto m_mul = s.number("m_mul", 1.0);
  auto alpha = s.number("alpha", 0.0);
  return [=](LrTarget& t) {
    return std::make_unique<CosineDecayRestarts>(t, lr, first, t_mul, m_mul, alpha);
  };
}

Recipe linear_cosine_decay(Spec& s) {
  auto lr = own_lr(s, "initial_learning_rate");
  auto decay_steps = s.integer("decay_steps");
  auto num_periods = s.number("num_periods", 0.5);
  auto alpha = s.number("alpha", 0.0);
  auto beta = s.number("beta", 0.001);
  return [=](LrTarget& t) {
    return std::make_unique<LinearCosineDecay>(t, lr, decay_steps, num_periods, alpha, beta);
  };
}

Recipe noisy_linear_cosine_decay(Spec& s) {
  auto lr = own_lr(s, "initial_learning_rate");
  auto decay_steps = s.integer("decay_steps");
  auto initial_variance = s.number("initial_variance", 1.0);
  auto variance_decay = s.number("variance_decay", 0.55);
  auto num_periods = s.number("num_periods", 0.5);
  auto alpha = s.number("alpha", 0.0);
  auto beta = s.number("beta", 0.001);
  auto seed = seed_of(s);
  return [=](LrTarget& t) {
    return std::make_unique<NoisyLinearCosineDecay>(t, lr, decay_steps, initial_variance,
                                                    variance_decay, num_periods, alpha, beta, seed);
  };
}

// ---- Caffe ---------------------------------------------------------------------
Recipe caffe_inv(Spec& s) {
  auto lr = own_lr(s, "base_lr");
  auto gamma = s.number("gamma");
  auto power = s.number("power");
  return [=](LrTarget& t) { return std::make_unique<CaffeInv>(t, lr, gamma, power); };
}

Recipe caffe_sigmoid(Spec& s) {
  auto lr = own_lr(s, "base_lr");
  auto gamma = s.number("gamma");
  auto stepsize = s.integer("stepsize");
  return [=](LrTarget& t) { return std::make_unique<CaffeSigmoid>(t, lr, gamma, stepsize); };
}

const std::map<std::string, Reader>& readers() {
  static const std::map<std::string, Reader> all = {
      {"StepLR", step_lr},
      {"MultiStepLR", multi_step_lr},
      {"ConstantLR", constant_lr},
      {"LinearLR", linear_lr},
      {"ExponentialLR", exponential_lr},
      {"PolynomialLR", polynomial_lr},
      {"CosineAnnealingLR", cosine_annealing_lr},
      {"CosineAnnealingWarmRestarts", cosine_warm_restarts},
      {"CyclicLR", cyclic_lr},
      {"OneCycleLR", one_cycle_lr},
      {"ReduceLROnPlateau", reduce_on_plateau},
      {"SequentialLR", sequential_lr},
      {"ChainedScheduler", chained_scheduler},
      {"PiecewiseDecay", piecewise_decay},
      {"NaturalExpDecay", natural_exp_decay},
      {"InverseTimeDecay", inverse_time_decay},
      {"PolynomialDecay", polynomial_decay},
      {"LinearWarmup", linear_warmup},
      {"NoamDecay", noam_decay},
      {"CosineDecay", cosine_decay},
      {"CosineDecayRestarts", cosine_decay_restarts},
      {"LinearCosineDecay", linear_cosine_decay},
      {"NoisyLinearCosineDecay", noisy_linear_cosine_decay},
      {"inv", caffe_inv},
      {"sigmoid", caffe_sigmoid},
  };
  return all;
}

// The target's lrs and momentum, put back when building fails halfway.
class Snapshot {
 public:
  explicit Snapshot(LrTarget& t) : t_(t) {
    for (size_t g = 0; g < t.num_param_groups(); ++g) {
      lrs_.push_back(t.lr(g));
      if (t.has_momentum()) momentum_.push_back(t.momentum(g));
    }
  }
  void restore() const {
    for (size_t g = 0; g < lrs_.size(); ++g) t_.set_lr(g, lrs_[g]);
    for (size_t g = 0; g < momentum_.size(); ++g) t_.set_momentum(g, momentum_[g]);
  }

 private:
  LrTarget& t_;
  std::vector<double> lrs_, momentum_;
};

}  // namespace

std::vector<std::string> scheduler_types() {
  std::vector<std::string> names;
  for (const auto& [name, reader] : readers()) names.push_back(name);
  return names;
}

std::unique_ptr<LRScheduler> make_scheduler(const nlohmann::json& spec, LrTarget& target,
                                            int64_t iterations_per_epoch, const std::string& path) {
  Spec s(spec, path);
  const Interval interval =
      s.choice("interval", "step", {"step", "epoch"}) == "epoch" ? Interval::epoch : Interval::step;
  if (auto n = s.optional_integer("iterations_per_epoch")) {
    DANLU_CHECK(interval == Interval::epoch, s.path("iterations_per_epoch"),
                ": only meaningful with \"interval\": \"epoch\"");
    DANLU_CHECK(*n >= 1, s.path("iterations_per_epoch"), ": expected an integer >= 1, got ", *n);
    iterations_per_epoch = *n;
  }
  DANLU_CHECK(interval == Interval::step || iterations_per_epoch >= 1,
              s.path("iterations_per_epoch"),
              ": required with \"interval\": \"epoch\" (an integer >= 1) unless the trainer "
              "knows it");
  Recipe recipe = read(s);

  const Snapshot before(target);
  try {
    std::unique_ptr<LRScheduler> scheduler = recipe(target);
    if (interval == Interval::step) return scheduler;
    return std::make_unique<EpochStepper>(std::move(scheduler), iterations_per_epoch);
  } catch (...) {
    before.restore();
    throw;
  }
}

}  // namespace danlu::sched
