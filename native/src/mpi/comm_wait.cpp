// The deadline-bounded wait behind every blocking call, MPI error text, and count agreement.
#include <sched.h>
#include <time.h>

#include <climits>
#include <cstdio>
#include <functional>
#include <sstream>

#include "comm_internal.h"

namespace fgc {

fg_comm& usable(fg_comm* comm) {
    if (!comm) fail(FG_ERR_INVALID_ARGUMENT, "comm is NULL");
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) fail(FG_ERR_INVALID_ARGUMENT, "MPI is already finalised (fg_comm_finalize was called)");
    if (comm->broken) {
        fail(FG_ERR_COMM_PEER, "the communicator is unusable after an earlier failure (" + comm->broken_reason +
                                   "); report it and end the process (fg_comm_abort)");
    }
    return *comm;
}

void check_mpi(int code, const fg_comm& comm, const std::string& what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {0};
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail(FG_ERR_COMM_PEER, "rank " + std::to_string(comm.rank) + ": " + what + " failed: MPI reported \"" +
                               std::string(text, length) + "\" (a peer process may have died)");
}

int mpi_count(uint64_t count, const char* unit, const std::string& what) {
    if (count > static_cast<uint64_t>(INT_MAX)) {
        fail(FG_ERR_INVALID_ARGUMENT, what + ": " + std::to_string(count) + " " + unit +
                                          " exceed MPI's limit of INT_MAX per call; split the payload");
    }
    return static_cast<int>(count);
}

namespace {
std::string seconds_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", seconds);
    return text;
}

std::string peer_list(const std::vector<int>& peers) {
    std::ostringstream out;
    bool any_rank = false;
    for (size_t i = 0; i < peers.size(); ++i) {
        if (peers[i] < 0) any_rank = true;
    }
    if (any_rank) return "one or more of the other ranks";
    out << (peers.size() == 1 ? "rank " : "ranks ");
    for (size_t i = 0; i < peers.size(); ++i) out << (i ? ", " : "") << peers[i];
    return out.str();
}

void pause_briefly(std::chrono::steady_clock::duration waited) {
    // Yield while a peer is likely close (keeps MPI's progress fast); sleep once the wait is long, so a
    // rank waiting for a slow peer does not take a core from it.
    if (waited < std::chrono::milliseconds(20)) {
        sched_yield();
    } else {
        timespec pause{0, 500 * 1000};
        nanosleep(&pause, nullptr);
    }
}
}  // namespace

void poll_until(fg_comm& comm, const std::string& what, const std::function<bool()>& done,
                const std::function<std::string()>& missing) {
    using clock = std::chrono::steady_clock;
    const clock::time_point start = clock::now();
    const clock::time_point deadline = start + std::chrono::duration_cast<clock::duration>(
                                                   std::chrono::duration<double>(comm.timeout_seconds));
    for (;;) {
        if (done()) return;
        const clock::time_point now = clock::now();
        if (now >= deadline) {
            comm.broken = true;
            comm.broken_reason = "timeout in " + what;
            fail(FG_ERR_COMM_TIMEOUT, "rank " + std::to_string(comm.rank) + " of " + std::to_string(comm.size) +
                                          " waited " + seconds_text(comm.timeout_seconds) + " s in " + what + " for " +
                                          missing() +
                                          ", which did not take part (dead, stuck or far slower); raise the limit "
                                          "(FG_COMM_TIMEOUT_S, --comm-timeout) only if the ranks are merely slow");
        }
        pause_briefly(now - start);
    }
}

void wait_all(fg_comm& comm, std::vector<MPI_Request>& requests, const std::vector<int>& peers, const std::string& what) {
    auto peer_of = [&](size_t i) { return i < peers.size() ? peers[i] : -1; };
    poll_until(
        comm, what,
        [&] {
            bool pending = false;
            for (size_t i = 0; i < requests.size(); ++i) {
                if (requests[i] == MPI_REQUEST_NULL) continue;
                int finished = 0;
                int code = MPI_Test(&requests[i], &finished, MPI_STATUS_IGNORE);
                if (code != MPI_SUCCESS) {
                    comm.broken = true;
                    comm.broken_reason = what + " failed";
                    const int peer = peer_of(i);
                    check_mpi(code, comm, what + (peer >= 0 ? " with rank " + std::to_string(peer) : std::string()));
                }
                if (!finished) pending = true;
            }
            return !pending;
        },
        [&] {
            std::vector<int> missing;
            for (size_t i = 0; i < requests.size(); ++i) {
                if (requests[i] != MPI_REQUEST_NULL) missing.push_back(peer_of(i));
            }
            return peer_list(missing);
        });
}

void require_same_count(fg_comm& comm, uint64_t value, const char* unit, const std::string& what) {
    if (comm.size == 1) return;
    // Gathered point to point at rank 0 (which then knows who is missing) and broadcast back.
    const std::string step = what + " (count check)";
    std::vector<uint64_t> all(static_cast<size_t>(comm.size));
    all[static_cast<size_t>(comm.rank)] = value;
    if (comm.rank == 0) {
        std::vector<MPI_Request> requests(static_cast<size_t>(comm.size - 1), MPI_REQUEST_NULL);
        std::vector<int> peers;
        for (int r = 1; r < comm.size; ++r) {
            check_mpi(MPI_Irecv(&all[static_cast<size_t>(r)], 1, MPI_UINT64_T, r, kCountTag, comm.mpi,
                                &requests[static_cast<size_t>(r - 1)]),
                      comm, step);
            peers.push_back(r);
        }
        wait_all(comm, requests, peers, step);
    } else {
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        check_mpi(MPI_Isend(&value, 1, MPI_UINT64_T, 0, kCountTag, comm.mpi, &request[0]), comm, step);
        wait_all(comm, request, {0}, step);
    }
    std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
    check_mpi(MPI_Ibcast(all.data(), comm.size, MPI_UINT64_T, 0, comm.mpi, &request[0]), comm, step);
    wait_all(comm, request, {comm.rank == 0 ? -1 : 0}, step);
    comm.stats.bytes_sent += comm.rank == 0 ? sizeof(uint64_t) * comm.size * (comm.size - 1) : sizeof(uint64_t);
    comm.stats.bytes_received += comm.rank == 0 ? sizeof(uint64_t) * (comm.size - 1) : sizeof(uint64_t) * comm.size;
    for (uint64_t other : all) {
        if (other == value) continue;
        std::ostringstream out;
        out << "the ranks passed different " << unit << " counts (";
        for (int r = 0; r < comm.size; ++r) out << (r ? ", " : "") << "rank " << r << ": " << all[static_cast<size_t>(r)];
        out << "); every rank must pass the same count";
        fail(FG_ERR_COMM_MISMATCH, out.str());
    }
}

CallClock::~CallClock() {
    comm_.stats.calls += 1;
    comm_.stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace fgc
