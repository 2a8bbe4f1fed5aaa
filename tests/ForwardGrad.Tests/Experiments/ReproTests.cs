using ForwardGrad.Experiments;
using ForwardGrad.Model;
using ForwardGrad.Tests.Training;

namespace ForwardGrad.Tests.Experiments;

[TestFixture]
public sealed class ReproTests
{
    private static readonly string[] PaperOrder = ["BP", "L-BP", "LG-BP", "FG-W", "FG-A", "LG-FG-W", "LG-FG-A"];
    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = TrainingFixtures.TempFolder();

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    private static RunRecord Run(string method, double lr, double val, double test, bool diverged = false) =>
        new(method, "S/1/1", "mnist-sample", lr, 5, 4, 128, 1, null, 100, diverged ? double.NaN : val, diverged ? double.NaN : test,
            diverged ? double.NaN : 1.0, diverged, 3.5, diverged ? "training diverged at epoch 1, step 3: loss NaN" : "");

    [Test]
    public void SelectionUsesValidationErrorEvenWhenTestErrorPrefersAnotherRun()
    {
        RunRecord[] runs =
        [
            Run("BP", 0.03, val: 5.0, test: 2.0), // best test, worse validation
            Run("BP", 0.1, val: 3.0, test: 4.0),  // best validation: must be chosen
            Run("BP", 0.3, val: 0, test: 0, diverged: true),
            Run("FG-W", 0.01, val: 0, test: 0, diverged: true),
            Run("FG-W", 0.1, val: 0, test: 0, diverged: true),
        ];
        var chosen = BestRunSelector.Select(runs);
        Assert.That(chosen[("BP", "S/1/1", "mnist-sample")].LearningRate, Is.EqualTo(0.1));
        Assert.That(chosen[("FG-W", "S/1/1", "mnist-sample")].Diverged, Is.True, "a group that only diverged is reported, not dropped");
        Assert.That(ReproReport.Cell(chosen[("FG-W", "S/1/1", "mnist-sample")]), Is.EqualTo("diverged"));
        Assert.That(ReproReport.Cell(chosen[("BP", "S/1/1", "mnist-sample")]), Is.EqualTo("4.00 / 1.00"));
    }

    [Test]
    public void RunRecordsSurviveTheCsv()
    {
        string path = Path.Combine(_folder, "runs.csv");
        RunRecord a = Run("LG-FG-A", 0.1, 4.25, 4.5), b = Run("FG-W", 0.03, 0, 0, diverged: true) with { MaxSteps = 7, Note = "a \"quoted\", comma" };
        RunRecord.Append(path, a);
        RunRecord.Append(path, b);
        File.AppendAllText(path, "LG-BP,S/1/1,mnist-sam"); // a row cut off mid-write is ignored
        var read = RunRecord.ReadAll(path);
        Assert.That(read, Has.Count.EqualTo(2));
        Assert.That(read[0], Is.EqualTo(a));
        Assert.That(read[1].Key, Is.EqualTo(b.Key));
        Assert.That(read[1].Note, Is.EqualTo(b.Note));
        Assert.That(double.IsNaN(read[1].TestError) && read[1].Diverged, Is.True);
    }

    [Test]
    public void GridOnTinyDataWritesEveryMethodAndRunAndResumes()
    {
        string dataDir = Path.Combine(_folder, "data");
        TrainingFixtures.WriteIdx(Path.Combine(dataDir, "mnist-sample"), TrainingFixtures.Splits());
        string output = Path.Combine(_folder, "grid");
        string[] args = ["repro", "--data-dir", dataDir, "--models", "S/1/1", "--lrs", "0.01,0.05", "--epochs", "1", "--max-steps", "2",
            "--batch-size", "16", "--tangents", "1", "--val-fraction", "0.25", "--out", output];
        var (code, text, error) = CliRunner.Run(args);
        Assert.That(code, Is.EqualTo(0), error + text);

        string csv = Path.Combine(output, "runs.csv");
        string[] lines = File.ReadAllLines(csv);
        Assert.That(lines, Has.Length.EqualTo(1 + 7 * 2));
        var records = RunRecord.ReadAll(csv);
        Assert.That(records.Select(r => r.Method).Distinct(), Is.EquivalentTo(PaperOrder));
        Assert.That(records.All(r => !r.Diverged && r.ValidationError is >= 0 and <= 100 && r.TestError is >= 0 and <= 100), Is.True);
        Assert.That(records.All(r => r.Loss == "cross-entropy" && r.ReadoutEpochs == 0 && double.IsNaN(r.ReadoutTestError)), Is.True,
            "supervised runs have no separate readout");

        string table = File.ReadAllText(Path.Combine(output, "results.md"));
        int previous = -1;
        foreach (string method in PaperOrder)
        {
            int at = table.IndexOf($"| {method} | ", StringComparison.Ordinal);
            Assert.That(at, Is.GreaterThan(previous), $"{method} row, in paper order");
            previous = at;
        }

        Assert.That(File.Exists(Path.Combine(output, "test_error.png")), Is.True);

        // Again: everything is skipped.
        (code, text, error) = CliRunner.Run(args);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("skipped 14"));
        Assert.That(File.ReadAllLines(csv), Has.Length.EqualTo(15));

        // Interrupted grid: the two runs missing from runs.csv are run, no others.
        File.WriteAllLines(csv, lines[..^2]);
        (code, text, error) = CliRunner.Run(args);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("skipped 12"));
        Assert.That(text.Split('\n').Count(l => l.StartsWith('[')), Is.EqualTo(2));
        Assert.That(RunRecord.ReadAll(csv).Select(r => r.Key), Is.EquivalentTo(records.Select(r => r.Key)));
    }

    [Test]
    public void DivergingRunIsReportedAsDiverged()
    {
        string dataDir = Path.Combine(_folder, "data");
        TrainingFixtures.WriteIdx(Path.Combine(dataDir, "mnist-sample"), TrainingFixtures.Splits());
        string output = Path.Combine(_folder, "grid");
        var (code, text, error) = CliRunner.Run("repro", "--data-dir", dataDir, "--methods", "BP", "--models", "S/1/1", "--lrs", "10000",
            "--epochs", "3", "--warmup-epochs", "0", "--batch-size", "16", "--val-fraction", "0.25", "--out", output);
        Assert.That(code, Is.EqualTo(0), error + text);
        var record = RunRecord.ReadAll(Path.Combine(output, "runs.csv")).Single();
        Assert.That(record.Diverged, Is.True);
        Assert.That(record.Note, Does.Contain("diverged"));
        Assert.That(File.ReadAllText(Path.Combine(output, "results.md")), Does.Contain("| BP | diverged |"));
    }

    [Test]
    public void VarianceStudyGivesCosinesInRangeWithBackpropExact()
    {
        var settings = new ReproSettings
        {
            Models = ["S/1/1"],
            Datasets = ["synthetic"],
            ValidationFraction = 0.25,
            Training = ReproSettings.DefaultTraining with { BatchSize = 16, MaxSteps = 2, Seed = 3 },
        };
        var study = new VarianceSettings { Batches = 2, Tangents = [1, 4], TrainedSteps = 2, TangentRunEpochs = 1 };
        string output = Path.Combine(_folder, "variance");
        var rows = new VarianceStudy(settings, study, _ => SweepData.Split(TrainingFixtures.Splits(), 0.25, 3)).Run(output, TextWriter.Null);

        Assert.That(rows.Select(r => r.Method).Distinct(), Is.EquivalentTo(PaperOrder));
        Assert.That(rows.Select(r => r.Phase).Distinct().Count(), Is.EqualTo(2));
        Assert.That(rows.All(r => r.MeanCosine is >= -1 and <= 1), Is.True);
        foreach (VarianceRow row in rows.Where(r => r.Method is "BP" or "L-BP" or "LG-BP"))
        {
            Assert.That(row.MeanCosine, Is.EqualTo(1).Within(1e-6), $"{row.Method} {row.Group}");
        }

        Assert.That(rows.Where(r => r.Method == "FG-W" && r.Group == "all").Select(r => r.Tangents), Is.EquivalentTo(new int?[] { 1, 4, 1, 4 }));
        Assert.That(rows.Where(r => r.Method == "LG-FG-A" && r.Group == "all").All(r => r.MeanCosine < 0.999), Is.True, "an estimate is not exact");
        // At initialisation the final classifier is zero: no gradient of the final loss reaches block 0.
        Assert.That(rows.Single(r => r.Phase == "init" && r.Method == "FG-A" && r.Tangents == 1 && r.Group == "block0").ExactIsZero, Is.True);
        Assert.That(rows.Where(r => r.Phase != "init" && r.Group == "block0").All(r => !r.ExactIsZero), Is.True);
        foreach (string file in new[] { "variance.md", "variance.csv", "variance-tangents.csv" })
        {
            Assert.That(File.Exists(Path.Combine(output, file)), Is.True, file);
        }

        Assert.That(File.ReadAllLines(Path.Combine(output, "variance-tangents.csv")), Has.Length.EqualTo(1 + 2));
    }

    [Test]
    public void PerTensorCosinesMatchTheNativeOnes()
    {
        var data = TrainingFixtures.Splits();
        using Context context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 5 });
        var loader = new ForwardGrad.Data.BatchLoader(data.Train, new ForwardGrad.Data.BatchLoaderOptions { BatchSize = 16, Shuffle = false, Normalization = data.Normalization });
        var batch = loader.Epoch(0).First();
        float[] images = batch.Images.ToArray();
        int[] labels = batch.Labels.ToArray();
        foreach (TrainingMethod method in new[] { TrainingMethod.FGA, TrainingMethod.LGFGA, TrainingMethod.LGFGW })
        {
            BatchCosines ours = GradientCosines.Measure(model, images, labels, method, 2, 7, 9);
            float[] native = model.GradientCosine(images, labels, method, 2, 7, 9);
            Assert.That(ours.PerTensor, Is.EqualTo(native).Within(1e-4), method.PaperName());
            Assert.That(ours.PerGroup.Keys, Is.EquivalentTo(GradientCosines.Groups(model)));
        }
    }
}
