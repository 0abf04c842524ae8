// DataLoader: an epoch is a permutation plus a list of batches, each a pure
// function of (dataset, options, epoch, batch index). Workers claim batch
// indices in order and park finished batches in `ready`; next() hands them
// out in order. Claims stay within `window` batches of the one the training
// loop asks for next, which bounds the memory held by prefetched batches.
#include "engine/io/data_loader.h"

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/cuda_memory.h"
#include "engine/error.h"
#include "engine/io/device_dataset.h"
#include "engine/io/device_prefetch.h"
#include "engine/random.h"

namespace danlu::io {

struct DataLoader::Plan {
  ImageDataset data;
  DataLoaderOptions options;
  int64_t batches = 0;
  std::shared_ptr<const DeviceDataset> resident;  // set when the data lives on the GPU
  std::string not_resident;                        // why not, when it was asked for
};

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The seed of one random stream of one epoch: stream 0 shuffles, stream
// i + 1 augments the image at position i. Hashing keeps nearby (seed,
// epoch, i) unrelated.
uint64_t stream_seed(uint64_t seed, int64_t epoch, int64_t stream) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^
                    static_cast<uint64_t>(stream));
}

}  // namespace

struct Epoch::State {
  std::shared_ptr<const DataLoader::Plan> plan;
  int64_t epoch = 0;
  std::vector<int64_t> order;  // the dataset index of each position in the epoch
  int64_t window = 1;          // batches that may be claimed but not yet delivered

  std::mutex mutex;
  std::condition_variable batch_ready;  // signals the training loop
  std::condition_variable slot_free;    // signals the workers
  int64_t next_to_build = 0;
  int64_t next_to_deliver = 0;
  std::map<int64_t, Batch> ready;
  bool stop = false;
  std::exception_ptr error;
  std::vector<std::thread> workers;
  std::unique_ptr<DevicePrefetcher> prefetch;  // set when batches go to a GPU

  ~State() {
    {
      std::lock_guard lock(mutex);
      stop = true;
    }
    slot_free.notify_all();
    for (std::thread& t : workers) t.join();
  }

  // Batch b's first position in the epoch and its number of examples.
  std::pair<int64_t, int64_t> rows(int64_t b) const {
    const DataLoaderOptions& opts = plan->options;
    const int64_t first = (b * opts.shard_count_ + opts.shard_rank_) * opts.batch_size_;
    return {first, std::clamp<int64_t>(plan->data.size() - first, 0, opts.batch_size_)};
  }

  // Gathers batch b's examples, augmented and normalised, into new host tensors.
  Batch build(int64_t b) const {
    const ImageDataset& data = plan->data;
    const DataLoaderOptions& opts = plan->options;
    const Shape& s = data.images.shape();
    const int64_t c = s[1], h = s[2], w = s[3], example = c * h * w;
    const auto [first, count] = rows(b);
    Batch batch{Tensor::empty({count, c, h, w}), Tensor::empty({count}, DType::i64)};
    const float* src = data.images.data<float>();
    const int64_t* labels = data.labels.data<int64_t>();
    float* dst = batch.images.data<float>();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t index = order[first + i];
      Generator gen(stream_seed(opts.seed_, epoch, first + i + 1));
      transform(src + index * example, dst + i * example, c, h, w, opts.augmentation_,
                opts.normalization_, gen);
      batch.labels.data<int64_t>()[i] = labels[index];
    }
    return batch;
  }

  void work() {
    for (;;) {
      int64_t b;
      {
        std::unique_lock lock(mutex);
        slot_free.wait(lock, [&] {
          return stop || next_to_build >= plan->batches || next_to_build < next_to_deliver + window;
        });
        if (stop || next_to_build >= plan->batches) return;
        b = next_to_build++;
      }
      try {
        Batch batch = build(b);
        std::lock_guard lock(mutex);
        ready.emplace(b, std::move(batch));
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        stop = true;
      }
      batch_ready.notify_one();
    }
  }

  // The next batch gathered on the GPU from the resident dataset: the host
  // only draws each example's augmentation, from the same generator build()
  // uses.
  std::optional<Batch> next_resident() {
    if (next_to_deliver >= plan->batches) return std::nullopt;
    const DataLoaderOptions& opts = plan->options;
    const Shape& s = plan->data.images.shape();
    const auto [first, count] = rows(next_to_deliver++);
    std::vector<int64_t> indices;
    std::vector<AugmentDraws> draws;
    for (int64_t i = 0; i < count; ++i) {
      Generator gen(stream_seed(opts.seed_, epoch, first + i + 1));
      indices.push_back(order[first + i]);
      draws.push_back(draw_augmentation(s[2], s[3], opts.augmentation_, gen));
    }
    return plan->resident->gather(indices, draws, opts.augmentation_, opts.normalization_);
  }

  // The next batch in host memory, built here or taken from the workers.
  std::optional<Batch> next_host() {
    if (workers.empty()) {
      if (next_to_deliver >= plan->batches) return std::nullopt;
      return build(next_to_deliver++);
    }
    std::unique_lock lock(mutex);
    if (next_to_deliver >= plan->batches) return std::nullopt;
    batch_ready.wait(lock, [&] { return error || ready.count(next_to_deliver); });
    if (error) std::rethrow_exception(error);
    Batch batch = std::move(ready.extract(next_to_deliver++).mapped());
    lock.unlock();
    slot_free.notify_all();
    return batch;
  }
};

Epoch::Epoch(std::unique_ptr<State> state) : state_(std::move(state)) {}
Epoch::Epoch(Epoch&&) noexcept = default;
Epoch& Epoch::operator=(Epoch&&) noexcept = default;
Epoch::~Epoch() = default;

int64_t Epoch::size() const { return state_->plan->batches; }

// On a GPU the batch handed out was copied while the previous one trained,
// and the one after it starts copying before this returns.
std::optional<Batch> Epoch::next() {
  State& s = *state_;
  if (s.plan->resident) return s.next_resident();
  if (!s.prefetch) return s.next_host();
  if (!s.prefetch->pending()) {
    std::optional<Batch> first = s.next_host();
    if (!first) return std::nullopt;
    s.prefetch->start(*first);
  }
  Batch batch = s.prefetch->take();
  if (std::optional<Batch> following = s.next_host()) s.prefetch->start(*following);
  return batch;
}

DataLoader::DataLoader(const ImageDataset& data, DataLoaderOptions options) {
  const Tensor& x = data.images;
  const Tensor& y = data.labels;
  DANLU_CHECK(x.defined() && y.defined(), "DataLoader: the dataset has no images or labels");
  DANLU_CHECK(x.dim() == 4 && x.dtype() == DType::f32 && x.device().is_cpu(),
              "DataLoader: expected host f32 images of shape (N, C, H, W), got ", x.str());
  DANLU_CHECK(y.dim() == 1 && y.dtype() == DType::i64 && y.size(0) == x.size(0),
              "DataLoader: expected i64 labels of shape (", x.size(0), "), got ", y.str());
  DANLU_CHECK(options.batch_size_ >= 1, "DataLoader: batch_size must be >= 1, got ",
              options.batch_size_);
  DANLU_CHECK(options.num_workers_ >= 0, "DataLoader: num_workers must be >= 0, got ",
              options.num_workers_);
  DANLU_CHECK(options.prefetch_batches_ >= 1, "DataLoader: prefetch_batches must be >= 1, got ",
              options.prefetch_batches_);
  DANLU_CHECK(options.shard_count_ >= 1 && options.shard_rank_ >= 0 &&
                  options.shard_rank_ < options.shard_count_,
              "DataLoader: shard rank ", options.shard_rank_, " of ", options.shard_count_,
              " is not a shard (expected 0 <= rank < count)");
  validate(options.augmentation_, options.normalization_, x.size(1));
  if (options.device_.is_cuda()) require_cuda_device(options.device_, "DataLoader");
  const int64_t n = data.size(), bs = options.batch_size_ * options.shard_count_;
  const int64_t batches = options.drop_last_ ? n / bs : (n + bs - 1) / bs;
  auto plan = std::make_shared<Plan>(Plan{data, std::move(options), batches, nullptr, ""});
  if (plan->options.device_.is_cuda() && plan->options.on_device_) {
    const Augmentation& aug = plan->options.augmentation_;
    if (aug.random_crop && aug.crop_padding > INT16_MAX / 2)
      plan->not_resident = "a crop padding beyond what the GPU gather indexes (16383)";
    else
      plan->resident = DeviceDataset::upload(data, plan->options.device_, plan->not_resident);
  }
  plan_ = std::move(plan);
}

bool DataLoader::resident() const { return plan_->resident != nullptr; }

const std::string& DataLoader::on_device_note() const { return plan_->not_resident; }

int64_t DataLoader::size() const { return plan_->batches; }

const DataLoaderOptions& DataLoader::options() const { return plan_->options; }

Epoch DataLoader::epoch(int64_t e) const {
  DANLU_CHECK(e >= 0, "DataLoader::epoch: the epoch number must be >= 0, got ", e);
  const DataLoaderOptions& opts = plan_->options;
  auto state = std::make_unique<Epoch::State>();
  state->plan = plan_;
  state->epoch = e;
  if (opts.shuffle_) {
    state->order = Generator(stream_seed(opts.seed_, e, 0)).randperm(plan_->data.size());
  } else {
    state->order.resize(plan_->data.size());
    for (int64_t i = 0; i < plan_->data.size(); ++i) state->order[i] = i;
  }
  state->window = std::max<int64_t>(opts.prefetch_batches_, opts.num_workers_);
  if (opts.device_.is_cuda() && !plan_->resident)
    state->prefetch = std::make_unique<DevicePrefetcher>(opts.device_);
  const int64_t workers = plan_->resident ? 0 : std::min<int64_t>(opts.num_workers_, plan_->batches);
  Epoch epoch(std::move(state));  // from here on, its destructor joins the workers started
  for (int64_t w = 0; w < workers; ++w)
    epoch.state_->workers.emplace_back([s = epoch.state_.get()] { s->work(); });
  return epoch;
}

}  // namespace danlu::io
