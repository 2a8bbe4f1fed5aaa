namespace ForwardGrad.Tests;

/// <summary>Int32 tensors (class labels): their data round-trips, and float-only access is refused with the fix.</summary>
[TestFixture]
public sealed class TensorElementTypeTests
{
    [Test]
    public void Int32Tensor_RoundTripsItsValues()
    {
        using var context = Context.Cpu();
        int[] labels = [3, -1, int.MaxValue, 0, 7];
        using var tensor = Tensor.FromInt32Array(context, labels);
        Assert.That(tensor.ElementType, Is.EqualTo(ElementType.Int32));
        Assert.That(tensor.ToString(), Does.Contain("int32"));
        var back = new int[5];
        tensor.DownloadInt32(back);
        Assert.That(back, Is.EqualTo(labels));

        tensor.UploadInt32([1, 2, 3, 4, 5]);
        tensor.DownloadInt32(back);
        Assert.That(back, Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void FloatAccessToAnInt32Tensor_IsRefused()
    {
        using var context = Context.Cpu();
        using var labels = Tensor.FromInt32Array(context, [1, 2]);
        using var floats = Tensor.Zeros(context, 2);
        Assert.Multiple(() =>
        {
            Assert.That(() => labels.ToArray(), Throws.ArgumentException.With.Message.Contains("Float32"));
            Assert.That(() => labels.Fill(1f), Throws.ArgumentException);
            Assert.That(() => floats.UploadInt32([1, 2]), Throws.ArgumentException.With.Message.Contains(nameof(Tensor.FromInt32Array)));
            Assert.That(() => labels.CopyFrom(floats), Throws.ArgumentException.With.Property("ParamName").EqualTo("source"));
        });
    }
}
