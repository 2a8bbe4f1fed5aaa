using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Tests.Training;

/// <summary>
/// A training step (the gradients through the span overload of <see cref="LocalMixer.ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, Span{float}, float, float)"/>
/// plus <see cref="Optimizer.Step"/>) allocates no managed memory once warm: counted in bytes by
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>, never timed.
/// </summary>
[TestFixture]
public sealed class StepAllocationTests
{
    private const int WarmUpSteps = 3;
    private const int CountedSteps = 50;

    [TestCase(TrainingMethod.LGFGA, OptimizerKind.Sgd)]
    [TestCase(TrainingMethod.LGFGA, OptimizerKind.AdamW)]
    [TestCase(TrainingMethod.BP, OptimizerKind.Sgd)]
    public void TrainingStep_AfterWarmUp_AllocatesNoManagedMemory(TrainingMethod method, OptimizerKind kind)
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 5 });
        using var optimizer = new Optimizer(model, new OptimizerSettings(kind, Momentum: 0.9f, WeightDecay: 1e-4f));
        var data = TrainingFixtures.Synthetic("x", 16, 3);
        float[] images = [.. data.Pixels.ToArray().Select(b => b / 255f)];
        int[] labels = data.Labels.ToArray();
        float[] blockLosses = new float[model.Config.Blocks];
        float[] before = model.Parameters[0].ToArray();
        uint step = 0;

        for (int i = 0; i < WarmUpSteps; i++)
        {
            model.ComputeGradients(images, labels, method, 2, 11, step++, blockLosses);
            optimizer.Step(0.01f);
        }

        float lastLoss = float.NaN;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < CountedSteps; i++)
        {
            lastLoss = model.ComputeGradients(images, labels, method, 2, 11, step++, blockLosses).Loss;
            optimizer.Step(0.01f);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.That(allocated, Is.Zero, $"managed bytes allocated by {CountedSteps} training steps ({allocated / (double)CountedSteps:F1} per step)");
        Assert.That(optimizer.StepCount, Is.EqualTo(WarmUpSteps + CountedSteps));
        Assert.That(float.IsFinite(lastLoss), Is.True);
        Assert.That(model.Parameters[0].ToArray(), Is.Not.EqualTo(before), "the steps must have updated the parameters");
    }
}
