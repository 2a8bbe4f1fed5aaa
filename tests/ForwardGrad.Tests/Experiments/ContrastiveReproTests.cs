using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Experiments;
using ForwardGrad.Model;
using ForwardGrad.Tests.Training;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Experiments;

/// <summary><c>fgrad repro --loss contrastive</c>: the rows and columns it writes, its readout errors, and what it refuses before writing anything.</summary>
[TestFixture]
public sealed class ContrastiveReproTests
{
    private string _folder = "";
    private string _dataDir = "";

    [SetUp]
    public void SetUp()
    {
        _folder = TrainingFixtures.TempFolder();
        _dataDir = Path.Combine(_folder, "data");
        TrainingFixtures.WriteIdx(Path.Combine(_dataDir, "mnist-sample"), TrainingFixtures.Splits());
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    private string[] Grid(string output, params string[] more) =>
        ["repro", "--data-dir", _dataDir, "--models", "S/1/1", "--lrs", "0.05", "--epochs", "1", "--max-steps", "2", "--batch-size", "16",
            "--tangents", "1", "--val-fraction", "0.25", "--out", output, .. more];

    [Test]
    public void ContrastiveGridWritesLgFgaAndBackpropRowsWithTheirLinearReadout()
    {
        string output = Path.Combine(_folder, "grid");
        var (code, text, error) = CliRunner.Run(Grid(output, "--loss", "contrastive", "--readout-epochs", "2", "--readout-lr", "0.05"));
        Assert.That(code, Is.EqualTo(0), error + text);

        string csv = Path.Combine(output, ReproRunner.RunsFile);
        string[] header = File.ReadAllLines(csv)[0].Split(',');
        Assert.That(header, Does.Contain("loss").And.Contain("readout_test_error").And.Contain("readout_val_error"));
        var records = RunRecord.ReadAll(csv);
        Assert.That(records.Select(r => r.Method), Is.EqualTo(new[] { "BP", "LG-BP", "LG-FG-A" }), "the contrastive default methods, in paper order");
        SweepData data = SweepData.Load("mnist-sample", _dataDir, 0.25, 1);
        foreach (RunRecord r in records)
        {
            Assert.That(r.Loss, Is.EqualTo("contrastive"));
            Assert.That(r.Diverged, Is.False, r.Note);
            Assert.That((r.ReadoutEpochs, r.ReadoutLearningRate), Is.EqualTo((2, 0.05)));
            Assert.That(r.ReadoutTestError, Is.InRange(0.0, 100.0), r.Method);
            Assert.That(r.ReadoutValidationError, Is.InRange(0.0, 100.0), r.Method);

            // The readout errors are the ones a fresh readout on the run's checkpoint gives on the same split.
            string run = Path.Combine(output, "runs", string.Create(CultureInfo.InvariantCulture, $"mnist-sample_S-1-1_{r.Method}_lr0.05_k1_contrastive"));
            Checkpoint checkpoint = Checkpoint.Load(Path.Combine(run, "checkpoint.safetensors"));
            using var context = Context.Cpu();
            using var model = new LocalMixer(context, checkpoint.Config);
            checkpoint.ApplyTo(model);
            Assert.That(model.Config.Loss, Is.EqualTo(LocalLoss.Contrastive));
            double validation = LinearReadout.Train(model, data.Training, data.Normalization, 2, 0.05, 16, 1);
            Assert.That(r.ReadoutValidationError, Is.EqualTo(validation).Within(1e-9), r.Method);
            Assert.That(r.ReadoutTestError, Is.EqualTo(Trainer.Evaluate(model, data.Full.Test, data.Normalization)).Within(1e-9), r.Method);
            Assert.That(File.ReadAllText(Path.Combine(run, "readout.log")), Does.Contain("readout epoch 2/2"));
        }

        string table = File.ReadAllText(Path.Combine(output, ReproReport.TableFile));
        Assert.That(table, Does.Contain("linear readout test error"));
        Assert.That(table, Does.Contain(ReproReport.Cell(records.Single(r => r.Method == "LG-FG-A"))));
        Assert.That(File.Exists(Path.Combine(output, "test_error.png")), Is.True);

        // The same grid again is skipped; other readout settings are other runs.
        (code, text, error) = CliRunner.Run(Grid(output, "--loss", "contrastive", "--readout-epochs", "2", "--readout-lr", "0.05"));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("skipped 3"));
    }

    [TestCase("contrastive: a method that does not train it", "--methods has FG-W: drop them", "--loss", "contrastive", "--methods", "BP,FG-W")]
    [TestCase("readout options without the contrastive loss", "--readout-epochs and --readout-lr evaluate contrastive runs", "--readout-epochs", "3")]
    [TestCase("readout epochs out of range", "--readout-epochs must be a positive integer; got 0.", "--loss", "contrastive", "--readout-epochs", "0")]
    [TestCase("readout lr out of range", "--readout-lr must be a finite number > 0", "--loss", "contrastive", "--readout-lr", "-1")]
    [TestCase("the variance study", "does not take --loss contrastive", "--loss", "contrastive", "--variance")]
    [TestCase("an unknown loss", "--loss 'triplet' is not a local loss: use supervised or contrastive.", "--loss", "triplet")]
    public void UnsupportedCombinationIsRefusedBeforeAnythingIsWritten(string what, string message, params string[] flags)
    {
        string output = Path.Combine(_folder, "grid");
        var (code, _, error) = CliRunner.Run(Grid(output, flags));

        Assert.That(code, Is.EqualTo(1), what);
        Assert.That(error.Split('\n')[0], Does.StartWith("fgrad: error: ").And.Contain(message), what);
        Assert.That(Directory.Exists(output), Is.False, what);
    }
}
