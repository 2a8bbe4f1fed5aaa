using ForwardGrad.Checkpoints;
using ForwardGrad.Model;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class ModelSpecTests : SampleDataFixture
{
    [Test]
    public void ACustomSpec_GivesThatArchitecture_InACanonicalName()
    {
        LocalMixerConfig config = ModelSpec.Resolve(" c=256, G=8 ,Blocks=4,grid=7 ");
        Assert.That((config.Channels, config.Groups, config.Blocks, config.Grid), Is.EqualTo((256, 8, 4, 7)));
        Assert.That((config.PreLinearLayerNorm, config.InterLayerNorm), Is.EqualTo((false, false)));
        Assert.That(config.Name, Is.EqualTo("C=256,G=8,blocks=4,grid=7"));
        Assert.That(ModelSpec.Resolve("C=8,G=2,blocks=1,grid=2,interln=1").Name, Is.EqualTo("C=8,G=2,blocks=1,grid=2,interln=1"));
        Assert.That(ModelSpec.Resolve("m-1-16"), Is.EqualTo(LocalMixerConfig.M1_16));
    }

    [TestCase("C=256,G=8,blocks=4", "grid is missing")]
    [TestCase("C=256,G=7,blocks=4,grid=7", "G=7 does not divide C=256")]
    [TestCase("C=256,G=8,blocks=17,grid=7", "blocks must be from 1 to 16")]
    [TestCase("C=256,G=8,blocks=0,grid=7", "blocks must be from 1 to 16")]
    [TestCase("C=256,G=8,blocks=4,grid=7,depth=3", "'depth=3' is not KEY=VALUE")]
    [TestCase("C=256,G=8,blocks=4,grid=x", "grid must be a non-negative integer, got 'x'")]
    [TestCase("C=256,C=128,G=8,blocks=4,grid=7", "C is given twice")]
    [TestCase("C=256,G=8,blocks=4,grid=0", "C, G and grid must be at least 1")]
    [TestCase("C=256,G=8,blocks=4,grid=7,preln=2", "preln must be 0 or 1")]
    public void ABadSpec_IsRefusedWithTheProblemAndTheForm(string spec, string problem)
    {
        var error = Assert.Throws<ArgumentException>(() => ModelSpec.Resolve(spec));
        Assert.That(error!.Message, Does.Contain(problem).And.Contain("C=256,G=8,blocks=4,grid=7"));
    }

    [Test]
    public void AGridThatDoesNotDivideTheImages_IsRefusedForThatData()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelSpec.Resolve("C=16,G=2,blocks=2,grid=8").ForData(28, 28, 1, 10));
        Assert.That(error!.Message, Does.Contain("8x8 patch grid does not divide 28x28"));
        Assert.That(ModelSpec.Resolve("C=16,G=2,blocks=2,grid=8").ForData(32, 32, 3, 10).Grid, Is.EqualTo(8));
    }

    [Test]
    public void AnUnknownName_MentionsThePresetsAndTheCustomForm()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelSpec.Resolve("X/9/9"));
        Assert.That(error!.Message, Does.Contain("S/1/1").And.Contain("C=256,G=8,blocks=4,grid=7"));
    }

    [Test]
    public void FgradInfo_ShowsACustomModelsParameters()
    {
        var (code, output, error) = CliRunner.Run("info", "--model", "C=32,G=4,blocks=3,grid=7");
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("block2.head.weight").And.Contain("32 x 10"));
        Assert.That(output, Does.Not.Contain("block3."));
        (code, _, error) = CliRunner.Run("info", "--model", "C=32,G=4,blocks=3,grid=8");
        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("8x8 patch grid does not divide 28x28"));
    }

    [Test]
    public void ATrainedCustomModel_IsInConfigJsonAndTheCheckpoint_AndEvaluates()
    {
        string run = Path.Combine(Folder, "custom");
        var (code, output, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--model", "C=32,G=4,blocks=3,grid=7", "--max-steps", "2", "--out", run));
        Assert.That(code, Is.Zero, output + error);
        Assert.That(File.ReadAllText(Path.Combine(run, "config.json")), Does.Contain("\"model\": \"C=32,G=4,blocks=3,grid=7\""));
        LocalMixerConfig saved = Checkpoint.Load(Path.Combine(run, "checkpoint.safetensors")).Config;
        Assert.That((saved.Name, saved.Channels, saved.Groups, saved.Blocks, saved.Grid), Is.EqualTo(("C=32,G=4,blocks=3,grid=7", 32, 4, 3, 7)));
        (code, output, error) = CliRunner.Run("eval", "--checkpoint", run, "--data-dir", DataDir);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("C=32,G=4,blocks=3,grid=7"));
    }
}
