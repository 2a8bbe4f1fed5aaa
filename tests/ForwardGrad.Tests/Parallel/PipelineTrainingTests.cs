using ForwardGrad.Tests.Training;

namespace ForwardGrad.Tests.Parallel;

/// <summary>
/// <c>mpirun -np N fgrad train --parallel pipeline</c> against one process. No gradient crosses a block boundary in the local
/// methods, and each stage runs its blocks' part of the whole step with the same random streams, so N ranks write the
/// single-process checkpoint (weights and optimizer state) bit for bit and rank 0 prints the same losses and errors.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PipelineTrainingTests : SampleDataFixture
{
    private const string Model = "C=32,G=4,blocks=4,grid=7";

    private string[] Args(string method, string run, params string[] more) =>
        TrainingFixtures.TinyTrain(DataDir, ["--model", Model, "--method", method, "--batch-size", "32", "--epochs", "2", "--threads", "1", "--out", run, .. more]);

    private string Single(string method)
    {
        string run = Path.Combine(Folder, $"single-{method}");
        var (code, output, error) = CliRunner.Run(Args(method, run));
        Assert.That(code, Is.Zero, output + error);
        return run;
    }

    private (string Run, string Output) Pipeline(int ranks, string method, params string[] more)
    {
        string run = Path.Combine(Folder, $"np{ranks}-{method}");
        var (code, output, error) = MpiRun.Fgrad(ranks, Args(method, run, ["--parallel", "pipeline", .. more]));
        Assert.That(code, Is.Zero, output + error);
        return (run, output);
    }

    /// <summary>metrics.csv without the timing columns (images/s, elapsed).</summary>
    private static string[] Results(string run) =>
        [.. File.ReadAllLines(Path.Combine(run, "metrics.csv")).Select(line => string.Join(',', line.Split(',')[..5]))];

    [TestCase("LG-BP", 2)]
    [TestCase("LG-BP", 3)]
    [TestCase("LG-FG-A", 2)]
    [TestCase("LG-FG-A", 3)]
    [TestCase("LG-FG-W", 2)]
    public void SeveralRanks_WriteTheSingleProcessCheckpointBitForBit(string method, int ranks)
    {
        string single = Single(method);
        var (pipeline, output) = Pipeline(ranks, method);
        Assert.That(MpiRun.SameWeights(pipeline, single), Is.True, "weights and optimizer state");
        Assert.That(Results(pipeline), Is.EqualTo(Results(single)));
        Assert.That(Results(single), Has.Length.EqualTo(3));
        string[] lines = output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Count(l => l.StartsWith("epoch 2/2:", StringComparison.Ordinal)), Is.EqualTo(1), output);
        Assert.That(lines.Count(l => l.StartsWith("final test error:", StringComparison.Ordinal)), Is.EqualTo(1), output);
        // Rank 0 passes on the (32, 49, 32) output of block 1 and the 4 block losses; the statistics are 2 + 4 floats.
        Assert.That(output, Does.Contain($"block pipeline over {ranks} ranks, rank 0 owns blocks [0, 2): {(4 + (32 * 49 * 32)) * 4:N0} bytes passed on per step")
            .And.Contain("24 bytes of statistics sent to rank 0"));
        Assert.That(File.ReadAllText(Path.Combine(pipeline, "config.json")), Does.Contain("\"parallel\": \"pipeline\"").And.Contain($"\"ranks\": {ranks}"));
    }

    [Test]
    public void ContrastiveLocalLosses_PipelineLikeOneProcess()
    {
        string single = Path.Combine(Folder, "single-contrastive"), pipeline = Path.Combine(Folder, "np2-contrastive");
        var (code, output, error) = CliRunner.Run(Args("LG-FG-A", single, "--loss", "contrastive"));
        Assert.That(code, Is.Zero, output + error);
        (code, output, error) = MpiRun.Fgrad(2, Args("LG-FG-A", pipeline, "--loss", "contrastive", "--parallel", "pipeline"));
        Assert.That(code, Is.Zero, output + error);
        Assert.That(MpiRun.SameWeights(pipeline, single), Is.True);
        Assert.That(Results(pipeline), Is.EqualTo(Results(single)));
    }

    [Test]
    public void ADivergingRun_StopsEveryRankWithTheSingleProcessMessage()
    {
        // Rank 0 learns a step's statistics a few steps late, so the ranks stop together at the epoch's end; the message
        // names the step that diverged, as one process does, and no checkpoint is written.
        string single = Path.Combine(Folder, "single-diverged"), pipeline = Path.Combine(Folder, "np3-diverged");
        var (code, singleOutput, error) = CliRunner.Run(Args("LG-BP", single, "--lr", "100000", "--warmup-epochs", "0"));
        Assert.That(code, Is.EqualTo(1), singleOutput + error);
        string message = singleOutput.Split('\n').Single(l => l.Contains("training diverged", StringComparison.Ordinal)).Trim();
        (code, string output, error) = MpiRun.Fgrad(3, Args("LG-BP", pipeline, "--lr", "100000", "--warmup-epochs", "0", "--parallel", "pipeline"));
        Assert.That(code, Is.EqualTo(1), output + error);
        Assert.That(output.Split('\n').Select(l => l.Trim()), Has.Exactly(1).EqualTo(message.Replace(single, pipeline, StringComparison.Ordinal)), output);
        Assert.That(File.Exists(Path.Combine(pipeline, "checkpoint.safetensors")), Is.False);
    }

    [Test]
    public void AResumeWithAnotherRankCount_ContinuesTheRunExactly()
    {
        string single = Single("LG-FG-A");
        string run = Path.Combine(Folder, "resumed");
        var (code, output, error) = MpiRun.Fgrad(2, Args("LG-FG-A", run, "--parallel", "pipeline", "--max-steps", "4"));
        Assert.That(code, Is.Zero, output + error);
        (code, output, error) = MpiRun.Fgrad(3, ["train", "--resume", run, "--parallel", "pipeline", "--threads", "1"]);
        Assert.That(code, Is.Zero, output + error);
        Assert.That(output, Does.Contain("resumed from").And.Contain("at step 4"));
        Assert.That(MpiRun.SameWeights(run, single), Is.True);
        // ... and one process can take it over again (nothing left to train: the run is complete).
        var (last, lastOutput, lastError) = CliRunner.Run("train", "--resume", run);
        Assert.That(last, Is.Zero, lastOutput + lastError);
        Assert.That(lastOutput, Does.Contain("nothing to train"));
    }

    [TestCase("BP")]
    [TestCase("FG-W")]
    public void AGlobalMethod_IsRefusedOnceBeforeAnythingIsWritten(string method)
    {
        string run = Path.Combine(Folder, "refused");
        var (code, output, error) = MpiRun.Fgrad(2, Args(method, run, "--parallel", "pipeline"));
        Assert.That(code, Is.Not.Zero);
        Assert.That(error.Split('\n').Count(l => l.Contains($"--parallel pipeline trains only the local methods", StringComparison.Ordinal)), Is.EqualTo(1), output + error);
        Assert.That(error, Does.Contain($"{method} needs a backward pass").And.Contain("--parallel data"));
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void MoreRanksThanBlocks_IsRefusedNamingBoth()
    {
        string run = Path.Combine(Folder, "too-many");
        string[] args = TrainingFixtures.TinyTrain(DataDir, "--model", "C=32,G=4,blocks=2,grid=7", "--method", "LG-BP", "--threads", "1", "--out", run, "--parallel", "pipeline");
        var (code, output, error) = MpiRun.Fgrad(3, args);
        Assert.That(code, Is.Not.Zero);
        Assert.That(error.Split('\n').Count(l => l.Contains("3 ranks were started for a model of 2 blocks", StringComparison.Ordinal)), Is.EqualTo(1), output + error);
        Assert.That(Directory.Exists(run), Is.False);
    }
}
