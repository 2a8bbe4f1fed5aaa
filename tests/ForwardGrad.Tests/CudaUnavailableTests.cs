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
            // The create error and the probe reason are worded separately; both must name the cause.
            Assert.That(error.Message, Does.Contain("CUDA").IgnoreCase);
            Assert.That(error.Message, Does.Match("(?i)plug-in|driver|device"));
            Assert.That(reason, Does.Match("(?i)plug-in|driver|device"));
        });

        using var cpu = Context.Cpu();
        using var tensor = Tensor.FromArray(cpu, [1f, 2f, 3f]);
        Assert.That(tensor.ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
    }
}
