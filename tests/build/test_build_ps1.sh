#!/usr/bin/env bash
# Checks build.ps1's control flow under PowerShell 7 without building anything: fake cmake, ctest and
# dotnet on PATH record their arguments and print canned output; build.ps1 is run from a copy in a
# temporary root. Needs the local tool (dotnet tool restore). Prints "N passed, M failed".
#   bash tests/build/test_build_ps1.sh
set -uo pipefail
# Hermetic: the caller's build settings (CI exports FG_CUDA=ON) must not leak into the checks.
unset FG_CUDA BUILD_DIR CONFIG FG_NATIVE_PATH
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REAL_DOTNET="$(command -v dotnet)"
(cd "$ROOT" && "$REAL_DOTNET" tool restore >/dev/null) || { echo "dotnet tool restore failed"; exit 1; }
T="$(mktemp -d)"; trap 'rm -rf "$T"' EXIT
mkdir -p "$T/root/managed/ForwardGrad.Cli/bin/Release/net10.0" "$T/fake"
cp "$ROOT/build.ps1" "$T/root/"
touch "$T/root/ForwardGradNative.sln" "$T/root/managed/ForwardGrad.Cli/bin/Release/net10.0/fgrad.dll"
LOG="$T/calls.log"

cat > "$T/fake/cmake" <<'SH'
#!/usr/bin/env bash
echo "cmake $*" >> "$FAKE_LOG"
if [ "$1" = "--build" ]; then mkdir -p "$2/lib/Release" && touch "$2/lib/Release/libforwardgrad.so"; exit 0; fi
exit "${FAKE_CONFIGURE_RC:-0}"
SH
cat > "$T/fake/ctest" <<'SH'
#!/usr/bin/env bash
echo "ctest $* (in $PWD)" >> "$FAKE_LOG"
if [ "${FAKE_FAIL:-0}" = 1 ]; then
  echo "12/13 Test #7: Ops.Bad ...***Failed"; echo "" ; echo "92% tests passed, 1 tests failed out of 13" >&2; exit 8
fi
echo "100% tests passed, 0 tests failed out of 13"; exit 0
SH
cat > "$T/fake/dotnet" <<'SH'
#!/usr/bin/env bash
echo "dotnet $* FG_NATIVE_PATH=${FG_NATIVE_PATH:-}" >> "$FAKE_LOG"
case "$1" in
  test)
    if [ "${FAKE_FAIL:-0}" = 1 ]; then
      echo "Failed!  - Failed:     1, Passed:    10, Skipped:     2, Total:    13, Duration: 1 s - A.Tests.dll (net10.0)"
      echo "Passed!  - Failed:     0, Passed:     5, Skipped:     0, Total:     5, Duration: 1 s - B.Tests.dll (net10.0)"
      exit 1
    fi
    if [ "${FAKE_BLOCK:-0}" = 1 ]; then  # console logger at normal verbosity, two test assemblies
      printf '  Passed Some_Test [1 ms]\n  Failed Other_Test [2 ms]\nTest Run Failed.\nTotal tests: 110\n     Passed: 67\n     Failed: 1\n    Skipped: 42\n Total time: 4.3 Seconds\n'
      printf 'Test Run Successful.\nTotal tests: 3\n     Passed: 3\n Total time: 1 Seconds\n'
      exit 1
    fi
    echo "Passed!  - Failed:     0, Passed:    20, Skipped:     1, Total:    21, Duration: 1 s - A.Tests.dll (net10.0)"; exit 0 ;;
  *) exit 0 ;;
esac
SH
chmod +x "$T/fake/"*

pass=0; fail=0
check() { # name, condition (as a command)
  if eval "$2"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; echo "---- output"; cat "$T/out"; echo "---- calls"; cat "$LOG" 2>/dev/null; fi
}
runps() { # env assignments are passed by the caller; args go to build.ps1
  rm -f "$LOG"
  (cd "$ROOT" && PATH="$T/fake:$PATH" FAKE_LOG="$LOG" BUILD_DIR="$T/b" \
    "$REAL_DOTNET" tool run pwsh -NoProfile -File "$T/root/build.ps1" "$@") > "$T/out" 2>&1
  echo $? > "$T/rc"
}
rc() { cat "$T/rc"; }

runps help
check "help exits 0" '[ "$(rc)" = 0 ] && grep -q "build, then ctest" "$T/out"'
runps bogus
check "unknown command exits 2" '[ "$(rc)" = 2 ] && grep -q "unknown command" "$T/out"'

FG_CUDA=maybe runps native
check "bad FG_CUDA names the step" '[ "$(rc)" = 1 ] && grep -q "step \"native configure\" failed" "$T/out"'
FAKE_CONFIGURE_RC=3 runps native
check "configure failure stops, names the step" '[ "$(rc)" = 1 ] && grep -q "step \"native configure\" failed: cmake exited with code 3" "$T/out" && ! grep -q -- "--build" "$LOG"'
runps native
check "native configure args" 'grep -q -- "-DCMAKE_BUILD_TYPE=Release -DFG_CUDA=AUTO" "$LOG" && grep -q -- "--build $T/b --config Release --parallel" "$LOG"'
VCPKG_ROOT="$T/nope" runps native
check "VCPKG_ROOT without toolchain fails" '[ "$(rc)" = 1 ] && grep -q "vcpkg.cmake does not exist" "$T/out"'
mkdir -p "$T/vcpkg/scripts/buildsystems" && touch "$T/vcpkg/scripts/buildsystems/vcpkg.cmake"
VCPKG_ROOT="$T/vcpkg" FG_CUDA=off runps native -BlasRoot /opt/ob
check "vcpkg toolchain, BlasRoot, FG_CUDA" 'grep -q -- "-DFG_CUDA=OFF -DCMAKE_TOOLCHAIN_FILE=$T/vcpkg/scripts/buildsystems/vcpkg.cmake -DCMAKE_PREFIX_PATH=/opt/ob" "$LOG"'

runps test
check "test all green exits 0" '[ "$(rc)" = 0 ]'
check "test summary lines" 'grep -q "^ctest: 13 passed, 0 failed; NUnit: 20 passed, 0 failed, 1 skipped$" "$T/out" && [ "$(grep -v "^\s*$" "$T/out" | tail -1)" = "33 passed, 0 failed" ]'
check "FG_NATIVE_PATH picks lib/Release" 'grep -q "^dotnet test .* FG_NATIVE_PATH=$T/b/lib/Release$" "$LOG"'
check "ctest -C Release" 'grep -q "^ctest -C Release --output-on-failure" "$LOG"'
FAKE_FAIL=1 runps test
check "test failures exit 1" '[ "$(rc)" = 1 ] && grep -q "step \"test summary\" failed" "$T/out"'
check "failing summary counts" 'grep -q "^ctest: 12 passed, 1 failed; NUnit: 15 passed, 1 failed, 2 skipped$" "$T/out" && grep -q "^27 passed, 2 failed$" "$T/out"'

FAKE_BLOCK=1 runps test
check "normal-verbosity summary blocks" '[ "$(rc)" = 1 ] && grep -q "^ctest: 13 passed, 0 failed; NUnit: 70 passed, 1 failed, 42 skipped$" "$T/out" && grep -q "^83 passed, 1 failed$" "$T/out"'

runps pack
packs_each() { # every project named is packed as a packed build from the CMake lib folder into build/feed
  for p in "$@"; do
    grep -q "^dotnet pack $T/root/$p -c Release -nologo -v q -o $T/b/feed --artifacts-path $T/b/pack-artifacts -p:FgPackageBuild=true -p:FgNativeDir=$T/b/lib/Release " "$LOG" || return 1
  done
}
check "pack: the three packages, packed build, the CMake lib folder" '[ "$(rc)" = 0 ] && [ "$(grep -c "^dotnet pack " "$LOG")" = 3 ] && packs_each packaging/ForwardGrad.Native managed/ForwardGrad managed/ForwardGrad.Cli'
check "pack: no CUDA package without the plug-in" '! grep -q "ForwardGrad.Native.Cuda" "$LOG"'
check "pack: the development build records the CMake lib folder" 'grep -q "^dotnet build .* -p:FgNativeBuildDir=$T/b/lib/Release " "$LOG"'
touch "$T/b/lib/Release/libforwardgrad_cuda.so"
FEED_DIR="$T/feed2" runps pack
check "pack: the CUDA package when the plug-in was built, FEED_DIR" '[ "$(rc)" = 0 ] && grep -q "^dotnet pack $T/root/packaging/ForwardGrad.Native.Cuda .* -o $T/feed2 " "$LOG"'

runps run train --epochs 3 -x "a b"
check "run passes args through" 'grep -q "^dotnet $T/root/managed/ForwardGrad.Cli/bin/Release/net10.0/fgrad.dll train --epochs 3 -x a b FG_NATIVE_PATH=" "$LOG"'
# With no args: the data (build.sh data on Linux) and then the main job, the same command as ./build.sh run.
cat > "$T/root/build.sh" <<'SH'
#!/usr/bin/env bash
echo "build.sh $*" >> "$FAKE_LOG"
SH
runps run
check "run defaults to the main job" 'grep -q "^build.sh data" "$LOG" && grep -q "fgrad.dll train --lr 0.05 --last-layer-lr 1 --epochs 55 FG_NATIVE_PATH=" "$LOG" \
  && grep -q "^MAIN_JOB=\"train --lr 0.05 --last-layer-lr 1 --epochs 55\"" "$ROOT/build.sh"'
rm "$T/root/build.sh"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
