#!/usr/bin/env bash
# The packages as a user gets them: a console app built outside the repository from the packed feed only
# (the program of README.md's "Use from C#", as written there), and the fgrad tool installed from the feed.
#   tests/package/consumer_test.sh FEED_DIR
# Prints "PASS: <check>" / "FAIL: <check>" lines and ends with "package consumer: N passed, M failed".
# KEEP_WORK=1 keeps the temporary folder (its logs) for a look after a failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FEED="$(cd "${1:?usage: consumer_test.sh FEED_DIR}" && pwd)"
VERSION=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$ROOT/Directory.Build.props" | head -1)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fg-consumer.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
# A private package cache: the feed's packages keep their version from build to build, and a shared cache
# would hand out the first build's copies.
export NUGET_PACKAGES="$WORK/nuget-packages" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
unset FG_NATIVE_PATH

passed=0 failed=0
check() { # check NAME COMMAND...: runs COMMAND, counts and reports it
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "PASS: $name"; else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
contains() { grep -qF -- "$2" "$1" || { echo "  $1 lacks '$2':"; sed 's/^/  | /' "$1" | tail -20; return 1; }; }

# ---------------------------------------------------------------- the app
APP="$WORK/app"
mkdir -p "$APP"
# MSBuild looks for these in every folder above a project; empty ones here keep any in the temp root out.
for f in Directory.Build.props Directory.Build.targets Directory.Packages.props; do echo '<Project />' > "$WORK/$f"; done
# The feed plus the normal source; ForwardGrad* may come from the feed only (a same-named package elsewhere
# must not stand in for the one under test).
cat > "$APP/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="forwardgrad-feed" value="$FEED" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="forwardgrad-feed"><package pattern="ForwardGrad*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
EOF
# The CUDA plug-in package, when it was packed, goes in too: it must land next to libforwardgrad.so.
CUDA_PACKAGE=""
if compgen -G "$FEED/ForwardGrad.Native.Cuda.*.nupkg" >/dev/null; then
  CUDA_PACKAGE="<PackageReference Include=\"ForwardGrad.Native.Cuda\" Version=\"$VERSION\" />"
fi
# So does the MPI plug-in package.
MPI_PACKAGE=""
if compgen -G "$FEED/ForwardGrad.Native.Mpi.*.nupkg" >/dev/null; then
  MPI_PACKAGE="<PackageReference Include=\"ForwardGrad.Native.Mpi\" Version=\"$VERSION\" />"
fi
cat > "$APP/Consumer.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="ForwardGrad" Version="$VERSION" />
    $CUDA_PACKAGE
    $MPI_PACKAGE
  </ItemGroup>
</Project>
EOF
# The first C# block of the README's "Use from C#" section.
awk '/^## Use from C#/ { section = 1; next } /^## / { section = 0 }
     section && /^```csharp/ { code = 1; next } code && /^```/ { exit } code { print }' "$ROOT/README.md" > "$APP/Program.cs"

program_extracted() { [ -s "$APP/Program.cs" ] && grep -q 'TrainingMethod.LGFGA' "$APP/Program.cs"; }
check "README's 'Use from C#' program found" program_extracted

app_builds() { (cd "$APP" && dotnet build -c Release -nologo -v q >"$WORK/app-build.log" 2>&1) || { tail -30 "$WORK/app-build.log"; return 1; }; }
check "app builds from the feed (ForwardGrad $VERSION)" app_builds

BIN="$APP/bin/Release/net10.0"
app_trains() {
  (cd "$WORK" && dotnet "$BIN/Consumer.dll" >"$WORK/app-run.log" 2>&1) || { cat "$WORK/app-run.log"; return 1; }
  contains "$WORK/app-run.log" "reloaded model identical" || return 1
  # Chance is 90 %; the toy classes are easy, so a model that trained at all is far below.
  local error; error=$(sed -n 's/^test error \([0-9.]*\)%.*/\1/p' "$WORK/app-run.log")
  awk -v e="$error" 'BEGIN { exit !(e != "" && e < 50) }' || { echo "  test error '$error' is not below 50%"; return 1; }
}
check "app trains LG-FG-A, saves, reloads and evaluates" app_trains

# Only the library, its bindings and the native runtime come with the package: no plotting or console stacks.
bin_holds_library_and_runtime_only() {
  local extra; extra=$(cd "$BIN" && find . -type f ! -name 'Consumer*' | sort)
  local wanted=(./ForwardGrad.Interop.dll ./ForwardGrad.dll ./runtimes/linux-x64/native/libforwardgrad.so) expected
  if [ -n "$CUDA_PACKAGE" ]; then wanted+=(./runtimes/linux-x64/native/libforwardgrad_cuda.so); fi
  if [ -n "$MPI_PACKAGE" ]; then wanted+=(./runtimes/linux-x64/native/libforwardgrad_mpi.so); fi
  expected=$(printf '%s\n' "${wanted[@]}" | sort)
  [ "$extra" = "$expected" ] || { echo "  bin holds:"; echo "$extra" | sed 's/^/  | /'; return 1; }
  echo "  consumer bin: $(du -sb "$BIN" | cut -f1) bytes"
}
check "app's bin holds ForwardGrad, its bindings and the native libraries only" bin_holds_library_and_runtime_only

# A library planted in build/lib above the app is never loaded; without the package's copy, the error names the
# package and FG_NATIVE_PATH; FG_NATIVE_PATH pointing at the planted copy is an explicit choice and is honoured.
PLANTED="$APP/build/lib"
no_hijack() {
  mkdir -p "$PLANTED" && mv "$BIN/runtimes/linux-x64/native/libforwardgrad.so" "$PLANTED/" || return 1
  # "; exit" keeps the abort report of the unhandled exception in the log.
  (cd "$WORK" && dotnet "$BIN/Consumer.dll"; exit) >"$WORK/planted.log" 2>&1 && { echo "  the app ran with its library removed"; return 1; }
  contains "$WORK/planted.log" "DllNotFoundException" && contains "$WORK/planted.log" "ForwardGrad.Native package" \
    && contains "$WORK/planted.log" "FG_NATIVE_PATH"
}
check "a library in build/lib above the app is not loaded; the error names the package and FG_NATIVE_PATH" no_hijack

native_path_honoured() {
  (cd "$WORK" && FG_NATIVE_PATH="$PLANTED" dotnet "$BIN/Consumer.dll" >"$WORK/native-path.log" 2>&1) || { cat "$WORK/native-path.log"; return 1; }
  contains "$WORK/native-path.log" "reloaded model identical"
}
check "FG_NATIVE_PATH names the library's folder" native_path_honoured

# ---------------------------------------------------------------- the tool
TOOLS="$WORK/tools"
# Installed from a folder whose nuget.config clears every source: the feed given by --add-source is the only one.
mkdir -p "$WORK/tool-install"
printf '<configuration><packageSources><clear /></packageSources></configuration>\n' > "$WORK/tool-install/nuget.config"
tool_installs() {
  (cd "$WORK/tool-install" && dotnet tool install --tool-path "$TOOLS" --add-source "$FEED" --version "$VERSION" fgrad >"$WORK/tool-install.log" 2>&1) \
    || { cat "$WORK/tool-install.log"; return 1; }
}
check "dotnet tool install fgrad from the feed" tool_installs

tool_info() {
  (cd "$WORK" && "$TOOLS/fgrad" info >"$WORK/info.log" 2>&1) || { cat "$WORK/info.log"; return 1; }
  contains "$WORK/info.log" "forwardgrad $VERSION" && contains "$WORK/info.log" "cpu: available" \
    && contains "$WORK/info.log" "$TOOLS/"
}
check "fgrad info loads the native library the tool carries" tool_info

# A tiny MNIST-shaped data set in IDX files: 64 training and 32 test images of noise, labels 0-9.
write_idx() { # write_idx FOLDER PREFIX COUNT
  local images="$1/$2-images-idx3-ubyte" labels="$1/$2-labels-idx1-ubyte" i
  local count; count="\\x$(printf %02x "$3")"  # big-endian 32-bit counts below 256
  { printf '\x00\x00\x08\x03\x00\x00\x00'; printf "$count"; printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; } > "$images"
  head -c $(( $3 * 784 )) /dev/urandom >> "$images"
  { printf '\x00\x00\x08\x01\x00\x00\x00'; printf "$count"; } > "$labels"
  for ((i = 0; i < $3; i++)); do printf "\\x0$((i % 10))" >> "$labels"; done
}
tool_trains() {
  mkdir -p "$WORK/data/mnist-sample" && write_idx "$WORK/data/mnist-sample" train 64 && write_idx "$WORK/data/mnist-sample" t10k 32
  (cd "$WORK" && "$TOOLS/fgrad" train --data-dir "$WORK/data" --dataset mnist-sample --model S/1/1 --method lg-fg-a \
    --epochs 2 --batch-size 16 --out "$WORK/run" >"$WORK/train.log" 2>&1) || { cat "$WORK/train.log"; return 1; }
  contains "$WORK/train.log" "final test error" || return 1
  [ "$(wc -l < "$WORK/run/metrics.csv")" -eq 3 ] || { echo "  metrics.csv:"; cat "$WORK/run/metrics.csv"; return 1; }
  [ -s "$WORK/run/checkpoint.safetensors" ] && [ -s "$WORK/run/curves.png" ] || { ls -l "$WORK/run"; return 1; }
}
check "fgrad train runs LG-FG-A on a small data set and writes its run folder" tool_trains

# The installed tool carries the MPI plug-in when it was built: a data-parallel run started without mpirun is a
# world of one rank, which loads the plug-in from the tool's folder.
tool_trains_data_parallel() {
  (cd "$WORK" && "$TOOLS/fgrad" train --data-dir "$WORK/data" --dataset mnist-sample --model S/1/1 --method lg-bp \
    --epochs 1 --batch-size 16 --parallel data --out "$WORK/run-parallel" >"$WORK/train-parallel.log" 2>&1) \
    || { cat "$WORK/train-parallel.log"; return 1; }
  contains "$WORK/train-parallel.log" "final test error"
}
if [ -n "$MPI_PACKAGE" ]; then
  check "fgrad train --parallel data loads the MPI plug-in the tool carries" tool_trains_data_parallel
fi

echo "package consumer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
