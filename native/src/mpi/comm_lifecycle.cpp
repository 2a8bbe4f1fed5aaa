// Creating and ending communicators; MPI initialisation and finalisation.
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "comm_internal.h"

namespace {
std::atomic<int> g_live_comms{0};
bool g_we_initialised = false;
bool g_any_broken = false;

double default_timeout() {
    if (const char* text = std::getenv("FG_COMM_TIMEOUT_S")) {
        char* end = nullptr;
        double value = std::strtod(text, &end);
        if (end != text && value > 0) return value;
    }
    return 120.0;
}

// Open MPI loads its components with dlopen and expects libmpi's symbols to be global; a host that loaded
// this plug-in with RTLD_LOCAL (the .NET runtime does) would hide them, so promote libmpi first.
void make_mpi_symbols_global() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) && info.dli_fname) {
        dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    }
}

void ensure_mpi() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) fgc::fail(FG_ERR_UNSUPPORTED, "MPI was finalised in this process and cannot be initialised again");
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    make_mpi_symbols_global();
    int provided = 0;
    int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (code != MPI_SUCCESS) fgc::fail(FG_ERR_BACKEND, "MPI_Init_thread failed with code " + std::to_string(code));
    g_we_initialised = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

fg_comm* wrap(MPI_Comm mpi, double timeout) {
    auto* comm = new fg_comm();
    comm->mpi = mpi;
    comm->timeout_seconds = timeout;
    MPI_Comm_set_errhandler(mpi, MPI_ERRORS_RETURN);
    MPI_Comm_rank(mpi, &comm->rank);
    MPI_Comm_size(mpi, &comm->size);
    comm->stats.size = sizeof(fg_comm_stats);
    ++g_live_comms;
    return comm;
}

// A private duplicate, so the plug-in's messages never match another library's on the same ranks.
fg_comm* duplicate(fg_comm& scratch, MPI_Comm source, const std::string& what) {
    MPI_Comm copy = MPI_COMM_NULL;
    std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
    fgc::check_mpi(MPI_Comm_idup(source, &copy, &request[0]), scratch, what);
    fgc::wait_all(scratch, request, {-1}, what);
    return wrap(copy, scratch.timeout_seconds);
}
}  // namespace

extern "C" {

FG_COMM_API int32_t fg_comm_abi_version(void) { return FG_COMM_ABI_VERSION; }

FG_COMM_API const char* fg_comm_version(void) { return FG_COMM_VERSION_STRING; }

FG_COMM_API const char* fg_comm_mpi_version(void) {
    static char text[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
    if (!text[0]) {
        int length = 0;
        MPI_Get_library_version(text, &length);
        for (int i = 0; i < length; ++i) {
            if (text[i] == '\n' || text[i] == ',') {
                text[i] = 0;
                break;
            }
        }
    }
    return text;
}

FG_COMM_API fg_status fg_comm_create_world(double timeout_seconds, fg_comm** out_comm) {
    return fgc::guard("fg_comm_create_world", [&] {
        if (!out_comm) fgc::fail(FG_ERR_INVALID_ARGUMENT, "out_comm is NULL");
        *out_comm = nullptr;
        if (!(timeout_seconds >= 0)) fgc::fail(FG_ERR_INVALID_ARGUMENT, "timeout_seconds must be >= 0 (0: the default)");
        ensure_mpi();
        fg_comm scratch;
        scratch.mpi = MPI_COMM_WORLD;
        MPI_Comm_rank(MPI_COMM_WORLD, &scratch.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &scratch.size);
        scratch.timeout_seconds = timeout_seconds > 0 ? timeout_seconds : default_timeout();
        *out_comm = duplicate(scratch, MPI_COMM_WORLD, "creating the world communicator");
    });
}

FG_COMM_API fg_status fg_comm_split(fg_comm* parent, int32_t color, int32_t key, fg_comm** out_comm) {
    return fgc::guard("fg_comm_split", [&] {
        if (!out_comm) fgc::fail(FG_ERR_INVALID_ARGUMENT, "out_comm is NULL");
        *out_comm = nullptr;
        fg_comm& comm = fgc::usable(parent);
        if (color < 0) fgc::fail(FG_ERR_INVALID_ARGUMENT, "color must be >= 0 (got " + std::to_string(color) + ")");
        // MPI_Comm_split has no non-blocking form: a bounded barrier first makes sure every rank is there.
        std::vector<MPI_Request> request(1, MPI_REQUEST_NULL);
        fgc::check_mpi(MPI_Ibarrier(comm.mpi, &request[0]), comm, "split (barrier)");
        fgc::wait_all(comm, request, {-1}, "split (barrier)");
        MPI_Comm part = MPI_COMM_NULL;
        fgc::check_mpi(MPI_Comm_split(comm.mpi, color, key, &part), comm, "MPI_Comm_split");
        *out_comm = wrap(part, comm.timeout_seconds);
    });
}

FG_COMM_API fg_status fg_comm_free(fg_comm* comm) {
    if (!comm) return FG_OK;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (comm->broken) g_any_broken = true;
    fgc::release_nccl(*comm);
    // A broken communicator may have pending requests: freeing it could block, so it is left to MPI_Abort.
    if (!finalized && !comm->broken && comm->mpi != MPI_COMM_NULL) MPI_Comm_free(&comm->mpi);
    delete comm;
    --g_live_comms;
    return FG_OK;
}

FG_COMM_API fg_status fg_comm_rank(const fg_comm* comm, int32_t* out_rank) {
    return fgc::guard("fg_comm_rank", [&] {
        if (!comm || !out_rank) fgc::fail(FG_ERR_INVALID_ARGUMENT, "comm and out_rank must not be NULL");
        *out_rank = comm->rank;
    });
}

FG_COMM_API fg_status fg_comm_size(const fg_comm* comm, int32_t* out_size) {
    return fgc::guard("fg_comm_size", [&] {
        if (!comm || !out_size) fgc::fail(FG_ERR_INVALID_ARGUMENT, "comm and out_size must not be NULL");
        *out_size = comm->size;
    });
}

FG_COMM_API fg_status fg_comm_set_timeout(fg_comm* comm, double timeout_seconds) {
    return fgc::guard("fg_comm_set_timeout", [&] {
        if (!comm) fgc::fail(FG_ERR_INVALID_ARGUMENT, "comm is NULL");
        if (!(timeout_seconds > 0)) {
            fgc::fail(FG_ERR_INVALID_ARGUMENT, "timeout_seconds must be > 0 (got " + std::to_string(timeout_seconds) + ")");
        }
        comm->timeout_seconds = timeout_seconds;
    });
}

FG_COMM_API fg_status fg_comm_stats_get(const fg_comm* comm, fg_comm_stats* out_stats) {
    return fgc::guard("fg_comm_stats_get", [&] {
        if (!comm || !out_stats) fgc::fail(FG_ERR_INVALID_ARGUMENT, "comm and out_stats must not be NULL");
        if (out_stats->size < sizeof(fg_comm_stats)) {
            fgc::fail(FG_ERR_INVALID_ARGUMENT, "out_stats->size is " + std::to_string(out_stats->size) +
                                                   "; set it to sizeof(fg_comm_stats) = " + std::to_string(sizeof(fg_comm_stats)));
        }
        *out_stats = comm->stats;
        out_stats->size = sizeof(fg_comm_stats);
    });
}

FG_COMM_API fg_status fg_comm_stats_reset(fg_comm* comm) {
    return fgc::guard("fg_comm_stats_reset", [&] {
        if (!comm) fgc::fail(FG_ERR_INVALID_ARGUMENT, "comm is NULL");
        comm->stats = fg_comm_stats{};
        comm->stats.size = sizeof(fg_comm_stats);
    });
}

FG_COMM_API fg_status fg_comm_abort(fg_comm* comm, int32_t code) {
    int initialised = 0, finalized = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalized);
    if (!initialised || finalized) {
        return fgc::set_last_error(FG_ERR_UNSUPPORTED, "fg_comm_abort: MPI is not running in this process");
    }
    MPI_Abort(comm ? comm->mpi : MPI_COMM_WORLD, code);
    return FG_OK;
}

FG_COMM_API fg_status fg_comm_finalize(void) {
    return fgc::guard("fg_comm_finalize", [&] {
        int initialised = 0, finalized = 0;
        MPI_Initialized(&initialised);
        MPI_Finalized(&finalized);
        if (!initialised || finalized || !g_we_initialised) return;
        if (g_live_comms.load() > 0) {
            fgc::fail(FG_ERR_INVALID_ARGUMENT, std::to_string(g_live_comms.load()) +
                                                   " communicator(s) are still alive; free them first");
        }
        if (g_any_broken) {
            fgc::fail(FG_ERR_COMM_PEER, "a communicator failed earlier, so MPI_Finalize could block on its pending "
                                        "requests; end the process with fg_comm_abort instead");
        }
        MPI_Finalize();
    });
}

}  // extern "C"
