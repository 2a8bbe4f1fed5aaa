# Helpers of gpu_check.sh (sourced): the CUDA toolchain, GoogleTest from source, and the ctest
# log's verdicts. Every function prints its answer on stdout; diagnostics go to stderr or a log.

# The nvcc to use: on PATH, else the newest /usr/local/cuda*/bin/nvcc, else /opt/cuda. Empty if none.
find_nvcc() {
    local n
    n=$(command -v nvcc 2>/dev/null) && { echo "$n"; return; }
    local d
    for d in /usr/local/cuda/bin $(ls -d /usr/local/cuda-*/bin 2>/dev/null | sort -rV) /opt/cuda/bin; do
        if [ -x "$d/nvcc" ]; then
            echo "$d/nvcc"
            return
        fi
    done
}

# pick_host_compiler NVCC LOG: the first host compiler this nvcc compiles a small kernel with
# (including its headers, which is where version checks fire): $CUDAHOSTCXX when set, nvcc's
# default (printed as "default"), then clang++ and g++ versions, newest first. Fails if none works.
pick_host_compiler() {
    local nvcc=$1 log=$2 dir
    dir=$(mktemp -d) || return 1
    cat >"$dir/probe.cu" <<'EOF'
#include <cuda_runtime.h>
#include <string>
#include <vector>
__global__ void probe_kernel(float* x) { x[threadIdx.x] *= 2.0f; }
int main() { std::vector<std::string> v{"ok"}; probe_kernel<<<1, 1>>>(nullptr); return static_cast<int>(v.size()) - 1; }
EOF
    local candidates=()
    [ -n "${CUDAHOSTCXX:-}" ] && candidates+=("$CUDAHOSTCXX")
    candidates+=(default)
    local v
    for v in clang++ clang++-{20,19,18,17,16,15,14} g++-{14,13,12,11,10,9}; do
        command -v "$v" >/dev/null 2>&1 && candidates+=("$v")
    done
    : >"$log"
    local c
    for c in "${candidates[@]}"; do
        local args=(-std=c++17 -c "$dir/probe.cu" -o "$dir/probe.o")
        [ "$c" != default ] && args=(-ccbin "$c" "${args[@]}")
        echo "== $nvcc ${args[*]}" >>"$log"
        if timeout 120 "$nvcc" "${args[@]}" >>"$log" 2>&1; then
            echo "-> accepted: $c" >>"$log"
            rm -rf "$dir"
            echo "$c"
            return 0
        fi
    done
    rm -rf "$dir"
    return 1
}

# cuda_architectures_for SM: the project's default architectures, plus SM's own SASS when those
# cannot run on that GPU natively (a newer GPU would otherwise run on PTX JIT, an older one not at
# all). SM is e.g. 90; empty SM (dry run) gives the default alone.
cuda_architectures_for() {
    local sm=${1:-} default="80-real;90"
    [ -z "$sm" ] && { echo "$default"; return; }
    local major=$((sm / 10))
    if [ "$major" = 8 ] || [ "$sm" = 90 ]; then echo "$default"; else echo "$default;$sm-real"; fi
}

# Whether CMake can find an installed GoogleTest.
gtest_installed() {
    local found
    found=$(timeout 20 find /usr/lib /usr/lib64 /usr/local/lib /usr/local/lib64 /usr/share /opt -maxdepth 5 \
        -name GTestConfig.cmake 2>/dev/null | head -n 1)
    [ -n "$found" ]
}

# build_googletest SRC BUILD PREFIX JOBS: builds and installs GoogleTest (without gmock) into PREFIX.
build_googletest() {
    local src=$1 build=$2 prefix=$3 jobs=$4
    if [ -f "$prefix/.built-from" ] && [ "$(cat "$prefix/.built-from")" = "$src" ]; then
        echo "GoogleTest already built from $src in $prefix"
        return 0
    fi
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_GMOCK=OFF -DINSTALL_GTEST=ON \
        -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_POSITION_INDEPENDENT_CODE=ON &&
        cmake --build "$build" -j "$jobs" &&
        cmake --install "$build" &&
        echo "$src" >"$prefix/.built-from"
}

# check_one_cuda_runtime BUILD: prints which CUDA runtime the plug-in loads; fails when it links
# the static runtime too, or loads more than one shared one.
check_one_cuda_runtime() {
    local build=$1 lib
    lib=$(ls "$build"/lib/libforwardgrad_cuda.so 2>/dev/null | head -n 1)
    [ -n "$lib" ] || { echo "no lib/libforwardgrad_cuda.so built"; return 1; }
    local link
    link=$(cat "$build"/CMakeFiles/forwardgrad_cuda.dir/link.txt "$build"/CMakeFiles/forwardgrad_cuda.dir/linkLibs.rsp \
        2>/dev/null)
    if grep -q 'cudart_static' <<<"$link"; then
        echo "the plug-in links the static CUDA runtime (cudart_static) besides the shared one"
        return 1
    fi
    local loaded
    loaded=$(ldd "$lib" 2>/dev/null | grep -o 'libcudart\.so[.0-9]*' | sort -u)
    if [ "$(grep -c . <<<"$loaded")" -ne 1 ]; then
        echo "expected one shared CUDA runtime, ldd shows: ${loaded:-none}"
        return 1
    fi
    echo "one CUDA runtime: $loaded"
}

# ctest_counts LOG: "N passed, M failed, S skipped of T".
ctest_counts() {
    local log=$1
    local passed failed skipped total
    passed=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed ' "$log")
    skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*Skipped ' "$log")
    total=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log")
    failed=$((total - passed - skipped))
    echo "$passed passed, $failed failed, $skipped skipped of $total"
}

# ctest_verdicts LOG: markdown: the counts, then one row per test (name, verdict, seconds).
ctest_verdicts() {
    local log=$1
    echo "$(ctest_counts "$log"); $(grep -h 'Total Test time' "$log" | head -n 1)"
    if grep -q 'Skipped ' "$log"; then
        echo
        echo "Skipped (on a GPU machine only the tests for a missing device or a second GPU should skip):"
        echo
        grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*Skipped ' "$log" | sed -E 's/^.*Test +#[0-9]+: ([^ ]+).*/- \1/'
    fi
    echo
    echo "| test | verdict | seconds |"
    echo "|---|---|---|"
    grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log" |
        sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+).* \.+[ *]*(.*[^ ]) +([0-9.]+) sec.*/| \1 | \2 | \3 |/'
}
