using ForwardGrad.Model;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class ModelTests
{
    [TestCase("S/1/1", 28, 1, 271_892L)]
    [TestCase("M/1/16", 28, 1, 429_076L)]
    [TestCase("M/8/16", 32, 3, 918_770L)]
    [TestCase("L/8/64", 32, 3, 13_074_674L)]
    public void PresetParameterCounts(string preset, int size, int channels, long expected)
    {
        using var context = Context.Cpu();
        var config = LocalMixerConfig.Preset(preset).ForData(size, size, channels, 10);
        using var model = new LocalMixer(context, config);
        Assert.That(model.ParameterCount, Is.EqualTo(expected));
        Assert.That(model.Parameters.Sum(p => p.Elements), Is.EqualTo(expected));
        Assert.That(model.Parameters.All(p => p.Shape.Aggregate(1L, (a, d) => a * d) == p.Elements), Is.True);
    }

    [TestCase("lg-fg-a", TrainingMethod.LGFGA)]
    [TestCase("LG-FG-W", TrainingMethod.LGFGW)]
    [TestCase("bp", TrainingMethod.BP)]
    [TestCase("l_bp", TrainingMethod.LBP)]
    [TestCase("LGBP", TrainingMethod.LGBP)]
    [TestCase("fg-a", TrainingMethod.FGA)]
    [TestCase("fa", TrainingMethod.FA)]
    [TestCase("L-FA", TrainingMethod.LFA)]
    [TestCase("lg_fa", TrainingMethod.LGFA)]
    [TestCase("DFA", TrainingMethod.DFA)]
    public void ParsesMethodNames(string text, TrainingMethod expected)
    {
        Assert.That(TrainingMethods.Parse(text), Is.EqualTo(expected));
        Assert.That(TrainingMethods.Parse(expected.PaperName()), Is.EqualTo(expected));
    }

    [Test]
    public void UnknownMethodNamesTheKnownOnes() =>
        Assert.That(() => TrainingMethods.Parse("xfa"), Throws.ArgumentException.With.Message.Contains("LG-FG-A").And.Message.Contains("DFA"));

    [Test]
    public void FeedbackMatricesExistOnlyForTheFeedbackAlignmentMethods()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1);
        foreach (TrainingMethod method in TrainingMethods.All)
        {
            Assert.That(model.Feedback(method).Count > 0, Is.EqualTo(method.UsesFeedback()), method.PaperName());
        }

        // S/1/1: channel, group, head and final weights; DFA one (C, classes) matrix per layer
        Assert.That(model.Feedback(TrainingMethod.LGFA).Select(f => f.Name), Is.EqualTo(new[]
            { "feedback.block0.channel.weight", "feedback.block0.group.weight", "feedback.block0.head.weight", "feedback.final.weight" }));
        Assert.That(model.Feedback(TrainingMethod.DFA).Select(f => $"{f.Name} [{string.Join(", ", f.Shape)}]"), Is.EqualTo(new[]
            { "direct_feedback.block0.channel [256, 10]", "direct_feedback.block0.group [256, 10]" }));
        Assert.That(TrainingMethods.ForwardGradientComparison.Any(m => m.UsesFeedback()), Is.False);
    }

    [Test]
    public void GradientsAndForwardRun()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1);
        var data = TrainingFixtures.Synthetic("x", 8, 3);
        float[] images = [.. data.Pixels.ToArray().Select(b => b / 255f)];
        StepStats stats = model.ComputeGradients(images, data.Labels, TrainingMethod.LGFGA, 2, 7, 0);
        Assert.That(float.IsFinite(stats.Loss), Is.True);
        Assert.That(stats.Loss, Is.EqualTo(MathF.Log(10)).Within(1e-3)); // final head starts at 0
        Assert.That(stats.BlockLosses, Has.Count.EqualTo(1));
        Assert.That(model.Forward(images, 8), Has.Length.EqualTo(80));
        Assert.That(model.WorkspaceBytes(TrainingMethod.LGFGA, 2, 8), Is.GreaterThan(0UL));
    }
}
