// The CPU convolution's two paths side by side (kernels/cpu/conv.cpp, lowered
// to GEMM, and kernels/cpu/conv_direct.cpp) on the 3x3 stride-1 layers of the
// shipped configs at batch 128: forward, dx alone and dweight alone, in ms
// (the median of --repeats runs after one warm-up) and GFLOP/s, the ratio
// lowered / direct (above 1: direct is faster), and which path
// DANLU_CPU_CONV=auto takes for the forward and dx, and for dweight. Prints a
// table, then one JSON line last.
//
//   build/default/conv_cpu_paths [--repeats 7] [--batch 128] [--threads N]
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/conv.h"

namespace {

using danlu::kernels::Conv2dShape;

struct Layer {
  const char* what;
  int64_t c, o, size;
};

// The 3x3, stride-1, padding-1 layers of configs/fashion_cnn.json and
// configs/fashion_resnet20.json.
const std::vector<Layer> kLayers = {
    {"cnn conv1 1->32 28x28", 1, 32, 28},     {"cnn conv2 32->64 14x14", 32, 64, 14},
    {"cnn conv3 64->128 7x7", 64, 128, 7},    {"resnet20 stem 1->16 28x28", 1, 16, 28},
    {"resnet20 16->16 28x28", 16, 16, 28},    {"resnet20 32->32 14x14", 32, 32, 14},
    {"resnet20 64->64 7x7", 64, 64, 7},
};

Conv2dShape shape_of(const Layer& l, int64_t batch) {
  Conv2dShape s;
  s.n = batch, s.c = l.c, s.h = s.w = l.size, s.o = l.o;
  s.kh = s.kw = 3, s.pad_h = s.pad_w = 1;
  s.oh = s.ow = l.size;
  return s;
}

template <class F>
double median_ms(int repeats, F&& run) {
  run();  // warm-up: first-touch pages, OpenBLAS threads
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Milliseconds of the forward, dx alone and dweight alone on `path`.
struct Times {
  double forward, dx, dweight;
};

Times time_path(const char* path, const Conv2dShape& s, int repeats) {
  setenv("DANLU_CPU_CONV", path, 1);
  const auto filled = [](int64_t n, float v) { return std::vector<float>(size_t(n), v); };
  const int64_t x_size = s.n * s.c * s.h * s.w, y_size = s.n * s.o * s.oh * s.ow;
  std::vector<float> x = filled(x_size, 0.5f), dx = filled(x_size, 0.f);
  std::vector<float> w = filled(s.o * s.c * 9, 0.01f), dw = filled(s.o * s.c * 9, 0.f);
  std::vector<float> y = filled(y_size, 0.f), dy = filled(y_size, 0.25f);
  std::vector<float> ws = filled(danlu::kernels::cpu::conv2d_workspace(s), 0.f);
  using danlu::kernels::cpu::conv2d_backward;
  using danlu::kernels::cpu::conv2d_forward;
  Times t;
  t.forward = median_ms(repeats, [&] {
    conv2d_forward<float>(x.data(), w.data(), nullptr, y.data(), ws.data(), s);
  });
  t.dx = median_ms(repeats, [&] {
    conv2d_backward<float>(x.data(), w.data(), dy.data(), dx.data(), nullptr, nullptr, ws.data(),
                           s);
  });
  t.dweight = median_ms(repeats, [&] {
    conv2d_backward<float>(x.data(), w.data(), dy.data(), nullptr, dw.data(), nullptr, ws.data(),
                           s);
  });
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The CPU convolution's lowered and direct paths side by side"};
  int repeats = 7, threads = 0;
  int64_t batch = 128;
  app.add_option("--repeats", repeats, "timed runs per measurement (median)")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "images per call")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "OpenMP threads (default: all)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) omp_set_num_threads(threads);

  // One untimed pass over everything first: the first GEMMs of a process
  // load OpenBLAS and start its threads.
  for (const Layer& l : kLayers)
    for (const char* path : {"lowered", "direct"}) time_path(path, shape_of(l, batch), 1);
  std::printf("batch %lld, %d threads, medians of %d\n", static_cast<long long>(batch),
              omp_get_max_threads(), repeats);
  std::printf("%-28s %-8s %9s %9s %9s %8s %8s %8s  %s\n", "layer", "path", "fwd ms", "dx ms",
              "dw ms", "fwd GF/s", "dx GF/s", "dw GF/s", "");
  std::string json = "{\"batch\":" + std::to_string(batch) +
                     ",\"threads\":" + std::to_string(omp_get_max_threads()) + ",\"layers\":[";
  for (size_t i = 0; i < kLayers.size(); ++i) {
    const Conv2dShape s = shape_of(kLayers[i], batch);
    const double gflop = 2.0 * s.n * s.o * s.c * 9 * s.oh * s.ow / 1e9;
    setenv("DANLU_CPU_CONV", "auto", 1);
    const bool auto_direct = danlu::kernels::cpu::conv2d_runs_direct(s);
    const bool auto_direct_dw = danlu::kernels::cpu::conv2d_runs_direct_weight(s);
    const Times lowered = time_path("lowered", s, repeats);
    const Times direct = time_path("direct", s, repeats);
    for (const auto& [path, t] : {std::pair{"lowered", lowered}, std::pair{"direct", direct}}) {
      const bool is_direct = std::string(path) == "direct";
      const std::string picked = std::string(is_direct == auto_direct ? " fwd,dx" : "") +
                                 (is_direct == auto_direct_dw ? " dw" : "");
      std::printf("%-28s %-8s %9.3f %9.3f %9.3f %8.1f %8.1f %8.1f  %s\n", kLayers[i].what, path,
                  t.forward, t.dx, t.dweight, gflop / t.forward * 1e3, gflop / t.dx * 1e3,
                  gflop / t.dweight * 1e3, picked.empty() ? "" : ("<- auto:" + picked).c_str());
    }
    std::printf("%-28s %-8s %9.2f %9.2f %9.2f  (lowered / direct; above 1: direct is faster)\n",
                "", "ratio", lowered.forward / direct.forward, lowered.dx / direct.dx,
                lowered.dweight / direct.dweight);
    char row[512];
    std::snprintf(row, sizeof row,
                  "%s{\"layer\":\"%s\",\"auto\":\"%s\",\"auto_dweight\":\"%s\","
                  "\"lowered_ms\":[%.4f,%.4f,%.4f],"
                  "\"direct_ms\":[%.4f,%.4f,%.4f]}",
                  i ? "," : "", kLayers[i].what, auto_direct ? "direct" : "lowered",
                  auto_direct_dw ? "direct" : "lowered",
                  lowered.forward, lowered.dx, lowered.dweight, direct.forward, direct.dx,
                  direct.dweight);
    json += row;
  }
  std::printf("%s]}\n", json.c_str());
  return 0;
}
