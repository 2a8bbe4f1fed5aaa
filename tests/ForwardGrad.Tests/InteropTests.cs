using ForwardGrad.Interop;

namespace ForwardGrad.Tests;

[TestFixture]
public sealed class InteropTests
{
    [Test]
    public void LoadedLibrary_HasTheBindingsAbiVersion()
    {
        Assert.That(NativeMethods.fg_abi_version(), Is.EqualTo(NativeConstants.AbiVersion));
        Assert.That(Backends.LibraryVersion, Does.Match(@"^\d+\.\d+\.\d+"));
        Assert.That(NativeLibraryResolver.LoadedPath, Is.Not.Null);
    }

    [Test]
    public void GemmProvider_IsLoadedAndIsWhatTheCpuContextReports()
    {
        GemmProviderInfo gemm = Backends.GemmProvider;
        Assert.That(gemm.Loaded, Is.True, gemm.Error);
        Assert.That(gemm.Id, Is.AnyOf("openblas", "onednn", "internal"));
        Assert.That(gemm.Threads, Is.GreaterThanOrEqualTo(1));
        using var cpu = Context.Cpu();
        Assert.That(cpu.Info.GemmName, Is.EqualTo(gemm.Description));
    }

    [Test]
    public void StatusNames_MatchTheEnum()
    {
        // The communication statuses (100 and up) are named by the MPI plug-in: CommunicatorTests.
        foreach (ForwardGradStatus status in Enum.GetValues<ForwardGradStatus>().Where(s => (int)s < 100))
        {
            string expected = status == ForwardGradStatus.Ok ? "FG_OK" : "FG_ERR_" + ToUpperSnake(status.ToString());
            Assert.That(NativeStatus.Name(status), Is.EqualTo(expected));
        }
    }

    [Test]
    public void Check_Ok_DoesNotThrow() => Assert.DoesNotThrow(() => NativeStatus.Check(ForwardGradStatus.Ok));

    [Test]
    public unsafe void NullHandles_GiveInvalidArgument_NeverACrash()
    {
        float value = 0;
        AssertInvalid(NativeMethods.fg_context_synchronize(0), "context is NULL");
        AssertInvalid(NativeMethods.fg_context_live_bytes(0, out _), "context is NULL");
        var properties = FgContextProperties.Create();
        AssertInvalid(NativeMethods.fg_context_info(0, ref properties), "context is NULL");
        AssertInvalid(NativeMethods.fg_buffer_alloc(0, 16, out nint buffer), "context is NULL");
        Assert.That(buffer, Is.EqualTo(nint.Zero));
        AssertInvalid(NativeMethods.fg_buffer_size(0, out _), "buffer is NULL");
        AssertInvalid(NativeMethods.fg_buffer_upload(0, 0, &value, 4), "buffer is NULL");
        AssertInvalid(NativeMethods.fg_buffer_download(0, 0, &value, 4), "buffer is NULL");
        AssertInvalid(NativeMethods.fg_buffer_fill_f32(0, 0, 1, 1f), "buffer is NULL");
        AssertInvalid(NativeMethods.fg_buffer_copy(0, 0, 0, 0, 4), "NULL");
        AssertInvalid(NativeMethods.fg_gemm(0, 0, 0, 1, 1, 1, 1f, 0, 0, 0f, 0), "context is NULL");
        Assert.That(NativeMethods.fg_buffer_free(0), Is.EqualTo(ForwardGradStatus.Ok));
        Assert.That(NativeMethods.fg_context_free(0), Is.EqualTo(ForwardGradStatus.Ok));
    }

    [Test]
    public void ContextOptions_WithWrongSizeOrValues_AreRejected()
    {
        var options = FgContextOptions.Create(NativeConstants.BackendCpu, 0, 0, 0);
        options.Size = 4;
        AssertInvalid(NativeMethods.fg_context_create(in options, out nint context), "options->size");
        Assert.That(context, Is.EqualTo(nint.Zero));

        options = FgContextOptions.Create(NativeConstants.BackendCpu, 0, cpuThreads: -1, seed: 0);
        AssertInvalid(NativeMethods.fg_context_create(in options, out _), "cpu_threads");

        options = FgContextOptions.Create(backend: 7, 0, 0, 0);
        AssertInvalid(NativeMethods.fg_context_create(in options, out _), "backend");

        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Context.Cpu(new ContextOptions { Threads = -2 }))!.ParamName, Is.EqualTo("options"));
    }

    [Test]
    public void ContextOptions_Tf32_IsValidatedAndIgnoredOnCpu()
    {
        var options = FgContextOptions.Create(NativeConstants.BackendCpu, 0, 0, 0, gemmTf32: true);
        Assert.That(options.GemmTf32, Is.EqualTo(1));
        using (var context = ContextHandle.Create(options))
        {
            Assert.That(context.IsInvalid, Is.False);
        }

        options.GemmTf32 = 2;
        AssertInvalid(NativeMethods.fg_context_create(in options, out _), "gemm_tf32 must be 0 or 1");

        using var managed = Context.Cpu(new ContextOptions { Tf32 = true });
        Assert.That(managed.Options.Tf32, Is.True);
        Assert.That(managed.Info.GemmName, Does.Not.Contain("TF32"));
    }

    [Test]
    public void ContextProperties_LayoutIsAcceptedByTheLibrary()
    {
        using var context = ContextHandle.Create(FgContextOptions.Create(NativeConstants.BackendCpu, 0, 0, 42));
        using var lease = HandleLease.Of(context);
        var properties = FgContextProperties.Create();
        NativeStatus.Check(NativeMethods.fg_context_info(lease.Value, ref properties));
        Assert.Multiple(() =>
        {
            Assert.That(properties.Backend, Is.EqualTo(NativeConstants.BackendCpu));
            Assert.That(properties.Seed, Is.EqualTo(42UL));
            Assert.That(properties.GemmNameString, Is.Not.Empty);
        });
    }

    [Test]
    public unsafe void StructSizes_MatchTheCLayout()
    {
        Assert.Multiple(() =>
        {
            Assert.That(sizeof(FgContextOptions), Is.EqualTo(32));  // 28 bytes of fields, padded to the ulong alignment
            Assert.That(sizeof(FgContextProperties), Is.EqualTo(16 + 5 * 8 + 2 * 128));
            Assert.That(sizeof(FgOptimizerParams), Is.EqualTo(48));
            Assert.That(sizeof(FgMixerConfig), Is.EqualTo(64));  // 11 ints (44 bytes), seed at 48, local_loss at 56, padded to 64
            Assert.That(sizeof(FgParamInfo), Is.EqualTo(120));
            Assert.That(sizeof(FgStepOptions), Is.EqualTo(56));  // 36 bytes of fields, padding to 40, two longs
            Assert.That(sizeof(FgStepStats), Is.EqualTo(88));
        });
    }

    [Test]
    public void BackendProbe_UnknownBackend_IsUnavailableWithReason()
    {
        var (available, reason) = Backends.Probe((Backend)9);
        Assert.That(available, Is.False);
        Assert.That(reason, Does.Contain("unknown backend 9"));
        Assert.That(Backends.Probe(Backend.Cpu).IsAvailable, Is.True);
    }

    [Test]
    public void ClosedSafeHandle_CannotBeLeased()
    {
        var context = ContextHandle.Create(FgContextOptions.Create(NativeConstants.BackendCpu, 0, 0, 0));
        var buffer = BufferHandle.Allocate(context, 64);
        Assert.That(buffer.Context, Is.SameAs(context));
        context.Dispose();
        using (var lease = HandleLease.Of(buffer))
        {
            NativeStatus.Check(NativeMethods.fg_buffer_fill_f32(lease.Value, 0, 16, 1f));
        }

        buffer.Dispose();
        buffer.Dispose();
        Assert.That(context.IsClosed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => HandleLease.Of(buffer).Dispose());
        Assert.Throws<ObjectDisposedException>(() => HandleLease.Of(context).Dispose());
        Assert.Throws<ObjectDisposedException>(() => BufferHandle.Allocate(context, 16));
    }

    private static void AssertInvalid(ForwardGradStatus status, string messagePart)
    {
        Assert.That(status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        var error = Support.NativeAssert.Fails(status);
        Assert.That(error.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        Assert.That(error.Message, Does.Contain(messagePart));
    }

    private static string ToUpperSnake(string name) =>
        string.Concat(name.Select((ch, i) => i > 0 && char.IsUpper(ch) ? "_" + ch : ch.ToString())).ToUpperInvariant();
}
