using ForwardGrad.Model;
using ForwardGrad.Optim;
using ForwardGrad.Parallel;
using ForwardGrad.Tests.Training;

namespace ForwardGrad.Tests.Parallel;

/// <summary>
/// The block pipeline's pieces in one process, no MPI: <see cref="LocalMixer.ComputeStageGradients"/> chained over a split
/// of the blocks equals one whole step bit for bit, <see cref="BlockRange.Split"/> divides the blocks evenly, and an
/// optimizer restricted with <see cref="Optimizer.TrainOnly"/> steps only its parameters, exactly as a full step does.
/// </summary>
[TestFixture]
public sealed class PipelineStageTests
{
    private const int Batch = 6;

    private static LocalMixer Model(Context context) =>
        new(context, ModelSpec.Resolve("C=32,G=4,blocks=4,grid=7").ForData(28, 28, 1, 10) with { Seed = 5, InterLayerNorm = true });

    private static (float[] Images, int[] Labels) Data()
    {
        var data = TrainingFixtures.Synthetic("x", Batch, 3);
        return ([.. data.Pixels.ToArray().Select(b => b / 255f)], data.Labels.ToArray());
    }

    [TestCase(TrainingMethod.LGBP)]
    [TestCase(TrainingMethod.LGFA)]
    [TestCase(TrainingMethod.LGFGA)]
    [TestCase(TrainingMethod.LGFGW)]
    public void ChainedStages_GiveTheWholeStepBitForBit(TrainingMethod method)
    {
        using var context = Context.Cpu();
        using var model = Model(context);
        var (images, labels) = Data();
        StepStats whole = model.ComputeGradients(images, labels, method, 3, 17, 4);
        float[][] want = [.. model.Parameters.Select(p => p.GradientToArray())];
        foreach (int stages in new[] { 2, 3 })
        {
            foreach (ModelParameter parameter in model.Parameters)
            {
                parameter.Gradient.Upload(Enumerable.Repeat(float.NaN, (int)parameter.Elements).ToArray());
            }

            float[] blockLosses = new float[4], stageLosses = new float[4];
            float loss = float.NaN, accuracy = float.NaN;
            float[] input = images;
            for (int stage = 0; stage < stages; stage++)
            {
                BlockRange range = BlockRange.Split(4, stages, stage);
                float[] output = range.EndsModel(4) ? [] : new float[Batch * model.ActivationSize];
                (loss, accuracy) = model.ComputeStageGradients(range, input, labels, method, 3, 17, 4, stageLosses, output);
                for (int block = range.First; block < range.Last; block++)
                {
                    blockLosses[block] = stageLosses[block];
                }

                input = output;
            }

            Assert.That(loss, Is.EqualTo(whole.Loss), $"{stages} stages");
            Assert.That(accuracy, Is.EqualTo(whole.Accuracy));
            Assert.That(blockLosses, Is.EqualTo(whole.BlockLosses.ToArray()));
            for (int i = 0; i < want.Length; i++)
            {
                Assert.That(model.Parameters[i].GradientToArray(), Is.EqualTo(want[i]), $"{model.Parameters[i].Name}, {stages} stages");
            }
        }
    }

    [Test]
    public void StageForward_PassesOnWhatTheGradientStagePassesOn()
    {
        using var context = Context.Cpu();
        using var model = Model(context);
        var (images, labels) = Data();
        var first = new BlockRange(0, 2);
        float[] forward = new float[Batch * model.ActivationSize], passed = new float[forward.Length];
        model.StageForward(first, images, Batch, forward);
        model.ComputeStageGradients(first, images, labels, TrainingMethod.LGBP, 1, 1, 0, new float[4], passed);
        Assert.That(forward, Is.EqualTo(passed));
        Assert.That(forward.Any(v => v != 0), Is.True);
    }

    [TestCase(TrainingMethod.BP, "BP")]
    [TestCase(TrainingMethod.FGA, "FG-A")]
    [TestCase(TrainingMethod.LBP, "L-BP")]
    public void AGlobalMethod_IsRefusedNamingIt(TrainingMethod method, string name)
    {
        using var context = Context.Cpu();
        using var model = Model(context);
        var (images, labels) = Data();
        var error = Assert.Throws<ForwardGradException>(() =>
            model.ComputeStageGradients(new BlockRange(0, 2), images, labels, method, 2, 1, 0, new float[4], new float[Batch * model.ActivationSize]));
        Assert.That(error!.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        Assert.That(error.Message, Does.Contain($"options->method is {name},").And.Contain("data parallelism"));
        var option = Assert.Throws<ArgumentException>(() => ParallelModes.RequireMethodFits(ParallelModes.Pipeline, method));
        Assert.That(option!.Message, Does.Contain($"{name} needs a backward pass").And.Contain("--parallel data"));
    }

    [Test]
    public void ARangeOutsideTheModel_IsRefused()
    {
        using var context = Context.Cpu();
        using var model = Model(context);
        var (images, labels) = Data();
        var error = Assert.Throws<ForwardGradException>(() =>
            model.ComputeStageGradients(new BlockRange(2, 5), new float[Batch * model.ActivationSize], labels, TrainingMethod.LGBP, 1, 1, 0, new float[4], []));
        Assert.That(error!.Message, Does.Contain("block range [2, 5)").And.Contain("0 <= first < last <= 4"));
    }

    [TestCase(4, 1, new[] { 0, 4 })]
    [TestCase(4, 2, new[] { 0, 2, 4 })]
    [TestCase(4, 3, new[] { 0, 2, 3, 4 })]
    [TestCase(5, 3, new[] { 0, 2, 4, 5 })]
    [TestCase(3, 3, new[] { 0, 1, 2, 3 })]
    public void Split_DividesTheBlocksAsEvenlyAsPossible(int blocks, int stages, int[] bounds)
    {
        for (int stage = 0; stage < stages; stage++)
        {
            Assert.That(BlockRange.Split(blocks, stages, stage), Is.EqualTo(new BlockRange(bounds[stage], bounds[stage + 1])));
        }
    }

    [Test]
    public void MoreRanksThanBlocks_IsRefusedNamingBoth()
    {
        var error = Assert.Throws<ArgumentException>(() => ParallelModes.RequireRanksFit(ParallelModes.Pipeline, 5, 4));
        Assert.That(error!.Message, Does.Contain("5 ranks").And.Contain("4 blocks"));
        Assert.DoesNotThrow(() => ParallelModes.RequireRanksFit(ParallelModes.Data, 5, 4));
        Assert.Throws<ArgumentException>(() => BlockRange.Split(4, 5, 0));
    }

    [TestCase(OptimizerKind.Sgd)]
    [TestCase(OptimizerKind.AdamW)]
    public void TrainOnly_StepsItsParametersAsAFullStepDoes_AndLeavesTheOthers(OptimizerKind kind)
    {
        using var context = Context.Cpu();
        using var full = Model(context);
        using var part = Model(context);
        var (images, labels) = Data();
        var settings = new OptimizerSettings(kind, Momentum: 0.9f, WeightDecay: 0.01f);
        using var fullOptimizer = new Optimizer(full, settings);
        using var partOptimizer = new Optimizer(part, settings);
        // The first blocks: their gradients do not depend on the later blocks the restricted optimizer leaves alone.
        IReadOnlyList<ModelParameter> own = PipelineStep.OwnedBy(part, new BlockRange(0, 2));
        partOptimizer.TrainOnly = own;
        float[][] before = [.. part.Parameters.Select(p => p.ToArray())];
        for (uint step = 0; step < 2; step++)
        {
            full.ComputeGradients(images, labels, TrainingMethod.LGBP, 1, 1, step);
            part.ComputeGradients(images, labels, TrainingMethod.LGBP, 1, 1, step);
            fullOptimizer.Step(0.05f);
            partOptimizer.Step(0.05f);
        }

        Assert.That(own.Select(p => p.Name), Does.Contain("block1.head.weight").And.Not.Contain("block2.channel.weight").And.Not.Contain("final.weight"));
        Assert.That(PipelineStep.OwnedBy(part, new BlockRange(2, 4)).Select(p => p.Name), Does.Contain("final.weight").And.Not.Contain("block1.head.weight"));
        for (int i = 0; i < part.Parameters.Count; i++)
        {
            ModelParameter parameter = part.Parameters[i];
            float[] expected = own.Contains(parameter) ? full.Parameters[i].ToArray() : before[i];
            Assert.That(parameter.ToArray(), Is.EqualTo(expected), parameter.Name);
            if (parameter.IsWeight)
            {
                // Weight decay alone moves every weight: a parameter left alone is a real difference.
                Assert.That(full.Parameters[i].ToArray(), Is.Not.EqualTo(before[i]), parameter.Name);
            }
        }

        var stranger = Model(context);
        Assert.Throws<ArgumentException>(() => partOptimizer.TrainOnly = stranger.Parameters);
        stranger.Dispose();
    }
}
