namespace ForwardGrad.Interop;

/// <summary>
/// Owns a native <c>fg_mixer</c> model; keeps its context alive (see <see cref="ContextBoundHandle"/>).
/// Parameter and gradient handles from <c>fg_mixer_param</c> are borrowed: valid while the model lives
/// and never freed by the caller.
/// </summary>
internal sealed class MixerHandle : ContextBoundHandle
{
    /// <summary>Creates a model in <paramref name="context"/>.</summary>
    public static MixerHandle Create(ContextHandle context, in FgMixerConfig config)
    {
        FgMixerConfig copy = config; // an `in` parameter cannot be captured
        return Bind(new MixerHandle(), context, raw =>
        {
            NativeStatus.Check(NativeMethods.fg_mixer_create(raw, in copy, out nint model));
            return model;
        });
    }

    /// <inheritdoc />
    protected override ForwardGradStatus Free(nint native) => NativeMethods.fg_mixer_free(native);
}
