// All-reduce (MPI's or the fixed-order one), broadcast and barrier, each bounded by the time limit.
#include <cstring>

#include "comm_internal.h"

namespace {

void check_op(int32_t op, int32_t mode) {
    if (op != FG_COMM_SUM && op != FG_COMM_MEAN) {
        fgc::fail(FG_ERR_INVALID_ARGUMENT, "op must be FG_COMM_SUM (0) or FG_COMM_MEAN (1), got " + std::to_string(op));
    }
    if (mode != FG_COMM_FAST && mode != FG_COMM_DETERMINISTIC) {
        fgc::fail(FG_ERR_INVALID_ARGUMENT,
                  "mode must be FG_COMM_FAST (0) or FG_COMM_DETERMINISTIC (1), got " + std::to_string(mode));
    }
}

void allreduce_fast(fg_comm& comm, fgc::CallClock& clock, float* data, int count) {
    std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
    fgc::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, data, count, MPI_FLOAT, MPI_SUM, comm.mpi, &request[0]), comm,
                   "all-reduce");
    fgc::wait_all(comm, request, {-1}, "all-reduce");
    // What MPI's algorithm moves varies; a ring or reduce-broadcast sends about twice the payload per rank.
    clock.sent(2ull * count * sizeof(float));
    clock.received(2ull * count * sizeof(float));
}

// Rank 0 receives every buffer, adds them in rank order in double, and broadcasts the rounded sum.
void allreduce_fixed_order(fg_comm& comm, fgc::CallClock& clock, float* data, int count, bool mean) {
    const size_t n = static_cast<size_t>(count);
    const uint64_t bytes = n * sizeof(float);
    if (comm.rank == 0) {
        std::vector<float> received(n * static_cast<size_t>(comm.size - 1));
        std::vector<MPI_Request> requests(static_cast<size_t>(comm.size - 1), MPI_REQUEST_NULL);
        std::vector<int> peers;
        for (int r = 1; r < comm.size; ++r) {
            fgc::check_mpi(MPI_Irecv(received.data() + (r - 1) * n, count, MPI_FLOAT, r, fgc::kGatherTag, comm.mpi,
                                     &requests[static_cast<size_t>(r - 1)]),
                           comm, "all-reduce (gather)");
            peers.push_back(r);
        }
        fgc::wait_all(comm, requests, peers, "all-reduce (gather)");
        clock.received(bytes * (comm.size - 1));
        const double scale = mean ? 1.0 / comm.size : 1.0;
        for (size_t i = 0; i < n; ++i) {
            double sum = data[i];
            for (int r = 1; r < comm.size; ++r) sum += received[(r - 1) * n + i];
            data[i] = static_cast<float>(sum * scale);
        }
    } else {
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        fgc::check_mpi(MPI_Isend(data, count, MPI_FLOAT, 0, fgc::kGatherTag, comm.mpi, &request[0]), comm,
                       "all-reduce (send to rank 0)");
        fgc::wait_all(comm, request, {0}, "all-reduce (send to rank 0)");
        clock.sent(bytes);
    }
    std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
    fgc::check_mpi(MPI_Ibcast(data, count, MPI_FLOAT, 0, comm.mpi, &request[0]), comm, "all-reduce (broadcast)");
    fgc::wait_all(comm, request, {comm.rank == 0 ? -1 : 0}, "all-reduce (broadcast from rank 0)");
    if (comm.rank == 0) {
        clock.sent(bytes * (comm.size - 1));
    } else {
        clock.received(bytes);
    }
}

}  // namespace

extern "C" {

FG_COMM_API fg_status fg_comm_allreduce_f32(fg_comm* handle, float* data, uint64_t count, int32_t op, int32_t mode) {
    return fgc::guard("fg_comm_allreduce_f32", [&] {
        fg_comm& comm = fgc::usable(handle);
        check_op(op, mode);
        if (!data && count > 0) fgc::fail(FG_ERR_INVALID_ARGUMENT, "data is NULL but count is " + std::to_string(count));
        const int elements = fgc::mpi_count(count, "floats", "all-reduce");
        fgc::CallClock clock(comm);
        fgc::require_same_count(comm, count, "element", "all-reduce");
        if (comm.size == 1 || count == 0) return;
        if (mode == FG_COMM_DETERMINISTIC) {
            allreduce_fixed_order(comm, clock, data, elements, op == FG_COMM_MEAN);
            return;
        }
        allreduce_fast(comm, clock, data, elements);
        if (op == FG_COMM_MEAN) {
            const float scale = 1.0f / static_cast<float>(comm.size);
            for (uint64_t i = 0; i < count; ++i) data[i] *= scale;
        }
    });
}

FG_COMM_API fg_status fg_comm_broadcast(fg_comm* handle, void* data, uint64_t bytes, int32_t root) {
    return fgc::guard("fg_comm_broadcast", [&] {
        fg_comm& comm = fgc::usable(handle);
        if (root < 0 || root >= comm.size) {
            fgc::fail(FG_ERR_INVALID_ARGUMENT,
                      "root " + std::to_string(root) + " is not a rank of this communicator (0.." + std::to_string(comm.size - 1) + ")");
        }
        if (!data && bytes > 0) fgc::fail(FG_ERR_INVALID_ARGUMENT, "data is NULL but bytes is " + std::to_string(bytes));
        const int count = fgc::mpi_count(bytes, "bytes", "broadcast");
        fgc::CallClock clock(comm);
        fgc::require_same_count(comm, bytes, "byte", "broadcast");
        if (comm.size == 1 || bytes == 0) return;
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        fgc::check_mpi(MPI_Ibcast(data, count, MPI_BYTE, root, comm.mpi, &request[0]), comm, "broadcast");
        fgc::wait_all(comm, request, {comm.rank == root ? -1 : root},
                      "broadcast from rank " + std::to_string(root));
        if (comm.rank == root) {
            clock.sent(bytes * (comm.size - 1));
        } else {
            clock.received(bytes);
        }
    });
}

FG_COMM_API fg_status fg_comm_barrier(fg_comm* handle) {
    return fgc::guard("fg_comm_barrier", [&] {
        fg_comm& comm = fgc::usable(handle);
        fgc::CallClock clock(comm);
        if (comm.size == 1) return;
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        fgc::check_mpi(MPI_Ibarrier(comm.mpi, &request[0]), comm, "barrier");
        fgc::wait_all(comm, request, {-1}, "barrier");
    });
}

}  // extern "C"
