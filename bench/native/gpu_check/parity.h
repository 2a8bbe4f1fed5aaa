// CPU-vs-CUDA parity check: every op runs on a CPU context (the reference) and on a CUDA context
// with identical inputs; outputs are poisoned with NaN first, downloaded and compared.
// One table row per (op, case). A row passes when every element of every output it checks satisfies
//   |cuda - cpu| <= atol + rtol * |cpu|   and both values are finite.
// max rel err is taken over the elements with |cpu| > atol (the rest are judged by atol alone).
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "forwardgrad.h"

namespace parity {

enum { CPU = 0, GPU = 1 };

// The two contexts every case runs on.
struct Env {
    fg_context* ctx[2] = {nullptr, nullptr};
};

// Two buffers, one per context, with the same contents.
struct Twin {
    fg_buffer* b[2] = {nullptr, nullptr};
    uint64_t bytes = 0;
    Twin() = default;
    Twin(const Env& env, uint64_t nbytes);  // NaN-poisoned
    template <class T>
    Twin(const Env& env, const std::vector<T>& host) : Twin(env, host.size() * sizeof(T)) {
        set(host.data());
    }
    ~Twin();
    Twin(Twin&& o) noexcept;
    Twin& operator=(Twin&& o) noexcept;
    Twin(const Twin&) = delete;
    Twin& operator=(const Twin&) = delete;

    fg_buffer* operator[](int side) const { return b[side]; }
    void set(const void* host) const;  // uploads `bytes` bytes to both
    void poison() const;               // NaN everywhere, on both
    std::vector<float> get(int side) const;
};

// One line of the result table.
struct Row {
    std::string op, shape;
    double max_abs = 0, max_rel = 0, rtol = 0, atol = 0;  // tolerances: the largest used in the row
    bool pass = true;
    std::vector<std::string> notes;  // why it failed: statuses, first mismatching indices

    Row(std::string op_, std::string shape_) : op(std::move(op_)), shape(std::move(shape_)) {}
    // Runs call(CPU) then call(GPU); on a non-OK status the row fails with the message.
    bool run(const std::function<fg_status(int side)>& call);
    // Compares the CUDA result `got` with the CPU result `want` element by element.
    void check(const std::string& what, const std::vector<float>& got, const std::vector<float>& want, double rtol,
               double atol);
    void check(const std::string& what, const Twin& t, double rtol, double atol) { check(what, t.get(GPU), t.get(CPU), rtol, atol); }
    void fail(const std::string& why);
};

// Prints the row (and its notes when it failed) and counts it.
void report(const Row& row);

// Uniform in [-scale, scale] + offset, from a fixed seed.
std::vector<float> uniform(size_t n, uint32_t seed, float scale = 1.0f, float offset = 0.0f);
double max_abs(const std::vector<float>& v);
std::string dims(std::initializer_list<int64_t> d);  // "3x5x7"

// Suites, one per op family; each reports its rows.
void suite_buffers(const Env& env);
void suite_gemm(const Env& env);
void suite_random(const Env& env);
void suite_linear(const Env& env);
void suite_layernorm(const Env& env);
void suite_relu(const Env& env);
void suite_local_loss(const Env& env);
void suite_contrastive_loss(const Env& env);
void suite_estimators(const Env& env);
void suite_optimizer(const Env& env);
void suite_mixer(const Env& env);

}  // namespace parity
