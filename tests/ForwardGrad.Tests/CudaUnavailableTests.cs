using ForwardGrad.Interop;

namespace ForwardGrad.Tests;

[TestFixture]
public sealed class CudaUnavailableTests
{
    [Test]
    public void CreatingCudaContextWithoutDevice_ThrowsWithReason_AndCpuStillWorks()
    {
        var (available, reason) = Backends.Probe(Backend.Cuda);
        if (available)
        {
            Assert.Ignore("A CUDA device is available here; this test needs a machine without one.");
        }

        Assert.That(reason, Is.Not.Empty);
        var error = Assert.Throws<ForwardGradException>(() => Context.Cuda());
        Assert.Multiple(() =>
        {
            Assert.That(error!.Status, Is.AnyOf(ForwardGradStatus.Unsupported, ForwardGradStatus.NoDevice));
            Assert.That(error.Message, Does.Contain("fg_context_create"));
            string firstLineOfReason = reason.Split('\n')[0].Trim();
            Assert.That(error.Message, Does.Contain(firstLineOfReason));
        });

        using var cpu = Context.Cpu();
        using var tensor = Tensor.FromArray(cpu, [1f, 2f, 3f]);
        Assert.That(tensor.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
    }
}
