// Helpers for the LocalMixer tests: an owning model handle with host access to parameters and
// gradients, configs, synthetic data.
#pragma once
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

namespace fgtest {

inline fg_mixer_config mixer_config(int32_t h, int32_t w, int32_t cin, int32_t classes, int32_t blocks, int32_t grid,
                                    int32_t channels, int32_t groups, uint64_t seed = 7) {
    fg_mixer_config c{};
    c.size = sizeof c;
    c.image_height = h, c.image_width = w, c.image_channels = cin, c.classes = classes;
    c.blocks = blocks, c.grid = grid, c.channels = channels, c.groups = groups;
    c.seed = seed;
    return c;
}

// 2 blocks, 4x4x1 images, grid 2 (P = 4, D_in = 4), C = 8, G = 2, 3 classes.
inline fg_mixer_config tiny_config(int32_t pre_ln = 0, int32_t inter_ln = 0, int32_t blocks = 2, int32_t final_ln = 0) {
    fg_mixer_config c = mixer_config(4, 4, 1, 3, blocks, 2, 8, 2);
    c.pre_linear_ln = pre_ln;
    c.inter_ln = inter_ln;
    c.final_ln = final_ln;
    return c;
}

inline fg_step_options step_options(int32_t method, int32_t tangents = 1, uint32_t step = 0, uint64_t seed = 11) {
    fg_step_options o{};
    o.size = sizeof o;
    o.method = method;
    o.tangents = tangents;
    o.step = step;
    o.seed = seed;
    o.head_lr = 1.0f;
    o.last_layer_lr = 0.1f;
    return o;
}

struct Mixer {
    fg_mixer* m = nullptr;
    fg_mixer_config cfg{};
    Mixer(fg_context* ctx, const fg_mixer_config& c) : cfg(c) {
        if (fg_mixer_create(ctx, &c, &m) != FG_OK) m = nullptr;
    }
    ~Mixer() { fg_mixer_free(m); }
    Mixer(const Mixer&) = delete;
    Mixer& operator=(const Mixer&) = delete;
    operator fg_mixer*() const { return m; }

    int32_t count() const {
        int32_t n = 0;
        fg_mixer_param_count(m, &n, nullptr);
        return n;
    }
    fg_param_info info(int32_t i) const {
        fg_param_info p{};
        p.size = sizeof p;
        fg_mixer_param_info(m, i, &p);
        return p;
    }
    fg_buffer* buffer(int32_t i, bool grad) const {
        fg_buffer *p = nullptr, *g = nullptr;
        fg_mixer_param(m, i, &p, &g);
        return grad ? g : p;
    }
    std::vector<float> get(int32_t i, bool grad = false) const {
        std::vector<float> v(static_cast<size_t>(info(i).elements));
        fg_buffer_download(buffer(i, grad), 0, v.data(), v.size() * sizeof(float));
        return v;
    }
    void set(int32_t i, const std::vector<float>& v) const {
        fg_buffer_upload(buffer(i, false), 0, v.data(), v.size() * sizeof(float));
    }
    std::vector<std::vector<float>> params() const {
        std::vector<std::vector<float>> all;
        for (int32_t i = 0; i < count(); ++i) all.push_back(get(i));
        return all;
    }
    std::vector<std::vector<float>> grads() const {
        std::vector<std::vector<float>> all;
        for (int32_t i = 0; i < count(); ++i) all.push_back(get(i, true));
        return all;
    }
    // The feedback matrices of a feedback-alignment method.
    int32_t feedback_count(int32_t method) const {
        int32_t n = -1;
        fg_mixer_feedback_count(m, method, &n);
        return n;
    }
    fg_param_info feedback_info(int32_t method, int32_t i) const {
        fg_param_info p{};
        p.size = sizeof p;
        fg_mixer_feedback_info(m, method, i, &p);
        return p;
    }
    fg_buffer* feedback(int32_t method, int32_t i) const {
        fg_buffer* b = nullptr;
        fg_mixer_feedback(m, method, i, &b);
        return b;
    }
    std::vector<float> get_feedback(int32_t method, int32_t i) const {
        std::vector<float> v(static_cast<size_t>(feedback_info(method, i).elements));
        fg_buffer_download(feedback(method, i), 0, v.data(), v.size() * sizeof(float));
        return v;
    }
    void set_feedback(int32_t method, int32_t i, const std::vector<float>& v) const {
        fg_buffer_upload(feedback(method, i), 0, v.data(), v.size() * sizeof(float));
    }
    // Every parameter (final classifier and biases included) random, so no gradient is trivially 0.
    void randomize(uint32_t seed, float scale = 0.5f) const {
        for (int32_t i = 0; i < count(); ++i) set(i, random_vector(static_cast<size_t>(info(i).elements), seed + i, scale));
    }
};

// Images (B, H, W, Cin) and labels for a config.
struct Batch {
    std::vector<float> images;
    std::vector<int32_t> labels;
    Buffer img, lab;
    Batch(fg_context* ctx, const fg_mixer_config& c, int64_t batch, uint32_t seed) {
        images = random_vector(static_cast<size_t>(batch * c.image_height * c.image_width * c.image_channels), seed);
        for (int64_t n = 0; n < batch; ++n) labels.push_back(static_cast<int32_t>((n * 7 + seed) % c.classes));
        img = Buffer(ctx, images);
        lab = Buffer(ctx, labels);
    }
    Batch(fg_context* ctx, std::vector<float> imgs, std::vector<int32_t> labs)
        : images(std::move(imgs)), labels(std::move(labs)), img(ctx, images), lab(ctx, labels) {}
    // Images [start, start + count) as a batch of their own: a data-parallel shard.
    Batch shard(fg_context* ctx, int64_t start, int64_t count) const {
        const size_t image = images.size() / labels.size();
        return Batch(ctx, std::vector<float>(images.begin() + start * image, images.begin() + (start + count) * image),
                     std::vector<int32_t>(labels.begin() + start, labels.begin() + start + count));
    }
};

// ||got - want|| and ||want|| of one tensor.
inline std::pair<double, double> difference_and_norm(const std::vector<float>& got, const std::vector<float>& want) {
    double diff = 0, norm = 0;
    for (size_t j = 0; j < want.size(); ++j) {
        diff += std::pow(double(got[j]) - want[j], 2);
        norm += double(want[j]) * want[j];
    }
    return {std::sqrt(diff), std::sqrt(norm)};
}

// ||got - want|| <= tol * max(||want||, 1e-3) per tensor (the token biases' gradients are rounding noise).
inline ::testing::AssertionResult grads_close(const std::vector<std::vector<float>>& got, const std::vector<std::vector<float>>& want,
                                              double tol, const std::string& label) {
    for (size_t i = 0; i < want.size(); ++i) {
        const auto [diff, norm] = difference_and_norm(got[i], want[i]);
        if (diff > tol * std::max(norm, 1e-3))
            return ::testing::AssertionFailure() << label << ": tensor " << i << " differs by " << diff << " (norm "
                                                 << norm << ")";
    }
    return ::testing::AssertionSuccess();
}

// The largest ||got - want|| / max(||want||, floor) over the tensors.
inline double largest_relative_difference(const std::vector<std::vector<float>>& got,
                                          const std::vector<std::vector<float>>& want, double floor) {
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const auto [diff, norm] = difference_and_norm(got[i], want[i]);
        worst = std::max(worst, diff / std::max(norm, floor));
    }
    return worst;
}

// Whether the thread's last error message contains `what`.
inline bool message_has(const char* what) { return std::string(fg_last_error()).find(what) != std::string::npos; }

inline double cosine(const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) d += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
    return na == 0 || nb == 0 ? 0.0 : d / std::sqrt(na * nb);
}

}  // namespace fgtest
