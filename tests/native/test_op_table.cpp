// Every entry of the op table (ops_table/op_table.h) on every backend against its float64 oracle; on
// CUDA also against the same entry on the CPU. One test per (op, backend); each reports its cases by
// label. CUDA tests skip with the reason when no device is here. Running a case again must leave the
// context's live bytes as they were (buffers freed, scratch reused).
#include <cctype>

#include "op_run.h"
#include "test_util.h"

using namespace fgtest;

namespace {

std::string test_name(const std::string& op) {
    std::string s;
    for (char ch : op) s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return s;
}

}  // namespace

class OpTable : public ::testing::TestWithParam<std::tuple<std::string, int32_t>> {};

TEST_P(OpTable, MatchesOracle) {
    const std::string& op = std::get<0>(GetParam());
    const int32_t backend = std::get<1>(GetParam());
    FG_SKIP_IF_UNAVAILABLE(backend);
    Context c(backend), cpu(FG_BACKEND_CPU);
    ASSERT_NE(c.ctx, nullptr) << fg_last_error();
    int ran = 0;
    for (const optable::Case& entry : optable::cases()) {
        if (entry.op != op || !entry.parity) continue;
        const optable::Problem problem = entry.make();
        const std::vector<optable::Expect> expects = problem.oracle(problem);
        const optable::Outputs got = optable::run(c, problem);
        // Context scratch may grow on the first run; a second run must find it and free what it allocates.
        const uint64_t live = c.live_bytes();
        optable::run(c, problem);
        EXPECT_EQ(c.live_bytes(), live) << backend_name(backend) << " " << entry.label() << " leaks";
        const optable::Verdict v = optable::against_oracle(problem, expects, got);
        EXPECT_TRUE(v.pass) << backend_name(backend) << " " << entry.label() << " vs oracle: " << v.summary();
        if (backend != FG_BACKEND_CPU) {
            const optable::Verdict agree = optable::against_reference(problem, expects, got, optable::run(cpu, problem));
            EXPECT_TRUE(agree.pass) << backend_name(backend) << " " << entry.label() << " vs cpu: " << agree.summary();
        }
        ++ran;
    }
    EXPECT_GT(ran, 0) << op << " has no parity case";
}

INSTANTIATE_TEST_SUITE_P(Ops, OpTable,
                         ::testing::Combine(::testing::ValuesIn(optable::ops()), ::testing::ValuesIn(all_backends())),
                         [](const auto& info) {
                             return test_name(std::get<0>(info.param)) + "_" + backend_name(std::get<1>(info.param));
                         });
