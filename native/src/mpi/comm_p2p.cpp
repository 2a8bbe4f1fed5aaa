// Point-to-point messages, bounded by the time limit; a receive checks the message's size first.
#include "comm_internal.h"

namespace {

void check_peer(const fg_comm& comm, int32_t peer, int32_t tag, const char* role) {
    if (peer < 0 || peer >= comm.size || peer == comm.rank) {
        fgc::fail(FG_ERR_INVALID_ARGUMENT, std::string(role) + " " + std::to_string(peer) + " is not another rank of this communicator (0.." +
                                               std::to_string(comm.size - 1) + ", this is rank " + std::to_string(comm.rank) + ")");
    }
    if (tag < 0 || tag > fgc::kMaxUserTag) {
        fgc::fail(FG_ERR_INVALID_ARGUMENT, "tag must be in 0.." + std::to_string(fgc::kMaxUserTag) + ", got " + std::to_string(tag));
    }
}

}  // namespace

extern "C" {

FG_COMM_API fg_status fg_comm_send(fg_comm* handle, const void* data, uint64_t bytes, int32_t destination, int32_t tag) {
    return fgc::guard("fg_comm_send", [&] {
        fg_comm& comm = fgc::usable(handle);
        check_peer(comm, destination, tag, "destination");
        if (!data && bytes > 0) fgc::fail(FG_ERR_INVALID_ARGUMENT, "data is NULL but bytes is " + std::to_string(bytes));
        const int count = fgc::mpi_count(bytes, "bytes", "send");
        fgc::CallClock clock(comm);
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        fgc::check_mpi(MPI_Isend(data, count, MPI_BYTE, destination, tag, comm.mpi, &request[0]), comm, "send");
        fgc::wait_all(comm, request, {destination}, "send to rank " + std::to_string(destination));
        clock.sent(bytes);
    });
}

FG_COMM_API fg_status fg_comm_recv(fg_comm* handle, void* data, uint64_t bytes, int32_t source, int32_t tag) {
    return fgc::guard("fg_comm_recv", [&] {
        fg_comm& comm = fgc::usable(handle);
        check_peer(comm, source, tag, "source");
        if (!data && bytes > 0) fgc::fail(FG_ERR_INVALID_ARGUMENT, "data is NULL but bytes is " + std::to_string(bytes));
        const int count = fgc::mpi_count(bytes, "bytes", "receive");
        fgc::CallClock clock(comm);
        const std::string what = "receive from rank " + std::to_string(source) + " (tag " + std::to_string(tag) + ")";
        MPI_Message message = MPI_MESSAGE_NULL;
        MPI_Status status;
        fgc::poll_until(
            comm, what,
            [&] {
                int found = 0;
                fgc::check_mpi(MPI_Improbe(source, tag, comm.mpi, &found, &message, &status), comm, what);
                return found != 0;
            },
            [&] { return "rank " + std::to_string(source); });
        int arrived = 0;
        MPI_Get_count(&status, MPI_BYTE, &arrived);
        if (arrived != count) {
            std::vector<char> drain(static_cast<size_t>(arrived));
            MPI_Mrecv(drain.data(), arrived, MPI_BYTE, &message, MPI_STATUS_IGNORE);
            fgc::fail(FG_ERR_COMM_MISMATCH, "rank " + std::to_string(comm.rank) + " expected " + std::to_string(bytes) +
                                                " bytes from rank " + std::to_string(source) + " (tag " + std::to_string(tag) +
                                                ") but the message has " + std::to_string(arrived));
        }
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        fgc::check_mpi(MPI_Imrecv(data, count, MPI_BYTE, &message, &request[0]), comm, what);
        fgc::wait_all(comm, request, {source}, what);
        clock.received(bytes);
    });
}

}  // extern "C"
