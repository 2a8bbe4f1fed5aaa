using ForwardGrad.Tests.Training;

namespace ForwardGrad.Tests.Parallel;

/// <summary>
/// <c>mpirun -np N fgrad train --parallel data</c> against one process with the same global batch. The gradients of a
/// rank's shard are summed in float in another order than the one GEMM over the whole batch, so N &gt; 1 ranks match one
/// process up to rounding (every tensor within 1e-5 relative after six steps; measured 1e-7 to 8e-7); one rank is the
/// single-process run bit for bit. FG-A and LG-FG-A draw each image's activity noise at its place in the global batch, so
/// they match one process the same way.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DataParallelTrainingTests : SampleDataFixture
{
    private const double Tolerance = 1e-5;

    private string[] Args(string method, string run, params string[] more) =>
        TrainingFixtures.TinyTrain(DataDir, ["--method", method, "--batch-size", "32", "--epochs", "2", "--threads", "1", "--out", run, .. more]);

    private string Single(string method, params string[] more)
    {
        string run = Path.Combine(Folder, $"single-{method}");
        var (code, output, error) = CliRunner.Run(Args(method, run, more));
        Assert.That(code, Is.Zero, output + error);
        return run;
    }

    private (string Run, string Output) Parallel(int ranks, string method, params string[] more)
    {
        string run = Path.Combine(Folder, $"np{ranks}-{method}");
        var (code, output, error) = MpiRun.Fgrad(ranks, Args(method, run, ["--parallel", "data", .. more]));
        Assert.That(code, Is.Zero, output + error);
        return (run, output);
    }

    [TestCase("LG-BP", 2)]
    [TestCase("LG-BP", 3)]
    [TestCase("BP", 3)]
    [TestCase("LG-FG-W", 2)]
    [TestCase("FG-W", 3)]
    [TestCase("LG-FG-A", 2)]
    [TestCase("FG-A", 3)]
    public void SeveralRanks_MatchOneProcessUpToRounding(string method, int ranks)
    {
        string single = Single(method);
        var (parallel, output) = Parallel(ranks, method);
        double difference = MpiRun.LargestRelativeDifference(parallel, single);
        TestContext.Out.WriteLine($"{method}, {ranks} ranks: largest relative weight difference {difference:E2}");
        Assert.That(difference, Is.LessThan(Tolerance));
        Assert.That(output, Does.Contain($"data parallel over {ranks} ranks"));
    }

    [Test]
    public void WeightPerturbation_ExchangesTheSumsAndTheHeads_NotTheGradient()
    {
        // S/1/1 (C = 256, G = 1, one block, 10 classes), K = 2: 2 sums + block head and final classifier (2 x 2,570)
        // + loss, accuracy and one block loss = 5,145 floats; the full gradient of S/1/1 is 271,892 + 3 floats.
        var (_, weights) = Parallel(2, "LG-FG-W");
        var (_, full) = Parallel(2, "LG-BP");
        Assert.That(weights, Does.Contain("20,580 bytes all-reduced per step"));
        Assert.That(full, Does.Contain($"{(271_892 + 3) * 4:N0} bytes all-reduced per step"));
        var (_, global) = Parallel(3, "FG-W");
        Assert.That(global, Does.Contain($"{(2 + (2 * 2_570) + 3) * 4:N0} bytes all-reduced per step"));
    }

    [Test]
    public void ACustomMultiBlockModel_TrainsDataParallelLikeOneProcess()
    {
        string single = Single("LG-BP", "--model", "C=32,G=4,blocks=3,grid=7");
        var (parallel, _) = Parallel(2, "LG-BP", "--model", "C=32,G=4,blocks=3,grid=7");
        double difference = MpiRun.LargestRelativeDifference(parallel, single);
        TestContext.Out.WriteLine($"LG-BP C=32,G=4,blocks=3,grid=7, 2 ranks: largest relative weight difference {difference:E2}");
        Assert.That(difference, Is.LessThan(Tolerance));
    }

    [TestCase("LG-FG-A")]
    [TestCase("LG-FG-W")]
    [TestCase("BP")]
    public void OneRank_IsTheSingleProcessRunBitForBit(string method)
    {
        string single = Single(method);
        var (parallel, _) = Parallel(1, method);
        Assert.That(MpiRun.SameWeights(parallel, single), Is.True);
    }

    [Test]
    public void Rank0Alone_PrintsTheSingleProcessLines_AndWritesTheFolder()
    {
        string single = Single("LG-BP");
        var (parallel, output) = Parallel(3, "LG-BP");
        string[] lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Count(l => l.StartsWith("final test error:", StringComparison.Ordinal)), Is.EqualTo(1), output);
        Assert.That(lines.Count(l => l.StartsWith("epoch 2/2:", StringComparison.Ordinal)), Is.EqualTo(1), output);
        Assert.That(File.Exists(Path.Combine(parallel, "checkpoint.safetensors")), Is.True);
        Assert.That(File.ReadAllText(Path.Combine(parallel, "config.json")), Does.Contain("\"parallel\": \"data\"").And.Contain("\"ranks\": 3"));
        string[] singleRows = File.ReadAllLines(Path.Combine(single, "metrics.csv")), parallelRows = File.ReadAllLines(Path.Combine(parallel, "metrics.csv"));
        Assert.That(parallelRows, Has.Length.EqualTo(singleRows.Length));
        Assert.That(parallelRows[0], Is.EqualTo(singleRows[0]));
    }

    [Test]
    public void AResumeWithAnotherRankCount_ContinuesTheRun()
    {
        string single = Single("LG-BP");
        string run = Path.Combine(Folder, "resumed");
        var (code, output, error) = MpiRun.Fgrad(2, Args("LG-BP", run, "--parallel", "data", "--max-steps", "4"));
        Assert.That(code, Is.Zero, output + error);
        (code, output, error) = MpiRun.Fgrad(3, ["train", "--resume", run, "--parallel", "data", "--threads", "1"]);
        Assert.That(code, Is.Zero, output + error);
        Assert.That(output, Does.Contain("resumed from").And.Contain("at step 4"));
        Assert.That(MpiRun.LargestRelativeDifference(run, single), Is.LessThan(Tolerance));
        // ... and one process can take it over again (nothing left to train: the run is complete).
        var (last, lastOutput, lastError) = CliRunner.Run("train", "--resume", run);
        Assert.That(last, Is.Zero, lastOutput + lastError);
        Assert.That(lastOutput, Does.Contain("nothing to train"));
    }

    [Test]
    public void AKilledRank_MakesTheOthersExitWithItsNameWithinTheTimeLimit()
    {
        string run = Path.Combine(Folder, "killed");
        // With recovery on, mpirun lets rank 0 live after rank 1 dies, so rank 0's own time limit must end it.
        var (code, output, error) = MpiRun.Fgrad(2, Args("LG-BP", run, "--parallel", "data", "--comm-timeout", "3"),
            mpirunOptions: ["--mca", "orte_enable_recovery", "1"],
            lastRankEnvironment: new Dictionary<string, string> { ["FG_FAULT_KILL_AT"] = "after-step:2" });
        Assert.That(error, Does.Contain("fgrad: error: rank 0 of 2:").And.Contain("waited 3.0 s").And.Contain("for rank 1"), output + error);
        // Without recovery mpirun itself ends the job when a rank dies, and says which.
        (code, output, error) = MpiRun.Fgrad(2, Args("LG-BP", run, "--parallel", "data", "--overwrite"),
            lastRankEnvironment: new Dictionary<string, string> { ["FG_FAULT_KILL_AT"] = "after-step:2" });
        Assert.That(code, Is.Not.Zero);
        Assert.That(output + error, Does.Contain("rank 1").And.Contain("signal 9"));
    }

    [Test]
    public void ABadOptionOnRank0_StopsEveryRankWithOneMessage()
    {
        var (code, output, error) = MpiRun.Fgrad(2, Args("LG-BP", Path.Combine(Folder, "bad"), "--parallel", "data", "--lr", "-1"));
        Assert.That(code, Is.Not.Zero);
        Assert.That(error.Split('\n').Count(l => l.Contains("--lr must be", StringComparison.Ordinal)), Is.EqualTo(1), error);
    }
}
