// NCCL for CUDA buffers, loaded at run time: no NCCL headers or libraries are needed to build. Only the
// handful of entry points used here are declared, with NCCL 2's types and values.
#include <dlfcn.h>

#include <cstring>
#include <mutex>

#include "comm_internal.h"

namespace {

using nccl_result = int;  // ncclResult_t; ncclSuccess == 0
struct nccl_unique_id {
    char internal[128];  // NCCL_UNIQUE_ID_BYTES
};
constexpr int kNcclFloat32 = 7;  // ncclFloat32
constexpr int kNcclSum = 0;      // ncclSum
constexpr int kNcclAvg = 4;      // ncclAvg, NCCL >= 2.10

struct NcclApi {
    void* library = nullptr;
    std::string error;  // why it is not usable; empty when it is
    int version = 0;
    nccl_result (*get_version)(int*) = nullptr;
    nccl_result (*get_unique_id)(nccl_unique_id*) = nullptr;
    nccl_result (*comm_init_rank)(void**, int, nccl_unique_id, int) = nullptr;
    nccl_result (*all_reduce)(const void*, void*, size_t, int, int, void*, void*) = nullptr;
    nccl_result (*comm_destroy)(void*) = nullptr;
    const char* (*error_string)(nccl_result) = nullptr;
};

template <class T>
bool bind(NcclApi& api, T& slot, const char* name) {
    slot = reinterpret_cast<T>(dlsym(api.library, name));
    if (!slot) api.error = std::string("libnccl.so.2 has no ") + name;
    return slot != nullptr;
}

const NcclApi& nccl() {
    static NcclApi api;
    static std::once_flag once;
    std::call_once(once, [] {
        api.library = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
        if (!api.library) {
            const char* reason = dlerror();
            api.error = std::string("libnccl.so.2 could not be loaded (") + (reason ? reason : "not found") +
                        "); install NCCL 2.10 or newer (NVIDIA's libnccl2 package) or put it on LD_LIBRARY_PATH. "
                        "Without it, CUDA buffers are staged through host memory";
            return;
        }
        if (!bind(api, api.get_version, "ncclGetVersion") || !bind(api, api.get_unique_id, "ncclGetUniqueId") ||
            !bind(api, api.comm_init_rank, "ncclCommInitRank") || !bind(api, api.all_reduce, "ncclAllReduce") ||
            !bind(api, api.comm_destroy, "ncclCommDestroy") || !bind(api, api.error_string, "ncclGetErrorString")) {
            return;
        }
        api.get_version(&api.version);
        if (api.version < 21000) {
            api.error = "libnccl.so.2 is version " + std::to_string(api.version) + "; the mean needs NCCL 2.10 (21000) or newer";
        }
    });
    return api;
}

void check_nccl(const NcclApi& api, nccl_result code, const std::string& what) {
    if (code != 0) fgc::fail(FG_ERR_BACKEND, what + " failed: " + api.error_string(code));
}

}  // namespace

namespace fgc {
void release_nccl(fg_comm& comm) {
    if (comm.nccl && nccl().comm_destroy) nccl().comm_destroy(comm.nccl);
    comm.nccl = nullptr;
}
}  // namespace fgc

extern "C" {

FG_COMM_API fg_status fg_comm_nccl_probe(int32_t* available, char* reason, int32_t reason_capacity) {
    return fgc::guard("fg_comm_nccl_probe", [&] {
        if (!available) fgc::fail(FG_ERR_INVALID_ARGUMENT, "available is NULL");
        const NcclApi& api = nccl();
        *available = api.error.empty() ? 1 : 0;
        if (reason && reason_capacity > 0) {
            std::string text = api.error.empty() ? "NCCL " + std::to_string(api.version) : api.error;
            std::strncpy(reason, text.c_str(), static_cast<size_t>(reason_capacity) - 1);
            reason[reason_capacity - 1] = 0;
        }
    });
}

FG_COMM_API fg_status fg_comm_allreduce_device_f32(fg_comm* handle, void* device_data, uint64_t count, int32_t op,
                                                   void* stream) {
    return fgc::guard("fg_comm_allreduce_device_f32", [&] {
        fg_comm& comm = fgc::usable(handle);
        const NcclApi& api = nccl();
        if (!api.error.empty()) fgc::fail(FG_ERR_UNSUPPORTED, api.error);
        if (op != FG_COMM_SUM && op != FG_COMM_MEAN) {
            fgc::fail(FG_ERR_INVALID_ARGUMENT, "op must be FG_COMM_SUM (0) or FG_COMM_MEAN (1), got " + std::to_string(op));
        }
        if (!device_data && count > 0) fgc::fail(FG_ERR_INVALID_ARGUMENT, "device_data is NULL but count is " + std::to_string(count));
        fgc::CallClock clock(comm);
        fgc::require_same_count(comm, count, "element", "device all-reduce");
        if (!comm.nccl) {
            nccl_unique_id id{};
            if (comm.rank == 0) check_nccl(api, api.get_unique_id(&id), "ncclGetUniqueId");
            std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
            fgc::check_mpi(MPI_Ibcast(&id, sizeof id, MPI_BYTE, 0, comm.mpi, &request[0]), comm, "NCCL id broadcast");
            fgc::wait_all(comm, request, {comm.rank == 0 ? -1 : 0}, "NCCL id broadcast");
            check_nccl(api, api.comm_init_rank(&comm.nccl, comm.size, id, comm.rank), "ncclCommInitRank");
        }
        // Enqueued on the stream: the caller's stream synchronisation waits for it.
        check_nccl(api, api.all_reduce(device_data, device_data, count, kNcclFloat32, op == FG_COMM_MEAN ? kNcclAvg : kNcclSum,
                                       comm.nccl, stream),
                   "ncclAllReduce");
        clock.sent(2 * count * sizeof(float));
        clock.received(2 * count * sizeof(float));
    });
}

}  // extern "C"
