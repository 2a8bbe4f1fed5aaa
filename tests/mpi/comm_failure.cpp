// A peer that stops taking part, run under mpirun by ctest: the surviving rank must return a timeout
// (or MPI's own failure) naming the peer within its time limit, print it, and end the job.
//   comm_failure stuck   rank 1 sleeps instead of joining the all-reduce
//   comm_failure killed  rank 1 kills itself (SIGKILL) instead of joining
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "forwardgrad_comm.h"

int main(int argc, char** argv) {
    const bool killed = argc > 1 && std::strcmp(argv[1], "killed") == 0;
    fg_comm* world = nullptr;
    if (fg_comm_create_world(0, &world) != FG_OK) {
        std::fprintf(stderr, "fg_comm_create_world: %s\n", fg_comm_last_error());
        return 2;
    }
    int32_t rank = 0;
    fg_comm_rank(world, &rank);
    std::vector<float> gradient(100000, 1.0f);
    // One good step first: the failure comes mid-run, not at start-up.
    if (fg_comm_allreduce_f32(world, gradient.data(), gradient.size(), FG_COMM_SUM, FG_COMM_DETERMINISTIC) != FG_OK) {
        std::fprintf(stderr, "rank %d: first step failed: %s\n", rank, fg_comm_last_error());
        return 2;
    }
    // Start-up may be slow on a loaded machine; the failing step gets the short limit.
    fg_comm_set_timeout(world, 2.0);
    if (rank == 1) {
        if (killed) raise(SIGKILL);
        sleep(30);  // stuck: ctest's own timeout would end it, but the job's abort comes first
        return 0;
    }
    auto start = std::chrono::steady_clock::now();
    fg_status status = fg_comm_allreduce_f32(world, gradient.data(), gradient.size(), FG_COMM_SUM, FG_COMM_DETERMINISTIC);
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("rank %d: %s after %.1f s: %s\n", rank, fg_comm_status_string(status), waited, fg_comm_last_error());
    std::fflush(stdout);
    if (status == FG_OK) return 1;
    fg_comm_abort(world, 3);
    return 3;
}
