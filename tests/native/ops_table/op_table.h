// The op table: every op of the public C ABI, each defined once with its shape cases, a float64 oracle
// (plain loops over the definitions in forwardgrad.h, nothing of the library's), tolerances and its
// flop / byte count. Three drivers read it: the CTest cases (tests/native/test_op_table.cpp), the GPU
// parity check (bench/native/gpu_check/parity_main.cpp) and the kernel benchmarks (bench/native/
// bench_ops.cpp, bench/native/gpu_check/bench.cpp). Dependency-free: only forwardgrad.h and the C++
// standard library, so the GPU check builds without GoogleTest or Google Benchmark.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "forwardgrad.h"

namespace optable {

// One host array of a problem: an input (uploaded before the call) or an output (downloaded after).
struct Array {
    std::string name;
    std::vector<float> f;    // float32 contents; for an output, its contents before the call
    std::vector<int32_t> i;  // int32 contents instead (labels)
    bool output = false;
    bool poison = false;     // an output filled with NaN before the call: every element must be written
    uint64_t bytes() const { return (f.size() + i.size()) * 4; }
};

// What the oracle says an output must hold: |got - want| <= atol + rtol * |want|, element by element.
struct Expect {
    int array = -1;            // index into Problem::arrays
    std::vector<double> want;  // empty: no closed-form oracle; the output is compared across backends only
    std::vector<size_t> at;    // the array elements `want` holds (empty: all of them, in order)
    double rtol = 0, atol = 0;
    bool atol_times_max = false;  // across backends: atol * (1 + max |reference|) (outputs of many chained ops)
};

using Buffers = std::vector<fg_buffer*>;  // one per array, in order

// A case made concrete: host data, the call on one context, and the oracle's expectations.
struct Problem {
    std::vector<Array> arrays;
    std::function<fg_status(fg_context*, const Buffers&)> call;
    std::function<std::vector<Expect>(const Problem&)> oracle;

    int input(std::string name, std::vector<float> v);
    int input(std::string name, std::vector<int32_t> v);
    int output(std::string name, size_t floats);                  // NaN-poisoned
    int output(std::string name, std::vector<float> initial);     // accumulated into / updated in place
    const std::vector<float>& f(int array) const { return arrays[size_t(array)].f; }
};

// Per call: arithmetic (multiply and add count 2) and bytes read plus written, for GFLOP/s or GB/s.
struct Cost {
    double flops = 0, bytes = 0;
};

// One table entry: an op at one shape. `make` builds the problem on demand (benchmark shapes reach GBs).
struct Case {
    std::string op;      // the C function (or "linear_separate" / "linear_backprop": the same ops composed)
    std::string shape;   // human-readable: "dense R129 300->17 K1 wdot b"
    Cost cost;
    bool parity = true;  // run by CTest and the GPU parity check (false: a benchmark-only shape)
    // Benchmark name without the backend: family "BM_LinearJvp", rest "S1_1/dense_784x256/B100/K1" gives
    // "BM_LinearJvp/<backend>/S1_1/dense_784x256/B100/K1". Empty family: not benchmarked.
    std::string bench_family, bench_rest;
    bool bench_loop_threads = false;  // also benchmarked on a CPU context with one loop thread (cpu_loops1)
    std::function<Problem()> make;

    std::string label() const { return op + " " + shape; }
};

// The whole table, built once.
const std::vector<Case>& cases();
// The distinct op names, in table order.
std::vector<std::string> ops();

// ---------------------------------------------------------------- helpers for the case files
// Uniform in [-scale, scale) + offset, a function of (seed, index) only: the same on every platform.
std::vector<float> uniform(size_t n, uint32_t seed, float scale = 1.0f, float offset = 0.0f);
std::string dims(std::initializer_list<int64_t> d);  // "3x5x7"
// Indices of an output whose oracle is evaluated: all of them up to `limit`, else an even stride through
// it (first and last included), so paper-sized benchmark shapes are checked in seconds.
std::vector<size_t> sample(size_t count, size_t limit = size_t(1) << 18);
double max_abs(const std::vector<double>& v);
// LayerNorm rows with a spread-out variance (an alternating +-1 pattern plus noise in [-0.5, 0.5]) and a
// per-row offset in [-offset_scale, offset_scale], so no row is nearly constant and the mean matters.
std::vector<float> ln_input(int64_t rows, int64_t dim, uint32_t seed, float offset_scale = 3.0f);
fg_optimizer_params sgd_params(float lr, float momentum, float wd, int32_t decoupled);
fg_optimizer_params adamw_params(float lr, float wd, float beta1, float beta2, float eps);

// Registration, one function per family (cases_*.cpp).
void add_gemm_cases(std::vector<Case>& t);
void add_linear_cases(std::vector<Case>& t);
void add_elementwise_cases(std::vector<Case>& t);  // buffers, random normal, LayerNorm, ReLU
void add_loss_cases(std::vector<Case>& t);         // local loss, FG-A / FG-W estimators
void add_optimizer_cases(std::vector<Case>& t);
void add_mixer_cases(std::vector<Case>& t);

}  // namespace optable
