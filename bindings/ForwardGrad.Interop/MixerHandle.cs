using Microsoft.Win32.SafeHandles;

namespace ForwardGrad.Interop;

/// <summary>
/// Owns a native <c>fg_mixer</c> model. Like <see cref="BufferHandle"/> it holds a reference on its
/// <see cref="ContextHandle"/>. Parameter and gradient handles from <c>fg_mixer_param</c> are borrowed:
/// valid while the model lives and never freed by the caller.
/// </summary>
public sealed class MixerHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private ContextHandle? _context;

    /// <summary>An invalid handle; use <see cref="Create"/>.</summary>
    public MixerHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>The context the model lives in (<see langword="null"/> for an invalid handle).</summary>
    public ContextHandle? Context => _context;

    /// <summary>Creates a model in <paramref name="context"/>.</summary>
    public static MixerHandle Create(ContextHandle context, in FgMixerConfig config)
    {
        ArgumentNullException.ThrowIfNull(context);
        var handle = new MixerHandle();
        bool contextReferenced = false;
        try
        {
            context.DangerousAddRef(ref contextReferenced);
            NativeStatus.Check(NativeMethods.fg_mixer_create(context.DangerousGetHandle(), in config, out nint model));
            handle._context = context;
            handle.SetHandle(model);
            contextReferenced = false; // the model now owns that reference
            return handle;
        }
        finally
        {
            if (contextReferenced)
            {
                context.DangerousRelease();
            }
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        ForwardGradStatus status = NativeMethods.fg_mixer_free(handle);
        _context?.DangerousRelease();
        _context = null;
        return status == ForwardGradStatus.Ok;
    }
}
