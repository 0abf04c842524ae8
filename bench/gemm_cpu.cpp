// The built-in CPU GEMM beside OpenBLAS, in f32 GFLOP/s, on the GEMMs the
// CPU convolution runs for configs/fashion_cnn.json and
// configs/fashion_resnet20.json (batch 128, as kernels/cpu/conv.cpp lowers
// them with two threads: forward, weight gradient, input gradient per
// layer) and on square matrices. Prints a table, then one JSON line last.
// Without OpenBLAS it times the built-in GEMM alone. Exits 77 when a GEMM
// fails to run (e.g. out of memory).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/gemm.h"

namespace {

using danlu::kernels::cpu::gemm_builtin;
using danlu::kernels::cpu::gemm_openblas;

struct Shape {
  const char* what;
  bool ta, tb;
  int64_t m, n, k;
};

// A conv layer (C in, O out channels, kxk kernel) whose chunk of images has
// `cols` output positions lowers to three GEMMs: y = W . cols (O x cols,
// K = C*k*k), dW = dy . cols^T, dcols = W^T . dy. `cols` is the chunk size
// conv.cpp's plan picks with two threads times OH*OW.
void conv_gemms(std::vector<Shape>& out, const char* layer, int64_t c, int64_t o, int64_t k,
                int64_t cols) {
  const int64_t rows = c * k * k;
  out.push_back({layer, false, false, o, cols, rows});
  out.push_back({layer, false, true, o, rows, cols});
  out.push_back({layer, true, false, rows, cols, o});
}

std::vector<Shape> shapes() {
  std::vector<Shape> s;
  conv_gemms(s, "cnn conv1 1->32 28x28", 1, 32, 3, 16 * 784);
  conv_gemms(s, "cnn conv2 32->64 14x14", 32, 64, 3, 6 * 196);
  conv_gemms(s, "cnn conv3 64->128 7x7", 64, 128, 3, 16 * 49);
  conv_gemms(s, "resnet20 stem 1->16 28x28", 1, 16, 3, 16 * 784);
  conv_gemms(s, "resnet20 16->16 28x28", 16, 16, 3, 2 * 784);
  conv_gemms(s, "resnet20 16->32 s2 14x14", 16, 32, 3, 9 * 196);
  conv_gemms(s, "resnet20 1x1 16->32 14x14", 16, 32, 1, 16 * 196);
  conv_gemms(s, "resnet20 32->32 14x14", 32, 32, 3, 6 * 196);
  conv_gemms(s, "resnet20 32->64 s2 7x7", 32, 64, 3, 16 * 49);
  conv_gemms(s, "resnet20 1x1 32->64 7x7", 32, 64, 1, 16 * 49);
  conv_gemms(s, "resnet20 64->64 7x7", 64, 64, 3, 16 * 49);
  for (int64_t n : {256, 512, 1024}) s.push_back({"square", false, false, n, n, n});
  return s;
}

using Gemm = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                      const float*, int64_t, float, float*, int64_t);

// Best GFLOP/s of `samples` timings, each of enough calls to last ~40 ms:
// the best is the run least disturbed by other work on a shared machine.
double gflops(Gemm gemm, const Shape& s, const std::vector<float>& a, const std::vector<float>& b,
              std::vector<float>& c, int samples) {
  const int64_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
  auto call = [&] {
    gemm(s.ta, s.tb, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, c.data(), s.n);
  };
  call();
  const double flop = 2.0 * s.m * s.n * s.k;
  double best = 0.0;
  for (int i = 0; i < samples; ++i) {
    int calls = 0;
    double seconds = 0.0;
    const auto start = std::chrono::steady_clock::now();
    do {
      call();
      ++calls;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (seconds < 0.04);
    best = std::max(best, flop * calls / seconds / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Built-in CPU GEMM vs OpenBLAS, f32 GFLOP/s"};
  int threads = omp_get_max_threads(), samples = 5;
  app.add_option("--threads", threads, "threads for both GEMMs")->check(CLI::PositiveNumber);
  app.add_option("--samples", samples, "timings per GEMM, best kept")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  omp_set_num_threads(threads);

  bool with_openblas = true;
  try {
    float one = 1.0f, out = 0.0f;
    gemm_openblas<float>(false, false, 1, 1, 1, 1.0f, &one, 1, &one, 1, 0.0f, &out, 1);
  } catch (const danlu::Error& e) {
    with_openblas = false;
    std::fprintf(stderr, "timing the built-in GEMM alone: %s\n", e.what());
  }

  std::printf("%d threads; built-in kernel %s; cpu::gemm runs %s\n", threads,
              danlu::kernels::cpu::gemm_builtin_kernel<float>().c_str(),
              danlu::kernels::cpu::gemm_description().c_str());
  std::printf("%-28s %-6s %6s %6s %6s %10s %10s %7s\n", "layer", "op", "M", "N", "K",
              "built-in", "OpenBLAS", "ratio");
  // All built-in timings first, then all OpenBLAS ones (both threaded by
  // OpenMP: gemm_openblas gives each thread a block of C).
  const std::vector<Shape> all = shapes();
  std::vector<double> ours(all.size()), theirs(all.size(), 0.0);
  try {
    for (int lib = 0; lib < (with_openblas ? 2 : 1); ++lib)
      for (size_t i = 0; i < all.size(); ++i) {
        const Shape& s = all[i];
        std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
        for (size_t e = 0; e < a.size(); ++e) a[e] = float(e % 17) / 17.0f - 0.5f;
        for (size_t e = 0; e < b.size(); ++e) b[e] = float(e % 13) / 13.0f - 0.5f;
        (lib == 0 ? ours : theirs)[i] =
            gflops(lib == 0 ? &gemm_builtin<float> : &gemm_openblas<float>, s, a, b, c, samples);
      }
  } catch (const danlu::Error& e) {
    std::fprintf(stderr, "cannot run: %s\n", e.what());
    return 77;
  }
  std::string json = "[";
  double log_ratio = 0.0;
  for (size_t i = 0; i < all.size(); ++i) {
    const Shape& s = all[i];
    const std::string op = std::string(s.ta ? "A^T" : "A") + (s.tb ? "B^T" : "B");
    std::printf("%-28s %-6s %6lld %6lld %6lld %10.1f %10.1f %7.2f\n", s.what, op.c_str(),
                (long long)s.m, (long long)s.n, (long long)s.k, ours[i], theirs[i],
                with_openblas ? ours[i] / theirs[i] : 0.0);
    if (with_openblas) log_ratio += std::log(ours[i] / theirs[i]);
    char row[256];
    std::snprintf(row, sizeof row,
                  "%s{\"layer\":\"%s\",\"op\":\"%s\",\"m\":%lld,\"n\":%lld,\"k\":%lld,"
                  "\"builtin_gflops\":%.2f,\"openblas_gflops\":%.2f}",
                  i ? "," : "", s.what, op.c_str(), (long long)s.m, (long long)s.n,
                  (long long)s.k, ours[i], theirs[i]);
    json += row;
  }
  const int rows = int(all.size());
  const double geomean = with_openblas ? std::exp(log_ratio / rows) : 0.0;
  if (with_openblas) std::printf("geometric mean of built-in / OpenBLAS: %.2f\n", geomean);
  std::printf(
      "{\"threads\":%d,\"builtin_kernel\":\"%s\",\"gemm\":\"%s\",\"geomean_ratio\":%.3f,"
      "\"gemms\":%s]}\n",
      threads, danlu::kernels::cpu::gemm_builtin_kernel<float>().c_str(),
      danlu::kernels::cpu::gemm_description().c_str(),
      geomean, json.c_str());
  return 0;
}
