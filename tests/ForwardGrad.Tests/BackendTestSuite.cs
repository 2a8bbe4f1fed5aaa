using ForwardGrad.Interop;
using ForwardGrad.Tests.Support;

namespace ForwardGrad.Tests;

/// <summary>
/// Tests every backend must pass. Each backend has one fixture deriving from this class; a fixture whose
/// backend is unavailable here is ignored with the reason reported by fg_backend_probe.
/// </summary>
public abstract class BackendTestSuite : BackendFixture
{
    /// <summary>Relative GEMM tolerance against the float64 reference.</summary>
    protected virtual double GemmTolerance => 1e-5;

    private static IEnumerable<TestCaseData> GemmCases()
    {
        (int M, int N, int K)[] sizes = [(1, 1, 1), (7, 5, 3), (31, 67, 129), (64, 33, 17)];
        foreach (var (m, n, k) in sizes)
        {
            foreach (bool transposeA in new[] { false, true })
            {
                foreach (bool transposeB in new[] { false, true })
                {
                    yield return new TestCaseData(m, n, k, transposeA, transposeB)
                        .SetArgDisplayNames($"{m}x{n}x{k}", transposeA ? "A^T" : "A", transposeB ? "B^T" : "B");
                }
            }
        }
    }

    [TestCaseSource(nameof(GemmCases))]
    public void Gemm_BetaZero_IgnoresNaNPoisonedOutput(int m, int n, int k, bool transposeA, bool transposeB)
    {
        RunGemm(m, n, k, transposeA, transposeB, alpha: 1.25f, beta: 0f, seed: m * 1000 + n * 10 + k);
    }

    [TestCaseSource(nameof(GemmCases))]
    public void Gemm_BetaHalf_AccumulatesIntoOutput(int m, int n, int k, bool transposeA, bool transposeB)
    {
        RunGemm(m, n, k, transposeA, transposeB, alpha: -0.75f, beta: 0.5f, seed: m * 7 + n * 11 + k * 13);
    }

    [Test]
    public void Info_ReportsBackendAndGemm()
    {
        ContextInfo info = Context.Info;
        Assert.Multiple(() =>
        {
            Assert.That(info.Backend, Is.EqualTo(Backend));
            Assert.That(info.GemmName, Is.Not.Empty);
            Assert.That(info.DeviceName, Is.Not.Empty);
            Assert.That(info.TotalMemory, Is.GreaterThan(0UL));
        });
    }

    [Test]
    public void Tensor_RoundTripsDataAndShape()
    {
        float[] data = RandomData.Uniform(6, seed: 1);
        using var tensor = Tensor.FromArray(Context, data, 2, 3);
        Assert.Multiple(() =>
        {
            Assert.That(tensor.Shape, Is.EqualTo(new long[] { 2, 3 }));
            Assert.That(tensor.ElementCount, Is.EqualTo(6));
            Assert.That(tensor.ToArray(), Is.EqualTo(data));
        });

        tensor.Fill(2.5f);
        Assert.That(tensor.ToArray(), Is.All.EqualTo(2.5f));

        using var copy = Tensor.Zeros(Context, 3, 2);
        tensor.Upload(data);
        copy.CopyFrom(tensor);
        var downloaded = new float[6];
        copy.Download(downloaded);
        Assert.That(downloaded, Is.EqualTo(data));
    }

    [Test]
    public void Dispose_AllTensors_ReturnsLiveBytesToZero()
    {
        using var context = Context.Create(Backend);
        Assert.That(context.LiveBytes, Is.Zero);
        var a = Tensor.FromArray(context, RandomData.Uniform(12, seed: 2), 3, 4);
        var b = Tensor.FromArray(context, RandomData.Uniform(20, seed: 3), 4, 5);
        var c = Tensor.Zeros(context, 3, 5);
        Ops.Gemm(a, b, c);
        context.Synchronize();
        Assert.That(context.LiveBytes, Is.GreaterThanOrEqualTo((ulong)(a.ByteCount + b.ByteCount + c.ByteCount)));
        a.Dispose();
        b.Dispose();
        c.Dispose();
        Assert.That(context.LiveBytes, Is.Zero);
    }

    [Test]
    public void Tensor_KeepsContextAliveAfterContextDispose()
    {
        var context = Context.Create(Backend);
        float[] data = RandomData.Uniform(10, seed: 4);
        using var tensor = Tensor.FromArray(context, data);
        context.Dispose();
        Assert.That(context.IsDisposed, Is.True);
        Assert.That(tensor.ToArray(), Is.EqualTo(data));
        tensor.Fill(-1f);
        Assert.That(tensor.ToArray(), Is.All.EqualTo(-1f));
        Assert.Throws<ObjectDisposedException>(() => _ = context.LiveBytes);
    }

    [Test]
    public void UseAfterDispose_ThrowsObjectDisposedException()
    {
        var tensor = Tensor.Zeros(Context, 4);
        using var other = Tensor.Zeros(Context, 2, 2);
        tensor.Dispose();
        Assert.Multiple(() =>
        {
            Assert.That(tensor.IsDisposed, Is.True);
            Assert.Throws<ObjectDisposedException>(() => tensor.ToArray());
            Assert.Throws<ObjectDisposedException>(() => tensor.Fill(1f));
            Assert.Throws<ObjectDisposedException>(() => tensor.Upload(new float[4]));
            Assert.Throws<ObjectDisposedException>(() => other.CopyFrom(tensor));
        });

        var disposedA = Tensor.Zeros(Context, 2, 2);
        disposedA.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Ops.Gemm(disposedA, other, other));

        var context = Context.Create(Backend);
        context.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Tensor.Zeros(context, 2));
        Assert.Throws<ObjectDisposedException>(() => context.Synchronize());
        Assert.Throws<ObjectDisposedException>(() => _ = context.Info);
    }

    [Test]
    public void DoubleDispose_IsHarmless()
    {
        var context = Context.Create(Backend);
        var tensor = Tensor.Zeros(context, 3);
        tensor.Dispose();
        tensor.Dispose();
        context.Dispose();
        context.Dispose();
        Assert.That(tensor.IsDisposed && context.IsDisposed, Is.True);
    }

    [Test]
    public void BadShapes_ThrowArgumentExceptionNamingTheArgument()
    {
        using var a = Tensor.Zeros(Context, 2, 3);
        using var b = Tensor.Zeros(Context, 4, 5);
        using var c = Tensor.Zeros(Context, 2, 5);
        using var vector = Tensor.Zeros(Context, 6);
        Assert.Multiple(() =>
        {
            Assert.That(Assert.Throws<ArgumentException>(() => Tensor.Zeros(Context, -1, 3))!.ParamName, Is.EqualTo("shape"));
            Assert.That(Assert.Throws<ArgumentException>(() => Tensor.Zeros(Context, 0))!.ParamName, Is.EqualTo("shape"));
            Assert.That(Assert.Throws<ArgumentException>(() => Tensor.FromArray(Context, new float[5], 2, 3))!.ParamName, Is.EqualTo("data"));
            Assert.That(Assert.Throws<ArgumentException>(() => a.Upload(new float[5]))!.ParamName, Is.EqualTo("source"));
            Assert.That(Assert.Throws<ArgumentException>(() => a.Download(new float[7]))!.ParamName, Is.EqualTo("destination"));
            Assert.That(Assert.Throws<ArgumentException>(() => a.CopyFrom(b))!.ParamName, Is.EqualTo("source"));
            Assert.That(Assert.Throws<ArgumentException>(() => Ops.Gemm(a, b, c))!.ParamName, Is.EqualTo("b"));
            Assert.That(Assert.Throws<ArgumentException>(() => Ops.Gemm(a, a, c, transposeB: true))!.ParamName, Is.EqualTo("c"));
            Assert.That(Assert.Throws<ArgumentException>(() => Ops.Gemm(vector, b, c))!.ParamName, Is.EqualTo("a"));
        });
    }

    [Test]
    public void TensorsOfAnotherContext_AreRejected()
    {
        using var otherContext = Context.Create(Backend);
        using var a = Tensor.Zeros(Context, 2, 2);
        using var b = Tensor.Zeros(otherContext, 2, 2);
        using var c = Tensor.Zeros(Context, 2, 2);
        Assert.That(Assert.Throws<ArgumentException>(() => Ops.Gemm(a, b, c))!.ParamName, Is.EqualTo("b"));
        Assert.That(Assert.Throws<ArgumentException>(() => c.CopyFrom(b))!.ParamName, Is.EqualTo("source"));

        using var context = Context.Lease();
        using var aBuffer = a.Lease();
        using var bBuffer = b.Lease();
        using var cBuffer = c.Lease();
        var error = NativeAssert.Fails(NativeMethods.fg_gemm(
            context.Value, 0, 0, 2, 2, 2, 1f, aBuffer.Value, bBuffer.Value, 0f, cBuffer.Value));
        Assert.That(error.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        Assert.That(error.Message, Does.Contain("another context"));
    }

    [Test]
    public void NativeGemm_BufferTooSmall_ReportsInvalidArgument()
    {
        using var a = Tensor.Zeros(Context, 2, 3);
        using var b = Tensor.Zeros(Context, 3, 4);
        using var c = Tensor.Zeros(Context, 2, 3);
        using var context = Context.Lease();
        using var aBuffer = a.Lease();
        using var bBuffer = b.Lease();
        using var cBuffer = c.Lease();
        var error = NativeAssert.Fails(NativeMethods.fg_gemm(
            context.Value, 0, 0, 2, 4, 3, 1f, aBuffer.Value, bBuffer.Value, 0f, cBuffer.Value));
        Assert.That(error.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        Assert.That(error.Message, Does.Contain("fg_gemm").And.Contain("c is too small"));

        var negative = NativeAssert.Fails(NativeMethods.fg_gemm(
            context.Value, 0, 0, -2, 4, 3, 1f, aBuffer.Value, bBuffer.Value, 0f, cBuffer.Value));
        Assert.That(negative.Message, Does.Contain("m must be >= 1"));

        var badTranspose = NativeAssert.Fails(NativeMethods.fg_gemm(
            context.Value, 2, 0, 2, 4, 3, 1f, aBuffer.Value, bBuffer.Value, 0f, cBuffer.Value));
        Assert.That(badTranspose.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
    }

    [Test]
    public unsafe void NativeBufferRanges_OutsideTheBuffer_ReportInvalidArgument()
    {
        using var tensor = Tensor.Zeros(Context, 4);
        using var buffer = tensor.Lease();
        float* host = stackalloc float[8];
        var upload = NativeAssert.Fails(NativeMethods.fg_buffer_upload(buffer.Value, 0, host, 32));
        Assert.That(upload.Message, Does.Contain("outside the buffer of 16 bytes"));
        var download = NativeAssert.Fails(NativeMethods.fg_buffer_download(buffer.Value, 12, host, 8));
        Assert.That(download.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        var fill = NativeAssert.Fails(NativeMethods.fg_buffer_fill_f32(buffer.Value, 3, 2, 1f));
        Assert.That(fill.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        var overlap = NativeAssert.Fails(NativeMethods.fg_buffer_copy(buffer.Value, 0, buffer.Value, 4, 8));
        Assert.That(overlap.Message, Does.Contain("overlap"));
        NativeStatus.Check(NativeMethods.fg_buffer_size(buffer.Value, out ulong bytes));
        Assert.That(bytes, Is.EqualTo(16UL));
    }

    private void RunGemm(int m, int n, int k, bool transposeA, bool transposeB, float alpha, float beta, int seed)
    {
        float[] a = RandomData.Uniform(m * k, seed);
        float[] b = RandomData.Uniform(k * n, seed + 1);
        float[] c = beta == 0 ? Enumerable.Repeat(float.NaN, m * n).ToArray() : RandomData.Uniform(m * n, seed + 2);
        var (expected, magnitude) = GemmReference.Compute(a, b, c, m, n, k, transposeA, transposeB, alpha, beta);

        using var aTensor = Tensor.FromArray(Context, a, transposeA ? [k, m] : [m, k]);
        using var bTensor = Tensor.FromArray(Context, b, transposeB ? [n, k] : [k, n]);
        using var cTensor = Tensor.FromArray(Context, c, m, n);
        Ops.Gemm(aTensor, bTensor, cTensor, transposeA, transposeB, alpha, beta);
        float[] actual = cTensor.ToArray();

        for (int i = 0; i < actual.Length; i++)
        {
            double tolerance = GemmTolerance * magnitude[i] + 1e-6;
            if (!(Math.Abs(actual[i] - expected[i]) <= tolerance))
            {
                Assert.Fail($"C[{i / n}, {i % n}] = {actual[i]}, expected {expected[i]} (tolerance {tolerance:G3})");
            }
        }
    }
}
