// Tests of libforwardgrad_mpi, run by every rank under mpirun (ctest starts them with -np 1, 2 and 3).
// Each test is collective: every rank runs the same tests in the same order. The oracles are computed
// independently on every rank from the formula that generated each rank's data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "forwardgrad_comm.h"

namespace {

fg_comm* g_world = nullptr;
int g_rank = 0;
int g_size = 1;

std::string last_error() { return fg_comm_last_error(); }

// A value no two (rank, i) pairs share, with rounding in its float sum.
float value_of(int rank, size_t i) { return static_cast<float>(std::sin(0.37 * i + 1.3 * rank) * (1.0 + rank) / 3.0); }

std::vector<float> rank_data(int rank, size_t count) {
    std::vector<float> data(count);
    for (size_t i = 0; i < count; ++i) data[i] = value_of(rank, i);
    return data;
}

// The deterministic mode's documented result: the double sum in rank order, rounded once.
std::vector<float> fixed_order_sum(size_t count, bool mean) {
    std::vector<float> out(count);
    for (size_t i = 0; i < count; ++i) {
        double sum = 0;
        for (int r = 0; r < g_size; ++r) sum += value_of(r, i);
        out[i] = static_cast<float>(mean ? sum * (1.0 / g_size) : sum);
    }
    return out;
}

TEST(Comm, RankAndSizeMatchTheLauncher) {
    int32_t rank = -1, size = -1;
    ASSERT_EQ(fg_comm_rank(g_world, &rank), FG_OK);
    ASSERT_EQ(fg_comm_size(g_world, &size), FG_OK);
    EXPECT_EQ(rank, g_rank);
    EXPECT_EQ(size, g_size);
    // mpirun sets OMPI_COMM_WORLD_SIZE; a process started alone is a world of one.
    const char* launched = std::getenv("OMPI_COMM_WORLD_SIZE");
    EXPECT_EQ(size, launched ? std::atoi(launched) : 1);
    EXPECT_GE(rank, 0);
    EXPECT_LT(rank, size);
}

TEST(Comm, DeterministicAllReduceIsTheRankOrderedSumOnEveryRank) {
    for (size_t count : {size_t{1}, size_t{1000}, size_t{100003}}) {
        for (int op : {FG_COMM_SUM, FG_COMM_MEAN}) {
            std::vector<float> data = rank_data(g_rank, count);
            ASSERT_EQ(fg_comm_allreduce_f32(g_world, data.data(), count, op, FG_COMM_DETERMINISTIC), FG_OK) << last_error();
            std::vector<float> expected = fixed_order_sum(count, op == FG_COMM_MEAN);
            ASSERT_EQ(0, std::memcmp(data.data(), expected.data(), count * sizeof(float))) << "count " << count << " op " << op;
        }
    }
}

TEST(Comm, FastAllReduceIsTheSumWithinRounding) {
    const size_t count = 4099;
    for (int op : {FG_COMM_SUM, FG_COMM_MEAN}) {
        std::vector<float> data = rank_data(g_rank, count);
        ASSERT_EQ(fg_comm_allreduce_f32(g_world, data.data(), count, op, FG_COMM_FAST), FG_OK) << last_error();
        std::vector<float> expected = fixed_order_sum(count, op == FG_COMM_MEAN);
        for (size_t i = 0; i < count; ++i) {
            ASSERT_NEAR(data[i], expected[i], 1e-6 * g_size * (1 + std::fabs(expected[i]))) << i;
        }
        // Every rank holds the same bits, whatever MPI's order was.
        std::vector<float> copy = data;
        ASSERT_EQ(fg_comm_broadcast(g_world, copy.data(), count * sizeof(float), 0), FG_OK) << last_error();
        EXPECT_EQ(0, std::memcmp(copy.data(), data.data(), count * sizeof(float)));
    }
}

TEST(Comm, BroadcastCopiesTheRootsBytesFromEveryRoot) {
    for (int root = 0; root < g_size; ++root) {
        std::vector<char> data(777);
        for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(g_rank * 31 + i);
        ASSERT_EQ(fg_comm_broadcast(g_world, data.data(), data.size(), root), FG_OK) << last_error();
        for (size_t i = 0; i < data.size(); ++i) ASSERT_EQ(data[i], static_cast<char>(root * 31 + i)) << "root " << root;
    }
}

TEST(Comm, SendAndReceivePassARingOfMessages) {
    if (g_size == 1) GTEST_SKIP() << "needs two ranks";
    const int next = (g_rank + 1) % g_size, previous = (g_rank + g_size - 1) % g_size;
    std::vector<float> out = rank_data(g_rank, 513), in(513, -1.0f);
    // Even ranks send first, odd ones receive first: no rank waits on a send nobody receives.
    if (g_rank % 2 == 0) {
        ASSERT_EQ(fg_comm_send(g_world, out.data(), out.size() * 4, next, 7), FG_OK) << last_error();
        ASSERT_EQ(fg_comm_recv(g_world, in.data(), in.size() * 4, previous, 7), FG_OK) << last_error();
    } else {
        ASSERT_EQ(fg_comm_recv(g_world, in.data(), in.size() * 4, previous, 7), FG_OK) << last_error();
        ASSERT_EQ(fg_comm_send(g_world, out.data(), out.size() * 4, next, 7), FG_OK) << last_error();
    }
    EXPECT_EQ(in, rank_data(previous, 513));
}

TEST(Comm, DifferentCountsAreAMismatchNamingEachRank) {
    if (g_size == 1) GTEST_SKIP() << "needs two ranks";
    std::vector<float> data(10 + g_rank, 1.0f);
    EXPECT_EQ(fg_comm_allreduce_f32(g_world, data.data(), data.size(), FG_COMM_SUM, FG_COMM_DETERMINISTIC),
              FG_ERR_COMM_MISMATCH);
    const std::string message = last_error();
    EXPECT_NE(message.find("rank 0: 10"), std::string::npos) << message;
    EXPECT_NE(message.find("rank 1: 11"), std::string::npos) << message;
    // Nothing moved, and the communicator still works.
    EXPECT_EQ(data, std::vector<float>(10 + g_rank, 1.0f));
    EXPECT_EQ(fg_comm_barrier(g_world), FG_OK) << last_error();
}

TEST(Comm, AReceiveOfTheWrongSizeIsAMismatch) {
    if (g_size == 1) GTEST_SKIP() << "needs two ranks";
    std::vector<char> data(64, 'x');
    if (g_rank == 0) {
        ASSERT_EQ(fg_comm_send(g_world, data.data(), 48, 1, 3), FG_OK) << last_error();
    } else if (g_rank == 1) {
        EXPECT_EQ(fg_comm_recv(g_world, data.data(), 64, 0, 3), FG_ERR_COMM_MISMATCH);
        EXPECT_NE(last_error().find("expected 64 bytes from rank 0 (tag 3) but the message has 48"), std::string::npos)
            << last_error();
    }
    EXPECT_EQ(fg_comm_barrier(g_world), FG_OK) << last_error();
}

TEST(Comm, SplitMakesIndependentSubCommunicators) {
    fg_comm* half = nullptr;
    ASSERT_EQ(fg_comm_split(g_world, g_rank % 2, g_rank, &half), FG_OK) << last_error();
    int32_t rank = -1, size = -1;
    fg_comm_rank(half, &rank);
    fg_comm_size(half, &size);
    EXPECT_EQ(rank, g_rank / 2);
    EXPECT_EQ(size, (g_size + 1 - g_rank % 2) / 2);
    float value = static_cast<float>(g_rank);
    ASSERT_EQ(fg_comm_allreduce_f32(half, &value, 1, FG_COMM_SUM, FG_COMM_DETERMINISTIC), FG_OK) << last_error();
    float expected = 0;
    for (int r = g_rank % 2; r < g_size; r += 2) expected += static_cast<float>(r);
    EXPECT_EQ(value, expected);
    EXPECT_EQ(fg_comm_free(half), FG_OK);
}

TEST(Comm, StatsCountThePayloadBytes) {
    ASSERT_EQ(fg_comm_stats_reset(g_world), FG_OK);
    std::vector<float> data(1000, 1.0f);
    ASSERT_EQ(fg_comm_allreduce_f32(g_world, data.data(), data.size(), FG_COMM_SUM, FG_COMM_DETERMINISTIC), FG_OK);
    fg_comm_stats stats{};
    stats.size = sizeof stats;
    ASSERT_EQ(fg_comm_stats_get(g_world, &stats), FG_OK);
    EXPECT_EQ(stats.calls, 1u);
    // The count check: every rank's 8-byte count goes to rank 0, which sends all of them back.
    const uint64_t payload = 4000, count = 8, others = static_cast<uint64_t>(g_size - 1);
    if (g_size == 1) {
        EXPECT_EQ(stats.bytes_sent, 0u);
    } else if (g_rank == 0) {
        EXPECT_EQ(stats.bytes_sent, count * g_size * others + payload * others);
        EXPECT_EQ(stats.bytes_received, count * others + payload * others);
    } else {
        EXPECT_EQ(stats.bytes_sent, count + payload);
        EXPECT_EQ(stats.bytes_received, count * g_size + payload);
    }
    EXPECT_GE(stats.seconds, 0.0);
}

TEST(Comm, BadArgumentsAreRefusedWithTheirNames) {
    float value = 0;
    EXPECT_EQ(fg_comm_allreduce_f32(nullptr, &value, 1, FG_COMM_SUM, FG_COMM_FAST), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("comm is NULL"), std::string::npos);
    EXPECT_EQ(fg_comm_allreduce_f32(g_world, &value, 1, 9, FG_COMM_FAST), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("op must be"), std::string::npos);
    EXPECT_EQ(fg_comm_broadcast(g_world, &value, 4, g_size), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("root"), std::string::npos);
    EXPECT_EQ(fg_comm_send(g_world, &value, 4, g_rank, 0), FG_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("not another rank"), std::string::npos);
    EXPECT_EQ(fg_comm_set_timeout(g_world, 0), FG_ERR_INVALID_ARGUMENT);
    fg_comm_stats small{};
    small.size = 4;
    EXPECT_EQ(fg_comm_stats_get(g_world, &small), FG_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(fg_comm_status_string(FG_ERR_COMM_TIMEOUT), "FG_ERR_COMM_TIMEOUT");
}

TEST(Comm, NcclProbeAnswersWithAReason) {
    int32_t available = -1;
    char reason[512] = {0};
    ASSERT_EQ(fg_comm_nccl_probe(&available, reason, sizeof reason), FG_OK);
    ASSERT_TRUE(available == 0 || available == 1);
    EXPECT_GT(std::strlen(reason), 0u);
    if (!available) {
        EXPECT_NE(std::string(reason).find("libnccl.so.2"), std::string::npos) << reason;
        float dummy = 0;
        EXPECT_EQ(fg_comm_allreduce_device_f32(g_world, &dummy, 1, FG_COMM_SUM, nullptr), FG_ERR_UNSUPPORTED);
    }
}

}  // namespace

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    if (fg_comm_create_world(0, &g_world) != FG_OK) {
        std::fprintf(stderr, "fg_comm_create_world: %s\n", fg_comm_last_error());
        return 2;
    }
    fg_comm_rank(g_world, &g_rank);
    fg_comm_size(g_world, &g_size);
    int result = RUN_ALL_TESTS();
    // Agree on the outcome, so rank 0's exit code covers every rank.
    float failed = result != 0 ? 1.0f : 0.0f;
    if (fg_comm_allreduce_f32(g_world, &failed, 1, FG_COMM_SUM, FG_COMM_DETERMINISTIC) != FG_OK) {
        std::fprintf(stderr, "rank %d: %s\n", g_rank, fg_comm_last_error());
        return 2;
    }
    if (failed > 0 && g_rank == 0) std::fprintf(stderr, "%g rank(s) failed\n", failed);
    fg_comm_free(g_world);
    fg_comm_finalize();
    return failed > 0 ? 1 : 0;
}
