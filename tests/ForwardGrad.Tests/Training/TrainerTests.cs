using ForwardGrad.Checkpoints;
using ForwardGrad.Cli;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class TrainerTests
{
    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = TrainingFixtures.TempFolder();

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    private static TrainerOptions Tiny => new()
    {
        Model = "S/1/1",
        Method = "LG-FG-A",
        Epochs = 3,
        BatchSize = 16,
        LearningRate = 0.05,
        Tangents = 2,
        WarmupEpochs = 0.5,
        Seed = 11,
    };

    [Test]
    public void ResumeGivesTheSameNumbersAsAnUninterruptedRun()
    {
        var data = TrainingFixtures.Splits();
        string whole = Path.Combine(_folder, "whole");
        string split = Path.Combine(_folder, "split");
        TrainingResult a = new Trainer(Tiny, data).Run(whole);
        // 96 images / 16 = 6 batches per epoch; stop mid-epoch 2 and continue.
        new Trainer(Tiny with { MaxSteps = 8 }, data).Run(split);
        TrainingResult b = new Trainer(Tiny, data).Run(split, RunStart.Resume);

        Assert.That(b.Steps, Is.EqualTo(a.Steps));
        Assert.That(b.Epochs[^1] with { ImagesPerSecond = 0, ElapsedSeconds = 0 }, Is.EqualTo(a.Epochs[^1] with { ImagesPerSecond = 0, ElapsedSeconds = 0 }));
        var ca = Checkpoint.Load(Path.Combine(whole, "checkpoint.safetensors"));
        var cb = Checkpoint.Load(Path.Combine(split, "checkpoint.safetensors"));
        Assert.That(cb.Tensors.Keys, Is.EquivalentTo(ca.Tensors.Keys));
        foreach (var (name, tensor) in ca.Tensors)
        {
            Assert.That(cb.Tensors[name].Data, Is.EqualTo(tensor.Data), name);
        }
    }

    [Test]
    public void DivergingRunStopsWithAdvice()
    {
        var data = TrainingFixtures.Splits();
        TrainingResult result = new Trainer(Tiny with { Method = "BP", LearningRate = 1e4, WarmupEpochs = 0 }, data).Run(Path.Combine(_folder, "run"));
        Assert.That(result.Failure, Does.Contain("lower learning rate"));
    }

    [Test]
    public void CliTrainRunsEndToEndAndEvalReadsTheCheckpoint()
    {
        string dataDir = Path.Combine(_folder, "data");
        TrainingFixtures.WriteIdx(Path.Combine(dataDir, "mnist-sample"), TrainingFixtures.Splits());
        string run = Path.Combine(_folder, "run");
        var (code, output, error) = CliRunner.Run("train", "--data-dir", dataDir, "--model", "S/1/1", "--batch-size", "16", "--max-steps", "4", "--out", run);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("final test error"));
        foreach (string file in new[] { "config.json", "metrics.csv", "checkpoint.safetensors" })
        {
            Assert.That(File.Exists(Path.Combine(run, file)), Is.True, file);
        }

        Assert.That(File.ReadAllLines(Path.Combine(run, "metrics.csv")), Has.Length.EqualTo(2));
        (code, output, error) = CliRunner.Run("eval", "--checkpoint", Path.Combine(run, "checkpoint.safetensors"), "--data-dir", dataDir);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("test error"));
    }

    [Test]
    public void ThreadsOption_ReachesTheContext_AndANegativeCountIsOneReadableLine()
    {
        string dataDir = Path.Combine(_folder, "data");
        TrainingFixtures.WriteIdx(Path.Combine(dataDir, "mnist-sample"), TrainingFixtures.Splits());
        string run = Path.Combine(_folder, "run-threads");
        var (code, output, error) = CliRunner.Run("train", "--data-dir", dataDir, "--model", "S/1/1", "--batch-size", "16", "--max-steps", "2", "--threads", "1", "--out", run);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("final test error"));

        (code, _, error) = CliRunner.Run("train", "--data-dir", dataDir, "--threads", "-1", "--out", Path.Combine(_folder, "run-bad"));
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error.Split('\n')[0], Is.EqualTo("fgrad: error: --threads must be 0 (all usable CPUs) or a positive count; got -1."));
    }

    [Test]
    public void CpuContext_ReportsTheThreadsItWasCreatedWith()
    {
        using Context context = Trainer.CreateContext("cpu", 1);
        Assert.That(context.Info.Threads, Is.EqualTo(1));
    }

    [Test]
    public void MissingDataSetIsOneReadableLine()
    {
        var (code, _, error) = CliRunner.Run("train", "--data-dir", Path.Combine(_folder, "nothing"), "--out", Path.Combine(_folder, "run"));
        Assert.That(code, Is.Not.EqualTo(0));
        string first = error.Split('\n')[0];
        Assert.That(first, Does.StartWith("fgrad: error:").And.Contain("mnist-sample").And.Contain("not found"));
    }
}
