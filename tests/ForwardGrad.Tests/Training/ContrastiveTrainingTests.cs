using System.Text.Json.Nodes;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Tests.Data;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

/// <summary><c>fgrad train --loss contrastive</c>: what it runs, what it records, and what it refuses before writing anything.</summary>
[TestFixture]
public sealed class ContrastiveTrainingTests : SampleDataFixture
{
    [TestCase("LG-FG-A")]
    [TestCase("BP")]
    public void ContrastiveRun_RecordsTheLoss_AndPrintsTheReadoutsTestError(string method)
    {
        string run = Path.Combine(Folder, "run");
        var (code, output, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--loss", "Contrastive", "--method", method, "--epochs", "1", "--out", run));

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("contrastive local losses, two views per image"));
        Assert.That(output, Does.Match(@"final test error of the linear readout on detached features: \d+\.\d\d% \(6 steps\)"));
        JsonNode config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunConfig.FileName)))!;
        Assert.That((string?)config["loss"], Is.EqualTo("contrastive"));
        Checkpoint checkpoint = Checkpoint.Load(Path.Combine(run, "checkpoint.safetensors"));
        Assert.That(checkpoint.Config.Loss, Is.EqualTo(LocalLoss.Contrastive));
        Assert.That(checkpoint.Metadata["config"], Does.Contain("\"Contrastive\""));

        // The checkpoint rebuilds the model with its projection heads: eval reads it back.
        var (evalCode, evalOutput, evalError) = CliRunner.Run("eval", "--checkpoint", run, "--data-dir", DataDir);
        Assert.That(evalCode, Is.Zero, evalError);
        Assert.That(evalOutput, Does.Contain("test error"));
    }

    [Test]
    public void ContrastiveRun_IsReproducible()
    {
        string first = Path.Combine(Folder, "first"), second = Path.Combine(Folder, "second");
        foreach (string run in new[] { first, second })
        {
            var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--loss", "contrastive", "--epochs", "1", "--max-steps", "3", "--out", run));
            Assert.That(code, Is.Zero, error);
        }

        using var context = Context.Cpu();
        Checkpoint a = Checkpoint.Load(Path.Combine(first, "checkpoint.safetensors"));
        Checkpoint b = Checkpoint.Load(Path.Combine(second, "checkpoint.safetensors"));
        using var modelA = new LocalMixer(context, a.Config);
        using var modelB = new LocalMixer(context, b.Config);
        a.ApplyTo(modelA, null);
        b.ApplyTo(modelB, null);
        for (int i = 0; i < modelA.Parameters.Count; i++)
        {
            Assert.That(modelB.Parameters[i].ToArray(), Is.EqualTo(modelA.Parameters[i].ToArray()), modelA.Parameters[i].Name);
        }
    }

    [TestCase("FG-W")]
    [TestCase("FG-A")]
    [TestCase("LG-FG-W")]
    public void ContrastiveWithAMethodThatCannotTrainIt_IsRefusedBeforeAnythingIsWritten(string method)
    {
        string run = Path.Combine(Folder, "run");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--loss", "contrastive", "--method", method, "--out", run));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Is.EqualTo(
            $"fgrad: error: --loss contrastive trains with LG-FG-A or the backprop family (BP, L-BP, LG-BP); --method {method} does not support it."));
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void ContrastiveDataParallel_IsRefusedBeforeAnythingIsWritten()
    {
        string run = Path.Combine(Folder, "run");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--loss", "contrastive", "--parallel", "data", "--out", run));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Does.StartWith("fgrad: error: --loss contrastive does not train data-parallel: --parallel data would split"));
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void AnUnknownLoss_IsRefusedNamingTheChoices()
    {
        string run = Path.Combine(Folder, "run");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--loss", "triplet", "--out", run));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Is.EqualTo("fgrad: error: Unknown loss 'triplet' (--loss); known: cross-entropy, contrastive."));
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void ContrastiveOnImagesWithoutAViewRecipe_IsRefusedBeforeTheRunFolderIsTouched()
    {
        var splits = new DatasetSplits(DatasetCatalog.Get("mnist-sample"), "synthetic",
            TestDatasets.Random(count: 20, height: 16, width: 16, channels: 1, seed: 1), TestDatasets.Random(count: 10, height: 16, width: 16, channels: 1, seed: 2));
        var options = new TrainerOptions { Model = "S/1/1", Loss = "contrastive", Method = "LG-FG-A", Epochs = 1, BatchSize = 4 };
        string run = Path.Combine(Folder, "run");

        var error = Assert.Throws<ArgumentException>(() => new Trainer(options, splits).Run(run));
        Assert.That(error!.Message, Does.Contain("--loss contrastive on mnist-sample").And.Contain("16x16x1").And.Contain("28x28x1"));
        Assert.That(Directory.Exists(run), Is.False);
    }
}

/// <summary><c>fgrad readout</c> and <see cref="LinearReadout"/>: a fresh linear classifier on frozen features.</summary>
[TestFixture]
public sealed class LinearReadoutTests : SampleDataFixture
{
    [Test]
    public void Readout_TrainsOnlyTheFinalClassifier_AndLearnsTheClasses()
    {
        using var context = Context.Cpu();
        DatasetSplits splits = TrainingFixtures.Splits();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1.ForData(28, 28, 1, 10) with { Loss = LocalLoss.Contrastive, Seed = 3 });
        float[][] before = [.. model.Parameters.Select(p => p.ToArray())];

        double error = LinearReadout.Train(model, splits, splits.Normalization, epochs: 8, learningRate: 0.1, batchSize: 16, seed: 1);

        Assert.Multiple(() =>
        {
            foreach (ModelParameter p in model.Parameters)
            {
                if (p.Block >= 0)
                {
                    Assert.That(p.ToArray(), Is.EqualTo(before[p.Index]), $"{p.Name} is part of the frozen backbone");
                }
                else
                {
                    Assert.That(p.ToArray(), Is.Not.EqualTo(before[p.Index]), $"{p.Name} is the readout");
                }
            }

            // Ten classes: chance is 90 % error; the synthetic classes are linearly separable in the features.
            Assert.That(error, Is.LessThan(30));
            Assert.That(error, Is.EqualTo(Trainer.Evaluate(model, splits.Test, splits.Normalization)));
        });
    }

    [Test]
    public void ReadoutCommand_PrintsTheTestError_AndLeavesTheCheckpointAlone()
    {
        string run = Path.Combine(Folder, "run");
        var (trainCode, _, trainError) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--loss", "contrastive", "--epochs", "1", "--out", run));
        Assert.That(trainCode, Is.Zero, trainError);
        var before = TrainingFixtures.Snapshot(run);

        var (code, output, error) = CliRunner.Run("readout", "--checkpoint", run, "--data-dir", DataDir, "--epochs", "2", "--batch-size", "16");

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("readout epoch 2/2"));
        Assert.That(output, Does.Match(@"LG-FG-A S/1/1 step 6 \(contrastive local losses\) on mnist-sample: linear readout test error \d+\.\d\d% after 2 epochs"));
        Assert.That(TrainingFixtures.Snapshot(run), Is.EqualTo(before));
    }

    [TestCase("--batch-size", "15", "--batch-size must be an even number from 2 to the training set's 96 images; got 15.")]
    [TestCase("--epochs", "0", "--epochs must be a positive integer; got 0.")]
    [TestCase("--lr", "-1", "--lr must be a finite number > 0; got -1.")]
    public void BadReadoutOption_IsOneLineNamingIt(string flag, string value, string message)
    {
        string run = Path.Combine(Folder, "run");
        var (trainCode, _, trainError) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--max-steps", "1", "--out", run));
        Assert.That(trainCode, Is.Zero, trainError);

        var (code, _, error) = CliRunner.Run("readout", "--checkpoint", run, "--data-dir", DataDir, flag, value);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Is.EqualTo("fgrad: error: " + message));
    }
}
