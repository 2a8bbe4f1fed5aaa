using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ForwardGrad.Benchmarks;

/// <summary>
/// Runs the managed benchmarks. <c>--short</c> runs every suite once with a short in-process job
/// (a couple of minutes in all); any other arguments go to <see cref="BenchmarkSwitcher"/>.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var switcher = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly);
        if (args.Contains("--short"))
        {
            var config = DefaultConfig.Instance
                .AddJob(Job.ShortRun
                    .WithWarmupCount(2)
                    .WithIterationCount(5)
                    .WithToolchain(InProcessEmitToolchain.Instance)
                    .WithId("Short"))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
            string[] rest = [.. args.Where(a => a != "--short")];
            switcher.Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
            return 0;
        }

        switcher.Run(args);
        return 0;
    }
}
