// Running a table case on a context and judging its outputs: against the oracle, or against the
// same case run on another backend.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "op_table.h"

namespace optable {

// A problem's arrays as buffers of one context: inputs uploaded, outputs set (NaN or their initial
// contents). call() may be repeated (benchmarks); reset() restores the outputs' initial contents.
class Bound {
public:
    Bound(fg_context* ctx, const Problem& problem);
    ~Bound();
    Bound(const Bound&) = delete;
    Bound& operator=(const Bound&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }  // an allocation or upload failure
    fg_status call();                                     // on failure error() holds the library's message
    fg_status reset();
    std::vector<float> download(int array) const;         // NaN where the download fails

private:
    fg_context* ctx_;
    const Problem& problem_;
    Buffers buffers_;
    std::string error_;
};

// The outputs of one run, by array index (inputs left empty); `error` when the call failed.
struct Outputs {
    std::vector<std::vector<float>> values;
    std::string error;
};
Outputs run(fg_context* ctx, const Problem& problem);

// The verdict on one case: worst errors seen and the first mismatches.
struct Verdict {
    bool pass = true;
    double max_abs = 0, max_rel = 0;  // max rel over elements with |want| > atol
    double rtol = 0, atol = 0;        // the largest tolerances used
    std::vector<std::string> notes;   // why it failed

    void fail(const std::string& why);
    // got[at[j]] against want[j] (at empty: element j); `against` names the reference in messages.
    void check(const std::string& what, const std::vector<float>& got, const std::vector<double>& want,
               const std::vector<size_t>& at, double rtol, double atol, const char* against);
    std::string summary() const;      // "max abs 1e-6, max rel ..., FAIL: ..." for test messages
};

// Judges `got` (one run) against the oracle's expectations.
Verdict against_oracle(const Problem& problem, const std::vector<Expect>& expects, const Outputs& got);
// Judges `got` against `reference` (the same problem on the CPU backend), every element of every
// output, with each output's tolerance from its Expect.
Verdict against_reference(const Problem& problem, const std::vector<Expect>& expects, const Outputs& got,
                          const Outputs& reference);

// A case ready to time on one context (llm.c style): the problem built, its buffers bound, and, when
// asked, one call checked against the oracle before any timing (the outputs reset afterwards).
struct Prepared {
    Problem problem;
    std::unique_ptr<Bound> bound;
    Verdict verdict;         // pass = false: not to be timed; notes say why
    bool validated = false;  // the oracle check ran (and passed when verdict.pass)
};
std::unique_ptr<Prepared> prepare(fg_context* ctx, const Case& entry, bool validate);

// A context of `backend` (seed 1), or nullptr with the reason in `why`.
fg_context* create_context(int32_t backend, std::string* why = nullptr, int32_t tf32 = 0);
// Whether `backend` can run here; `why` says why not.
bool backend_available(int32_t backend, std::string* why = nullptr);

}  // namespace optable
