namespace ForwardGrad.Tests;

[TestFixture]
public sealed class CpuBackendTests : BackendTestSuite
{
    protected override Backend Backend => Backend.Cpu;
}
