// The worker pool behind parallel_for (see parallel.h).
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif
#include "gemm_provider.h"

namespace fg::cpu {

namespace {

int32_t usable_cpus() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
    return static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
}

class Pool {
public:
    // Returns false (nothing run) when another thread's loop holds the pool.
    bool run(int32_t threads, int64_t n, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx) {
        std::unique_lock<std::mutex> owner(dispatch_, std::try_to_lock);
        if (!owner.owns_lock()) return false;
        // Workers are started on first need and kept: as many as the largest loop asked for, less its caller.
        while (static_cast<int32_t>(threads_.size()) < threads - 1) {
            threads_.emplace_back([this] { work(); });
            caller_cpu_ = -1;  // the new worker has not been kept off the caller's CPU yet
        }
        const int32_t helpers = threads - 1;
        keep_off_callers_cpu();
        // A few chunks per thread, so a thread that loses its core for a while does not hold up the rest.
        const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(n / grain, 4 * (helpers + 1)));
        {
            std::lock_guard<std::mutex> lk(mu_);
            body_ = body;
            ctx_ = ctx;
            n_ = n;
            chunks_ = chunks;
            next_.store(0, std::memory_order_relaxed);
            open_ = true;
            admitted_ = 0;
            max_admitted_ = helpers;
            ++generation_;
        }
        wake_.notify_all();
        drain();
        std::unique_lock<std::mutex> lk(mu_);
        open_ = false;  // a worker that wakes from now on skips this loop
        done_.wait(lk, [&] { return running_ == 0; });
        return true;
    }

private:
    // Wakes would put a worker on the waker's CPU, behind the caller, whenever every CPU is busy, which
    // is the case right after a GEMM (OpenBLAS's threads spin for a while). So the workers may run on
    // every CPU but the caller's; the mask is set again only when the caller has moved or a worker is new.
    void keep_off_callers_cpu() {
#if defined(__linux__)
        const int cpu = sched_getcpu();
        if (cpu < 0 || cpu == caller_cpu_) return;
        cpu_set_t allowed;
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
        CPU_CLR(cpu, &allowed);
        if (CPU_COUNT(&allowed) == 0) return;
        for (auto& t : threads_) pthread_setaffinity_np(t.native_handle(), sizeof allowed, &allowed);
        caller_cpu_ = cpu;
#endif
    }

    void drain() {
        for (int64_t c; (c = next_.fetch_add(1, std::memory_order_relaxed)) < chunks_;) {
            const int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
            body_(ctx_, begin, end);
        }
    }

    void work() {
        uint64_t seen = 0;
        std::unique_lock<std::mutex> lk(mu_);
        for (;;) {
            wake_.wait(lk, [&] { return generation_ != seen; });
            seen = generation_;
            if (!open_ || admitted_ >= max_admitted_) continue;
            ++admitted_;
            ++running_;
            lk.unlock();
            drain();
            lk.lock();
            if (--running_ == 0) done_.notify_one();
        }
    }

    std::mutex dispatch_;  // one loop at a time
    std::mutex mu_;
    std::condition_variable wake_, done_;
    uint64_t generation_ = 0;
    bool open_ = false;
    int32_t admitted_ = 0, max_admitted_ = 0, running_ = 0;
    void (*body_)(void*, int64_t, int64_t) = nullptr;
    void* ctx_ = nullptr;
    int64_t n_ = 0, chunks_ = 0;
    std::atomic<int64_t> next_{0};
    std::vector<std::thread> threads_;
    int caller_cpu_ = -1;
};

// Never destroyed: joining threads from a static destructor can deadlock at unload, and the OS
// reclaims them at exit.
Pool& pool() {
    static Pool* p = new Pool();
    return *p;
}

}  // namespace

int32_t default_loop_threads() {
    if (const char* env = std::getenv("FG_CPU_LOOP_THREADS")) {
        const int t = std::atoi(env);
        if (t > 0) return std::min(t, 256);
    }
    if (auto get = gemm_provider().get_threads) {
        const int t = get();
        if (t > 0) return std::min(t, usable_cpus());
    }
    return usable_cpus();
}

void parallel_for_raw(int32_t threads, int64_t n, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx) {
    if (!pool().run(threads, n, grain, body, ctx)) body(ctx, 0, n);
}

}  // namespace fg::cpu
