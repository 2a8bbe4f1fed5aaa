using System.Text.Json.Nodes;
using ForwardGrad.Checkpoints;
using ForwardGrad.IO;
using ForwardGrad.Tests.Support;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

/// <summary>Resume is complete: after a kill anywhere, and with the options a resume may or may not change.</summary>
[TestFixture]
public sealed class ResumeTests : SampleDataFixture
{

    // One thread everywhere: the child process and this one then compute the same sums in the same order
    // (the CPU backend's float results can differ in the last bits between thread counts).
    private string[] Tiny(params string[] more) =>
        TrainingFixtures.TinyTrain(DataDir, [.. more.Contains("--epochs") ? [] : new[] { "--epochs", "3" }, .. more.Contains("--threads") ? [] : new[] { "--threads", "1" }, .. more]);

    // 3 epochs x 6 steps. Each point is killed early and at the run's last occurrence.
    private static IEnumerable<TestCaseData> KillPoints()
    {
        var occurrences = new Dictionary<string, int[]>
        {
            [FaultInjection.AfterStep] = [1, 4, 6, 13, 18],
            [FaultInjection.BeforeCheckpoint] = [1, 3],
            [FaultInjection.CheckpointUnrenamed] = [1, 3],
            [FaultInjection.AfterCheckpoint] = [1, 3],
            [FaultInjection.BeforeRename(MetricsFile.FileName)] = [2, 4],
            [FaultInjection.AfterMetrics] = [1, 3],
        };
        Assert.That(FaultInjection.Points.Except(occurrences.Keys), Is.Empty, "every trainer point is covered");
        foreach (var (point, counts) in occurrences)
        {
            foreach (int count in counts)
            {
                yield return new TestCaseData(point, count).SetName($"KilledAt_{point}_{count}_ResumeEndsWithTheUninterruptedRun");
            }
        }
    }

    [TestCaseSource(nameof(KillPoints))]
    public void KilledAt_ResumeEndsWithTheUninterruptedRun(string point, int occurrence)
    {
        string whole = Path.Combine(Folder, "whole");
        Assert.That(CliRunner.Run(Tiny("--out", whole)).ExitCode, Is.Zero);

        string killed = Path.Combine(Folder, "killed");
        var (code, output, error) = FgradProcess.Run(new Dictionary<string, string> { [FaultInjection.Variable] = $"{point}:{occurrence}" }, Tiny("--out", killed));
        Assert.That(code, Is.EqualTo(137), $"the process was killed at {point}:{occurrence}\n{output}\n{error}");

        var resumed = CliRunner.Run("train", "--resume", killed);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.Error);

        AssertSameRun(whole, killed);
        Assert.That(Directory.GetFiles(killed, "*.tmp"), Is.Empty);
    }

    // The metrics (but timings) and every tensor of the two runs' checkpoints agree.
    private void AssertSameRun(string whole, string resumed)
    {
        Assert.That(Deterministic(Path.Combine(resumed, MetricsFile.FileName)), Is.EqualTo(Deterministic(Path.Combine(whole, MetricsFile.FileName))));
        var expected = Checkpoint.Load(Path.Combine(whole, RunFolder.CheckpointFileName));
        var actual = Checkpoint.Load(Path.Combine(resumed, RunFolder.CheckpointFileName));
        Assert.That(actual.Tensors.Keys, Is.EquivalentTo(expected.Tensors.Keys));
        foreach (var (name, tensor) in expected.Tensors)
        {
            Assert.That(actual.Tensors[name].Data, Is.EqualTo(tensor.Data), name);
        }
    }

    // The feedback-alignment methods: the checkpoint carries the feedback matrices, and the resumed run ends where
    // the uninterrupted one does.
    [TestCase("FA")]
    [TestCase("L-FA")]
    [TestCase("DFA")]
    public void FeedbackAlignment_KilledAfterACheckpoint_ResumeEndsWithTheUninterruptedRun(string method)
    {
        string whole = Path.Combine(Folder, "whole");
        Assert.That(CliRunner.Run(Tiny("--method", method, "--out", whole)).ExitCode, Is.Zero);
        string killed = Path.Combine(Folder, "killed");
        var (code, output, error) = FgradProcess.Run(
            new Dictionary<string, string> { [FaultInjection.Variable] = $"{FaultInjection.AfterCheckpoint}:1" }, Tiny("--method", method, "--out", killed));
        Assert.That(code, Is.EqualTo(137), $"{output}\n{error}");
        Assert.That(Checkpoint.Load(Path.Combine(killed, RunFolder.CheckpointFileName)).Tensors.Keys.Count(k => k.Contains("feedback", StringComparison.Ordinal)),
            Is.GreaterThan(0));
        var resumed = CliRunner.Run("train", "--resume", killed);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.Error);
        AssertSameRun(whole, killed);
    }

    [Test]
    public void Resume_AppliesWhereTheDataIsNow_TheThreadsAndMoreEpochs_AndRecordsThem()
    {
        string run = Path.Combine(Folder, "run");
        Assert.That(CliRunner.Run(Tiny("--max-steps", "3", "--out", run)).ExitCode, Is.Zero);
        string moved = Path.Combine(Folder, "moved");
        Directory.Move(DataDir, moved);

        var (code, output, error) = CliRunner.Run("train", "--resume", run, "--data-dir", moved, "--threads", "2", "--epochs", "4");

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("(24 steps)"));
        TrainerOptions now = RunConfig.Read(run);
        Assert.That((now.DataDir, now.Threads, now.Epochs), Is.EqualTo((moved, 2, 4)));
        JsonObject change = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunConfig.FileName)))!["resumes"]![0]!.AsObject();
        Assert.That((long)change["at_step"]!, Is.EqualTo(3));
        Assert.That(change["changed"]!.AsObject().Select(p => p.Key), Is.EquivalentTo(new[] { "data_dir", "threads", "epochs", "max_steps" }));
        Assert.That((string)change["changed"]!["epochs"]!, Is.EqualTo("3 -> 4"));
    }

    [TestCase("--lr", "0.01", "learning_rate 0.05 -> 0.01")]
    [TestCase("--method", "BP", "method \"LG-FG-A\" -> \"BP\"")]
    [TestCase("--model", "M/1/16", "model \"S/1/1\" -> \"M/1/16\"")]
    [TestCase("--tangents", "4", "tangents 2 -> 4")]
    [TestCase("--seed", "3", "seed 11 -> 3")]
    public void Resume_RefusesAnOptionThatChangesResults_AndTouchesNothing(string flag, string value, string named)
    {
        string run = Path.Combine(Folder, "run");
        Assert.That(CliRunner.Run(Tiny("--max-steps", "3", "--out", run)).ExitCode, Is.Zero);
        var before = TrainingFixtures.Snapshot(run);

        var (code, _, error) = CliRunner.Run("train", "--resume", run, flag, value);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Does.Contain(named).And.Contain("Start a new run"));
        Assert.That(TrainingFixtures.Snapshot(run), Is.EquivalentTo(before));
    }

    [Test]
    public void Resume_WithTheRecordedValueOfAnOption_IsAccepted()
    {
        string run = Path.Combine(Folder, "run");
        Assert.That(CliRunner.Run(Tiny("--max-steps", "3", "--out", run)).ExitCode, Is.Zero);
        var (code, _, error) = CliRunner.Run("train", "--resume", run, "--lr", "0.05", "--method", "lg-fg-a", "--model", "s-1-1", "--max-steps", "4");
        Assert.That(code, Is.Zero, error);
    }

    [Test]
    public void Resume_RefusesACheckpointOfAnotherMethodThanTheConfig()
    {
        string run = Path.Combine(Folder, "run");
        string other = Path.Combine(Folder, "other");
        Assert.That(CliRunner.Run(Tiny("--max-steps", "3", "--out", run)).ExitCode, Is.Zero);
        Assert.That(CliRunner.Run(Tiny("--method", "BP", "--max-steps", "3", "--out", other)).ExitCode, Is.Zero);
        File.Copy(Path.Combine(other, RunFolder.CheckpointFileName), Path.Combine(run, RunFolder.CheckpointFileName), overwrite: true);

        var (code, _, error) = CliRunner.Run("train", "--resume", run);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Does.Contain("was trained with BP, but the run's config.json says LG-FG-A"));
    }

    [Test]
    public void Resume_OfAFinishedRun_ReportsItsFinalTestError()
    {
        string run = Path.Combine(Folder, "run");
        var first = CliRunner.Run(Tiny("--epochs", "1", "--out", run));
        Assert.That(first.ExitCode, Is.Zero, first.Error);
        double recorded = MetricsFile.Read(Path.Combine(run, MetricsFile.FileName))[^1].TestError;

        var (code, output, error) = CliRunner.Run("train", "--resume", run);

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("nothing to train").And.Contain(FormattableString.Invariant($"final test error: {recorded:F2}% (6 steps)")));
        Assert.That(output, Does.Not.Contain("NaN"));
    }

    [Test]
    public void DivergenceInTheFirstEpoch_DoesNotNameACheckpointThatDoesNotExist()
    {
        string run = Path.Combine(Folder, "run");
        var (code, output, _) = CliRunner.Run(Tiny("--method", "BP", "--lr", "10000", "--warmup-epochs", "0", "--out", run));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(File.Exists(Path.Combine(run, RunFolder.CheckpointFileName)), Is.False);
        Assert.That(output, Does.Contain("diverged at epoch 1").And.Contain("No checkpoint was saved").And.Not.Contain("kept in"));
    }

    [Test]
    public void DivergenceAfterACheckpoint_NamesItAndItsStep()
    {
        var data = TrainingFixtures.Splits();
        string run = Path.Combine(Folder, "run");
        var options = new TrainerOptions { Model = "S/1/1", Method = "BP", Epochs = 3, BatchSize = 16, LearningRate = 0.05, Seed = 11, MaxSteps = 6 };
        Assert.That(new Trainer(options, data).Run(run).Failure, Is.Null);
        string config = Path.Combine(run, RunConfig.FileName);
        // Make the resumed run diverge: the recorded lr is the one a resume keeps.
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"learning_rate\": 0.05", "\"learning_rate\": 10000", StringComparison.Ordinal));

        TrainingResult result = new Trainer(options with { LearningRate = 10000, MaxSteps = null }, data).Run(run, RunStart.Resume);

        Assert.That(result.Failure, Does.Contain($"The last good checkpoint (step 6) is kept in {Path.Combine(run, RunFolder.CheckpointFileName)}"));
    }

    /// <summary>metrics.csv without its two wall-clock columns (images_per_s, elapsed_s).</summary>
    private static string[] Deterministic(string path) =>
        [.. File.ReadAllLines(path).Select(line => line.Split(',')).Select(f => string.Join(',', f.Take(5).Concat(f.Skip(7))))];
}
