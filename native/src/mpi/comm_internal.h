// Internals of libforwardgrad_mpi: the communicator, its errors, and the deadline-bounded wait that
// every blocking call goes through.
#pragma once
// The C API only: Open MPI and MPICH would otherwise pull in their deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/error.h"
#include "forwardgrad_comm.h"

struct fg_comm {
    MPI_Comm mpi = MPI_COMM_NULL;
    int rank = 0;
    int size = 1;
    double timeout_seconds = 120.0;
    bool broken = false;          // a timed-out call left requests pending: refuse every later call
    std::string broken_reason;
    fg_comm_stats stats{};
    void* nccl = nullptr;         // ncclComm_t, created by the first device all-reduce
};

namespace fgc {

// Errors are fg::Error exceptions inside the plug-in, as in the core (core/error.h, compiled into the plug-in
// with its own thread-local message); guard() turns them into a status and the thread's message.
using fg::clear_last_error;
using fg::fail;
using fg::guard;
using fg::last_error;
using fg::set_last_error;

// Checks a communicator argument: not null, MPI alive, not broken by an earlier timeout.
fg_comm& usable(fg_comm* comm);
// Throws FG_ERR_COMM_PEER with MPI's own message when `code` is not MPI_SUCCESS.
void check_mpi(int code, const fg_comm& comm, const std::string& what);

// Polls `requests` until all complete or the communicator's deadline passes. On a timeout it marks the
// communicator broken and throws FG_ERR_COMM_TIMEOUT naming the peers in `peers` (one per request; -1:
// "one of the ranks") whose requests did not finish.
void wait_all(fg_comm& comm, std::vector<MPI_Request>& requests, const std::vector<int>& peers, const std::string& what);

// Calls `done` until it returns true or the deadline passes; on a timeout marks the communicator broken and
// throws FG_ERR_COMM_TIMEOUT naming `missing()` (e.g. "rank 2").
void poll_until(fg_comm& comm, const std::string& what, const std::function<bool()>& done,
                const std::function<std::string()>& missing);

// Tag of the deterministic all-reduce's gather; user tags are 0 .. kMaxUserTag.
constexpr int kGatherTag = 32000;
constexpr int kCountTag = 32001;
constexpr int kMaxUserTag = 29999;

// Destroys the NCCL communicator of `comm`, if any.
void release_nccl(fg_comm& comm);

// Accounts one call's bytes and time in comm.stats.
class CallClock {
public:
    explicit CallClock(fg_comm& comm) : comm_(comm), start_(std::chrono::steady_clock::now()) {}
    ~CallClock();
    void sent(uint64_t bytes) { comm_.stats.bytes_sent += bytes; }
    void received(uint64_t bytes) { comm_.stats.bytes_received += bytes; }

private:
    fg_comm& comm_;
    std::chrono::steady_clock::time_point start_;
};

// Every rank's value of `value` (one uint64 each) through a bounded all-gather, to check that the ranks
// agree before a collective moves data; throws FG_ERR_COMM_MISMATCH naming each rank's value otherwise.
void require_same_count(fg_comm& comm, uint64_t value, const char* unit, const std::string& what);

// MPI counts are int: refuses larger payloads with a message naming `what`.
int mpi_count(uint64_t count, const char* unit, const std::string& what);

}  // namespace fgc
