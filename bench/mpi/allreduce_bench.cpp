// Time of one all-reduce of a gradient-sized float buffer over the ranks of mpirun, per mode: the median of
// `repeats` calls after a barrier each, so the time is the exchange itself, not waiting for a slower rank.
//   mpirun -np 2 fg_comm_bench [floats (default 429086: M/1/16's gradients and step statistics)] [repeats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "forwardgrad_comm.h"

int main(int argc, char** argv) {
    const uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 429086;
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 50;
    fg_comm* world = nullptr;
    if (fg_comm_create_world(30, &world) != FG_OK) {
        std::fprintf(stderr, "%s\n", fg_comm_last_error());
        return 1;
    }
    int32_t rank = 0, size = 1;
    fg_comm_rank(world, &rank);
    fg_comm_size(world, &size);
    std::vector<float> data(count, 1.0f);
    for (int mode : {FG_COMM_DETERMINISTIC, FG_COMM_FAST}) {
        std::vector<double> times;
        for (int i = 0; i < repeats; ++i) {
            fg_comm_barrier(world);
            auto start = std::chrono::steady_clock::now();
            if (fg_comm_allreduce_f32(world, data.data(), count, FG_COMM_SUM, mode) != FG_OK) {
                std::fprintf(stderr, "rank %d: %s\n", rank, fg_comm_last_error());
                return 1;
            }
            times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
            std::fill(data.begin(), data.end(), 1.0f);
        }
        std::sort(times.begin(), times.end());
        if (rank == 0) {
            std::printf("%d ranks, %llu floats (%.2f MB), %s: median %.2f ms, min %.2f ms\n", size,
                        static_cast<unsigned long long>(count), count * 4 / 1e6,
                        mode == FG_COMM_FAST ? "fast (MPI_Allreduce)" : "deterministic (rank order)", times[times.size() / 2],
                        times.front());
        }
    }
    fg_comm_free(world);
    fg_comm_finalize();
    return 0;
}
