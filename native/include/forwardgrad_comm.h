/*
 * forwardgrad_comm.h: the C ABI of libforwardgrad_mpi, the communication plug-in on MPI.
 *
 * The plug-in is a separate library: libforwardgrad (the core) has no MPI dependency, and a process that
 * never trains across ranks never loads MPI. Conventions follow forwardgrad.h:
 *  - Every function returns fg_status (FG_OK == 0), except the version and message getters. Besides the
 *    core codes, the plug-in returns FG_ERR_COMM_TIMEOUT, FG_ERR_COMM_PEER and FG_ERR_COMM_MISMATCH.
 *  - On failure fg_comm_last_error() returns a thread-local message naming the call, the problem and the
 *    rank(s) involved; it stays valid until the next failing call on the same thread.
 *  - Nothing here aborts the process (except fg_comm_abort, on request).
 *  - Buffers are plain host pointers. Callers holding data in an fg_buffer download it first (on the CPU
 *    backend that is one memcpy); CUDA buffers go through NCCL where it is loadable (fg_comm_nccl_probe).
 *  - A communicator is used by one thread at a time.
 *  - Every blocking call has a time limit (fg_comm_set_timeout, default 120 s). MPI runs with
 *    MPI_ERRORS_RETURN and the plug-in polls non-blocking requests up to the deadline, so a dead or stuck
 *    peer ends in FG_ERR_COMM_TIMEOUT or FG_ERR_COMM_PEER with a message, never in a silent hang. After a
 *    timeout the communicator is broken (requests may still be pending): every later call on it fails at
 *    once, and the process should report the error and end with fg_comm_abort.
 *  - Collectives exchange the element count first, so ranks that pass different counts get
 *    FG_ERR_COMM_MISMATCH naming each rank's count instead of corrupted data.
 */
#ifndef FORWARDGRAD_COMM_H
#define FORWARDGRAD_COMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(FG_BUILDING_COMM)
#    define FG_COMM_API __declspec(dllexport)
#  else
#    define FG_COMM_API __declspec(dllimport)
#  endif
#else
#  define FG_COMM_API __attribute__((visibility("default")))
#endif

#ifndef FORWARDGRAD_H
typedef int32_t fg_status;
#define FG_OK 0
#define FG_ERR_INVALID_ARGUMENT 1
#define FG_ERR_OUT_OF_MEMORY 2
#define FG_ERR_UNSUPPORTED 3
#define FG_ERR_BACKEND 5
#define FG_ERR_INTERNAL 6
#endif

#define FG_ERR_COMM_TIMEOUT 100  /* a peer did not take part before the time limit (dead, stuck or much slower) */
#define FG_ERR_COMM_PEER 101     /* MPI reported a failure (a lost connection, a dead process) */
#define FG_ERR_COMM_MISMATCH 102 /* ranks passed different element counts, or a message of another size arrived */

/* Bumped whenever a signature or struct layout in this file changes. */
#define FG_COMM_ABI_VERSION 1

typedef struct fg_comm fg_comm;

#define FG_COMM_SUM 0  /* every rank receives the element-wise sum */
#define FG_COMM_MEAN 1 /* the sum divided by the number of ranks */

#define FG_COMM_FAST 0          /* MPI_Allreduce: MPI's algorithm; its summation order may vary */
#define FG_COMM_DETERMINISTIC 1 /* rank 0 gathers every buffer, adds them in rank order 0, 1, ..., N-1 (in
                                   double for the sum of each element), and broadcasts the result: the same
                                   bits on every rank and in every run with the same inputs */

typedef struct fg_comm_stats {
    uint32_t size;          /* sizeof(fg_comm_stats), set by the caller */
    uint64_t calls;         /* communication calls since creation (or the last reset) */
    uint64_t bytes_sent;    /* payload bytes this rank handed to MPI */
    uint64_t bytes_received;/* payload bytes this rank received */
    double seconds;         /* wall time spent inside the calls, waiting included */
} fg_comm_stats;

FG_COMM_API int32_t fg_comm_abi_version(void);
/* Library version, e.g. "0.1.0", and the MPI library's own version line. Static strings. */
FG_COMM_API const char* fg_comm_version(void);
FG_COMM_API const char* fg_comm_mpi_version(void);
/* Name of a status (core or comm), e.g. "FG_ERR_COMM_TIMEOUT". Static string. */
FG_COMM_API const char* fg_comm_status_string(fg_status status);
FG_COMM_API const char* fg_comm_last_error(void);

/* A communicator over MPI_COMM_WORLD, initialising MPI (MPI_THREAD_SERIALIZED) when nobody has. A process
 * started without mpirun is a world of one rank. timeout_seconds > 0 sets the limit of every blocking call
 * (0: the default, 120 s, or FG_COMM_TIMEOUT_S when set). */
FG_COMM_API fg_status fg_comm_create_world(double timeout_seconds, fg_comm** out_comm);
/* A sub-communicator of the ranks of `parent` that pass the same color (>= 0), ordered by key then by
 * parent rank (MPI_Comm_split). Collective over parent; inherits its time limit. */
FG_COMM_API fg_status fg_comm_split(fg_comm* parent, int32_t color, int32_t key, fg_comm** out_comm);
FG_COMM_API fg_status fg_comm_free(fg_comm* comm);
FG_COMM_API fg_status fg_comm_rank(const fg_comm* comm, int32_t* out_rank);
FG_COMM_API fg_status fg_comm_size(const fg_comm* comm, int32_t* out_size);
FG_COMM_API fg_status fg_comm_set_timeout(fg_comm* comm, double timeout_seconds);
FG_COMM_API fg_status fg_comm_stats_get(const fg_comm* comm, fg_comm_stats* out_stats);
FG_COMM_API fg_status fg_comm_stats_reset(fg_comm* comm);

/* In place: data (count float32) becomes the sum or mean over the ranks (op FG_COMM_SUM/MEAN, mode
 * FG_COMM_FAST/DETERMINISTIC). Every rank must pass the same count, op and mode. */
FG_COMM_API fg_status fg_comm_allreduce_f32(fg_comm* comm, float* data, uint64_t count, int32_t op, int32_t mode);
/* data (bytes) of rank `root` is copied to every rank. Every rank must pass the same byte count. */
FG_COMM_API fg_status fg_comm_broadcast(fg_comm* comm, void* data, uint64_t bytes, int32_t root);
/* Point to point. A receive fails with FG_ERR_COMM_MISMATCH when the message has another size. */
FG_COMM_API fg_status fg_comm_send(fg_comm* comm, const void* data, uint64_t bytes, int32_t destination, int32_t tag);
FG_COMM_API fg_status fg_comm_recv(fg_comm* comm, void* data, uint64_t bytes, int32_t source, int32_t tag);
FG_COMM_API fg_status fg_comm_barrier(fg_comm* comm);

/* Ends every rank of the job (MPI_Abort) with exit code `code`: for a process that cannot go on after a
 * failed call. Returns only when MPI was never initialised. */
FG_COMM_API fg_status fg_comm_abort(fg_comm* comm, int32_t code);
/* MPI_Finalize when this library initialised MPI and every communicator is freed; later calls do nothing.
 * MPI cannot be initialised again in the same process. */
FG_COMM_API fg_status fg_comm_finalize(void);

/* ---------------------------------------------------------------- NCCL (CUDA buffers)
 * NCCL is loaded at run time (libnccl.so.2) when a CUDA buffer is reduced; it is not a build dependency.
 * fg_comm_nccl_probe says whether it can be loaded, and why not. */
FG_COMM_API fg_status fg_comm_nccl_probe(int32_t* available, char* reason, int32_t reason_capacity);
/* In place on device memory: sum/mean of `count` float32 at device_data over the ranks, on the CUDA stream
 * `stream` (NULL: the default stream), through NCCL. The first call creates the NCCL communicator (its id
 * is broadcast from rank 0 over MPI). Without NCCL: FG_ERR_UNSUPPORTED with the reason; the caller then
 * stages through host memory (download, fg_comm_allreduce_f32, upload). */
FG_COMM_API fg_status fg_comm_allreduce_device_f32(fg_comm* comm, void* device_data, uint64_t count, int32_t op,
                                                   void* stream);

#ifdef __cplusplus
}
#endif
#endif /* FORWARDGRAD_COMM_H */
