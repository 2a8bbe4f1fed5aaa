using System.Diagnostics;
using ForwardGrad.Checkpoints;

namespace ForwardGrad.Tests.Parallel;

/// <summary>Runs <c>mpirun ... dotnet fgrad.dll</c> (every rank the test's own build) and compares run folders.</summary>
internal static class MpiRun
{
    /// <summary>
    /// mpirun with <paramref name="ranks"/> ranks of fgrad <paramref name="args"/>; <paramref name="lastRankEnvironment"/>
    /// (e.g. a kill point) applies to the last rank only; <paramref name="mpirunOptions"/> go before the program.
    /// </summary>
    public static (int ExitCode, string Output, string Error) Fgrad(int ranks, string[] args, string[]? mpirunOptions = null,
        IReadOnlyDictionary<string, string>? lastRankEnvironment = null)
    {
        string launcher = MpiAvailability.RequireLauncher();
        var start = new ProcessStartInfo(launcher) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string fgrad = Path.Combine(TestContext.CurrentContext.TestDirectory, "fgrad.dll");
        foreach (string option in mpirunOptions ?? [])
        {
            start.ArgumentList.Add(option);
        }

        void AddApp(int count, IReadOnlyDictionary<string, string>? environment)
        {
            start.ArgumentList.Add("-np");
            start.ArgumentList.Add(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            {
                start.ArgumentList.Add("-x");
                start.ArgumentList.Add($"{key}={value}");
            }

            start.ArgumentList.Add("dotnet");
            start.ArgumentList.Add(fgrad);
            foreach (string arg in args)
            {
                start.ArgumentList.Add(arg);
            }
        }

        if (lastRankEnvironment is null || ranks == 1)
        {
            AddApp(ranks, lastRankEnvironment);
        }
        else
        {
            AddApp(ranks - 1, null);
            start.ArgumentList.Add(":");
            AddApp(1, lastRankEnvironment);
        }

        if (Backends.LibraryPath is string library)
        {
            start.Environment["FG_NATIVE_PATH"] = library;
        }

        // Open MPI refuses root unless told (CI runs as root); 3 ranks on 2 cores need oversubscription.
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        start.Environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1";
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{launcher} did not start");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"mpirun -np {ranks} fgrad {string.Join(' ', args)} did not finish in 3 minutes");
        }

        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>
    /// The largest relative difference ||a - b|| / max(||b||, 0.01) over the tensors of two runs' checkpoints. The floor
    /// keeps tensors that hold only rounding noise from counting as different: the token-mixing biases (norm about 1e-8),
    /// whose exact gradient is 0 because the LayerNorm over channels after them cancels any per-patch constant.
    /// </summary>
    public static double LargestRelativeDifference(string runA, string runB)
    {
        Checkpoint a = Checkpoint.Load(Path.Combine(runA, "checkpoint.safetensors"));
        Checkpoint b = Checkpoint.Load(Path.Combine(runB, "checkpoint.safetensors"));
        Assert.That(a.Tensors.Keys, Is.EquivalentTo(b.Tensors.Keys));
        double worst = 0;
        foreach (var (name, tensor) in b.Tensors)
        {
            float[] x = a.Tensors[name].Data, y = tensor.Data;
            double difference = 0, norm = 0;
            for (int i = 0; i < y.Length; i++)
            {
                difference += Math.Pow((double)x[i] - y[i], 2);
                norm += (double)y[i] * y[i];
            }

            worst = Math.Max(worst, Math.Sqrt(difference) / Math.Max(Math.Sqrt(norm), 1e-2));
        }

        return worst;
    }

    /// <summary>Whether every tensor of the two runs' checkpoints has the same bits.</summary>
    public static bool SameWeights(string runA, string runB)
    {
        Checkpoint a = Checkpoint.Load(Path.Combine(runA, "checkpoint.safetensors"));
        Checkpoint b = Checkpoint.Load(Path.Combine(runB, "checkpoint.safetensors"));
        return a.Tensors.Count == b.Tensors.Count
            && b.Tensors.All(pair => a.Tensors.TryGetValue(pair.Key, out NamedTensor? t) && t.Data.AsSpan().SequenceEqual(pair.Value.Data));
    }
}
