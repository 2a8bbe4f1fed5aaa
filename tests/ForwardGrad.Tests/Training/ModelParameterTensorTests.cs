using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Tests.Training;

/// <summary>A model's parameters and gradients are tensors borrowed from it: usable with <see cref="Ops"/>, freed by the model alone.</summary>
[TestFixture]
public sealed class ModelParameterTensorTests
{
    [Test]
    public void Parameters_AreBorrowedTensorsOfTheModel()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1);
        foreach (ModelParameter parameter in model.Parameters)
        {
            Assert.That(parameter.Value.IsBorrowed && parameter.Gradient.IsBorrowed, Is.True, parameter.Name);
            Assert.That(parameter.Value.Context, Is.SameAs(context));
            Assert.That(parameter.Value.Shape, Is.EqualTo(parameter.Shape), parameter.Name);
            Assert.That(parameter.Gradient.ElementCount, Is.EqualTo(parameter.Elements), parameter.Name);
        }

        ModelParameter first = model.Parameters[0];
        float[] values = first.ToArray();
        first.Value.Dispose(); // the model owns the buffer: this does nothing
        Assert.That(first.Value.IsDisposed, Is.False);
        Assert.That(first.Value.ToArray(), Is.EqualTo(values));
    }

    [Test]
    public void Ops_RunOnParameterTensors()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 3 });
        ModelParameter weight = model.Parameters.First(p => p.IsWeight && p.Shape.Count == 2);
        long rows = weight.Shape[0], cols = weight.Shape[1];
        using var ones = Tensor.Full(context, 1f, 1, rows);
        using var columnSums = Tensor.Zeros(context, 1, cols);
        Ops.Gemm(ones, weight.Value, columnSums);
        float[] values = weight.ToArray();
        double[] expected = [.. Enumerable.Range(0, (int)cols).Select(c => Enumerable.Range(0, (int)rows).Sum(r => (double)values[(r * cols) + c]))];
        float[] actual = columnSums.ToArray();
        for (int c = 0; c < cols; c++)
        {
            Assert.That(actual[c], Is.EqualTo(expected[c]).Within(1e-4 + (1e-5 * Math.Abs(expected[c]))));
        }
    }

    [Test]
    public void DisposingTheModel_FreesItsParametersAndInvalidatesTheirTensors()
    {
        using var context = Context.Cpu();
        ulong empty = context.LiveBytes;
        var model = new LocalMixer(context, LocalMixerConfig.S1_1);
        var optimizer = new Optimizer(model, new OptimizerSettings(OptimizerKind.AdamW));
        ModelParameter parameter = model.Parameters[^1];
        Assert.That(context.LiveBytes, Is.GreaterThanOrEqualTo(empty + (ulong)(4 * model.ParameterCount * sizeof(float))));

        model.Dispose();
        Assert.That(parameter.Value.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => parameter.ToArray());
        Assert.Throws<ObjectDisposedException>(() => optimizer.Step(0.1f));
        optimizer.Dispose();
        Assert.That(context.LiveBytes, Is.EqualTo(empty));
    }
}
