using ForwardGrad.Checkpoints;
using ForwardGrad.Cli.Plotting;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class ProgressAndCurvesTests
{
    private static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = TrainingFixtures.TempFolder();

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    // 96 images / 16 = 6 batches per epoch.
    private static TrainerOptions Tiny => new()
    {
        Model = "S/1/1",
        Method = "LG-FG-A",
        Epochs = 2,
        BatchSize = 16,
        LearningRate = 0.05,
        Tangents = 2,
        Seed = 3,
    };

    [Test]
    public void ProgressIsReportedOnceAStepWithMonotonicSteps()
    {
        var reports = new Recorder();
        TrainingResult result = new Trainer(Tiny, TrainingFixtures.Splits()).Run(Path.Combine(_folder, "run"), progress: reports);

        Assert.That(result.Failure, Is.Null);
        Assert.That(reports.Items, Has.Count.EqualTo(12));
        Assert.That(reports.Items.Select(p => p.Step), Is.EqualTo(Enumerable.Range(1, 12).Select(i => (long)i)));
        Assert.Multiple(() =>
        {
            Assert.That(reports.Items.Select(p => (p.Epoch, p.Batch)), Is.EqualTo(
                Enumerable.Range(0, 12).Select(i => (i / 6 + 1, i % 6 + 1))));
            Assert.That(reports.Items, Has.All.Matches<TrainingProgress>(p =>
                p.Steps == 12 && p.Epochs == 2 && p.Batches == 6 && double.IsFinite(p.Loss) && p.ImagesPerSecond > 0 && p.Eta >= TimeSpan.Zero));
            Assert.That(reports.Items[^1].Eta, Is.EqualTo(TimeSpan.Zero));
        });
    }

    [Test]
    public void ResumedRunReportsOnlyTheRemainingSteps()
    {
        var data = TrainingFixtures.Splits();
        string run = Path.Combine(_folder, "run");
        new Trainer(Tiny with { MaxSteps = 4 }, data).Run(run);
        var reports = new Recorder();
        new Trainer(Tiny, data).Run(run, RunStart.Resume, progress: reports);

        Assert.That(reports.Items.Select(p => p.Step), Is.EqualTo(Enumerable.Range(5, 8).Select(i => (long)i)));
        Assert.That(reports.Items[0].Batch, Is.EqualTo(5));
    }

    [Test]
    public void EpochCompletedIsRaisedOncePerEpochWithTheRowOfMetricsCsv()
    {
        var trainer = new Trainer(Tiny, TrainingFixtures.Splits());
        var rows = new List<EpochMetrics>();
        trainer.EpochCompleted += rows.Add;
        string run = Path.Combine(_folder, "run");
        TrainingResult result = trainer.Run(run);

        Assert.That(rows.Select(r => r.Epoch), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(rows, Is.EqualTo(result.Epochs));
        Assert.That(File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1), Is.EqualTo(rows.Select(r => r.ToCsv())));
        Assert.That(File.Exists(Path.Combine(run, TrainingCurves.FileName)), Is.False, "the library draws no plots; fgrad does");
    }

    [Test]
    public void CliTrainWritesCurvesPng()
    {
        string dataDir = Path.Combine(_folder, "data");
        TrainingFixtures.WriteIdx(Path.Combine(dataDir, "mnist-sample"), TrainingFixtures.Splits());
        string run = Path.Combine(_folder, "run");
        var (code, _, error) = CliRunner.Run("train", "--data-dir", dataDir, "--model", "S/1/1", "--batch-size", "16", "--epochs", "2", "--out", run);
        Assert.That(code, Is.EqualTo(0), error);

        var png = new FileInfo(Path.Combine(run, TrainingCurves.FileName));
        Assert.That(png.Exists, Is.True);
        Assert.That(png.Length, Is.GreaterThan(PngMagic.Length));
        Assert.That(File.ReadAllBytes(png.FullName).Take(PngMagic.Length), Is.EqualTo(PngMagic));
        Assert.That(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories), Is.Empty);
    }

    [Test]
    public void MetricsRoundTripThroughTheCsvAndTheLastRowOfAnEpochIsPlotted()
    {
        string csv = Path.Combine(_folder, "metrics.csv");
        EpochMetrics[] rows =
        [
            new(1, 6, 2.1, 80, 75, 1000, 1.5, 0.05),
            new(2, 8, 1.9, 70, double.NaN, 1000, 2.0, 0.04),
            new(2, 12, 1.5, 50, 45, 1000, 3.0, 0.01),
        ];
        File.WriteAllLines(csv, [EpochMetrics.CsvHeader, .. rows.Select(r => r.ToCsv())]);

        IReadOnlyList<EpochMetrics> read = TrainingCurves.ReadMetrics(csv);
        Assert.That(read.Select(r => r with { ImagesPerSecond = 0, ElapsedSeconds = 0 }),
            Is.EqualTo(rows.Select(r => r with { ImagesPerSecond = 0, ElapsedSeconds = 0 })));

        string png = Path.Combine(_folder, "curves.png");
        TrainingCurves.Save(png, read, "title");
        Assert.That(File.ReadAllBytes(png).Take(PngMagic.Length), Is.EqualTo(PngMagic));
    }

    /// <summary>Records synchronously (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Items { get; } = [];

        public void Report(TrainingProgress value) => Items.Add(value);
    }
}
