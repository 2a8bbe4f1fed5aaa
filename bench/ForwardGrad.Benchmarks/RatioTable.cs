using System.Globalization;
using System.Text.Json;

namespace ForwardGrad.Benchmarks;

/// <summary>
/// The table <c>./build.sh bench</c> ends with: the key ratios of the native run (Google Benchmark JSON) and
/// the managed run (<c>--results</c> file), against the targets of the benchmark issues.
/// </summary>
internal static class RatioTable
{
    private sealed record NativeRun(double WallMs, double CpuMs, IReadOnlyDictionary<string, double> Counters);

    public static int Print(string? nativeJson, string? managedTsv)
    {
        var native = ReadNative(nativeJson);
        var managed = ReadManaged(managedTsv);
        var rows = new List<string[]>();
        void Row(string ratio, string what, double value, string target, bool? met, string format = "F2") =>
            rows.Add([ratio, what, double.IsNaN(value) ? "n/a" : value.ToString(format, CultureInfo.InvariantCulture), target,
                met is null || double.IsNaN(value) ? "" : met.Value ? "ok" : "MISSED"]);

        // Fused JVP vs K+1 separate passes (the op table's BM_LinearJvp / BM_LinearSeparate), every pair that ran.
        foreach (var (name, fused) in native.Where(n => n.Key.StartsWith("BM_LinearJvp/", StringComparison.Ordinal) && !n.Key.Contains('#')))
        {
            string rest = name["BM_LinearJvp/".Length..];
            if (native.TryGetValue("BM_LinearSeparate/" + rest, out NativeRun? separate))
            {
                Row("fused / separate JVP", rest, fused.WallMs / separate.WallMs, "(report; < 1: fused faster)", null);
            }
        }

        foreach (string config in new[] { "S1_1", "M1_16", "M8_16" })
        {
            // The verdict comes from the steps taken in turn (BM_MixerRatio), which cancels the machine's drift;
            // the ratio of two separate benchmarks is reported beside it.
            NativeRun? paired = Get(native, $"BM_MixerRatio/{config}/cpu");
            if (paired is not null && paired.Counters.TryGetValue("x_LGBP", out double alternating))
            {
                Row("LG-FG-A / LG-BP step", $"{config} K1, steps in turn", alternating, "<= 1.1", alternating <= 1.1);
                if (paired.Counters.TryGetValue("K4_x_K1", out double k4))
                {
                    Row("LG-FG-A K=4 / K=1 step", $"{config}, steps in turn", k4, "<= 2.0", k4 <= 2.0);
                }

                double sgemm = paired.Counters.GetValueOrDefault("sgemm_GFLOPs", double.NaN);
                foreach (string method in new[] { "BP", "LGBP" })
                {
                    if (paired.Counters.TryGetValue($"{method}_gemm_frac", out double frac))
                    {
                        Row($"{method} GEMM-equivalent rate / sgemm", $"{config}, steps in turn (sgemm {sgemm:F0} GFLOP/s)", frac, ">= 0.60", frac >= 0.6);
                    }
                }
            }

            NativeRun? lgfga = Get(native, $"BM_MixerStep/{config}/LGFGA/K1/cpu");
            NativeRun? lgbp = Get(native, $"BM_MixerStep/{config}/LGBP/cpu");
            NativeRun? bp = Get(native, $"BM_MixerStep/{config}/BP/cpu");
            if (lgfga is not null && lgbp is not null)
            {
                double wall = lgfga.WallMs / lgbp.WallMs;
                Row("LG-FG-A / LG-BP step", $"{config} K1, separate runs, wall (cpu {lgfga.CpuMs / lgbp.CpuMs:F2})", wall, "<= 1.1",
                    paired is null ? wall <= 1.1 : null);
            }

            if (lgfga is not null && bp is not null)
            {
                Row("LG-FG-A / BP step", $"{config} K1 wall (cpu {lgfga.CpuMs / bp.CpuMs:F2})", lgfga.WallMs / bp.WallMs, "(report)", null);
            }

            foreach (string method in new[] { "FGW", "FGA", "LGFGW", "LGFGA" })
            {
                NativeRun? k1 = Get(native, $"BM_MixerStep/{config}/{method}/K1/cpu");
                NativeRun? k4 = Get(native, $"BM_MixerStep/{config}/{method}/K4/cpu");
                if (k1 is not null && k4 is not null)
                {
                    double wall = k4.WallMs / k1.WallMs;
                    Row("K=4 / K=1 step", $"{config} {method} wall (cpu {k4.CpuMs / k1.CpuMs:F2})", wall, "well under 4 (< 3)", wall < 3);
                }
            }
        }

        // C# API overhead on an S/1/1 step.
        foreach (var step in managed.Where(m => m.Suite == "TrainingStepBenchmarks" && m.Native.Contains("/S1_1/", StringComparison.Ordinal)))
        {
            NativeRun? n = Get(native, step.Native);
            if (n is not null && (step.Native.Contains("/LGFGA/K1/", StringComparison.Ordinal) || step.Native.Contains("/BP/", StringComparison.Ordinal)))
            {
                double overhead = 100 * (step.MeanNs / 1e6 / n.WallMs - 1);
                // Two processes run minutes apart: only meaningful on an idle machine, so no verdict here.
                Row("C# step / native step - 1 (%)", $"{step.Parameters.Trim('[', ']')} (two processes)", overhead, "< 2 % (idle machine only)", null, "F1");
            }
        }

        // The verdict comes from the alternated steps (--overhead-check) when they ran: BenchmarkDotNet's short job
        // times one method after the other, and the machine drifts between them.
        bool alternated = managed.Any(m => m.Suite == "OverheadCheck");
        foreach (var group in managed.Where(m => m.Suite == "OverheadCheck").GroupBy(m => m.Parameters))
        {
            var byName = group.ToDictionary(m => m.Benchmark, m => m.MeanNs);
            if (byName.TryGetValue("Native", out double baseline) && byName.TryGetValue("Wrapper", out double wrapper))
            {
                if (byName.TryGetValue("NativeWithUpload", out double withUpload))
                {
                    // What the wrapper adds beyond the batch upload any caller must do: P/Invoke, leases, marshalling.
                    double marshalling = 100 * (wrapper / withUpload - 1);
                    Row("LocalMixer / (raw + upload) - 1 (%)", $"S1_1 {group.Key.Trim('[', ']')} (steps in turn)", marshalling, "< 2 %", marshalling < 2, "F1");
                }

                double overhead = 100 * (wrapper / baseline - 1);
                Row("LocalMixer / raw P/Invoke - 1 (%)", $"S1_1 {group.Key.Trim('[', ']')} (steps in turn, upload included)", overhead, "(report)", null, "F1");
            }
        }

        foreach (var group in managed.Where(m => m.Suite == "StepOverheadBenchmarks").GroupBy(m => m.Parameters))
        {
            var byName = group.ToDictionary(m => m.Benchmark, m => m.MeanNs);
            if (byName.TryGetValue("Native", out double baseline))
            {
                if (byName.TryGetValue("Wrapper", out double wrapper))
                {
                    double overhead = 100 * (wrapper / baseline - 1);
                    Row("LocalMixer / raw P/Invoke - 1 (%)", $"S1_1 {group.Key.Trim('[', ']')} (BenchmarkDotNet, one process)", overhead,
                        alternated ? "(report; verdict from steps in turn)" : "< 2 %", alternated ? null : overhead < 2, "F1");
                }

                if (byName.TryGetValue("BatchUpload", out double upload))
                {
                    double share = 100 * upload / baseline;
                    Row("batch upload / step (%)", $"S1_1 {group.Key.Trim('[', ']')}", share, "< 2 %", share < 2, "F2");
                }
            }
        }

        var checks = managed.Where(m => m.Suite == "AllocCheck" && m.Allocated >= 0).ToList();
        if (checks.Count > 0)
        {
            long most = checks.Max(m => m.Allocated);
            Row("managed bytes per step", $"max over {checks.Count} C# steps (this thread)", most, "0", most == 0, "F0");
        }

        var steps = managed.Where(m => m.Suite == "TrainingStepBenchmarks" && m.Allocated >= 0).ToList();
        if (steps.Count > 0)
        {
            long most = steps.Max(m => m.Allocated);
            int zero = steps.Count(m => m.Allocated == 0);
            Row("BDN Allocated column", $"max over {steps.Count} C# steps ({zero} show '-'; all threads)", most, "0", null, "F0");
        }

        if (rows.Count == 0)
        {
            Console.WriteLine("no benchmark results to compare (did the native and managed runs finish?)");
            return 1;
        }

        string[] header = ["ratio", "case", "value", "target", ""];
        int[] widths = [.. Enumerable.Range(0, header.Length).Select(c => rows.Append(header).Max(r => r[c].Length))];
        string Line(string[] r) => "| " + string.Join(" | ", r.Select((cell, c) => c == 2 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))) + " |";
        Console.WriteLine();
        Console.WriteLine("Key ratios (wall time unless noted; cpu = process CPU time, all threads)");
        Console.WriteLine(Line(header));
        Console.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (string[] row in rows)
        {
            Console.WriteLine(Line(row));
        }

        return 0;
    }

    private static NativeRun? Get(Dictionary<string, NativeRun> native, string name) => native.GetValueOrDefault(name);

    private static Dictionary<string, NativeRun> ReadNative(string? paths)
    {
        var result = new Dictionary<string, NativeRun>();
        foreach (string path in (paths ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            ReadNative(path, result);
        }

        if (result.Count == 0)
        {
            Console.WriteLine($"(no native results{(paths is null ? "" : $" in {paths}")})");
        }

        return result;
    }

    private static void ReadNative(string path, Dictionary<string, NativeRun> result)
    {
        if (!File.Exists(path))
        {
            Console.WriteLine($"(no native results at {path})");
            return;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        foreach (JsonElement b in document.RootElement.GetProperty("benchmarks").EnumerateArray())
        {
            // Single runs, or the median of repetitions (--benchmark_repetitions), which then wins.
            bool median = b.TryGetProperty("aggregate_name", out JsonElement aggregate) && aggregate.GetString() == "median";
            if (b.TryGetProperty("run_type", out JsonElement type) && type.GetString() != "iteration" && !median)
            {
                continue;
            }

            if (b.TryGetProperty("error_occurred", out JsonElement error) && error.GetBoolean())
            {
                continue;
            }

            double scale = b.GetProperty("time_unit").GetString() switch
            {
                "ns" => 1e-6,
                "us" => 1e-3,
                "ms" => 1,
                "s" => 1e3,
                _ => double.NaN,
            };
            string name = (b.TryGetProperty("run_name", out JsonElement runName) ? runName : b.GetProperty("name")).GetString()!;
            foreach (string suffix in new[] { "/real_time", "/process_time" })
            {
                if (name.EndsWith(suffix, StringComparison.Ordinal))
                {
                    name = name[..^suffix.Length];
                }
            }

            // The mixer steps report the process CPU time (all threads) as a counter; cpu_time is the main thread's.
            double cpu = b.TryGetProperty("proc_cpu_ms", out JsonElement processCpu)
                ? processCpu.GetDouble()
                : b.GetProperty("cpu_time").GetDouble() * scale;
            if (!median && result.ContainsKey(name + "#median"))
            {
                continue;
            }

            if (median)
            {
                result[name + "#median"] = new NativeRun(0, 0, new Dictionary<string, double>());
            }

            // User counters are the remaining numeric properties (x_LGBP, BP_ms, ...).
            var counters = new Dictionary<string, double>();
            foreach (JsonProperty property in b.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Number)
                {
                    counters[property.Name] = property.Value.GetDouble();
                }
            }

            result[name] = new NativeRun(b.GetProperty("real_time").GetDouble() * scale, cpu, counters);
        }
    }

    private sealed record ManagedRun(string Suite, string Benchmark, string Parameters, double MeanNs, long Allocated, string Native);

    private static List<ManagedRun> ReadManaged(string? path)
    {
        if (path is null || !File.Exists(path))
        {
            Console.WriteLine($"(no managed results{(path is null ? "" : $" at {path}")})");
            return [];
        }

        return [.. File.ReadAllLines(path).Select(l => l.Split('\t')).Where(f => f.Length >= 6).Select(f => new ManagedRun(
            f[0], f[1], f[2], double.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture), f[5]))];
    }
}
