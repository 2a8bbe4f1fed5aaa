namespace ForwardGrad.Tests;

[TestFixture]
public sealed class CudaBackendTests : BackendTestSuite
{
    protected override Backend Backend => Backend.Cuda;
}
