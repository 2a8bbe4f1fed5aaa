namespace ForwardGrad.Interop;

/// <summary>Owns a native <c>fg_buffer</c>; keeps its context alive (see <see cref="ContextBoundHandle"/>).</summary>
internal sealed class BufferHandle : ContextBoundHandle
{
    /// <summary>Allocates <paramref name="bytes"/> bytes in <paramref name="context"/>.</summary>
    public static BufferHandle Allocate(ContextHandle context, ulong bytes) =>
        Bind(new BufferHandle(), context, raw =>
        {
            NativeStatus.Check(NativeMethods.fg_buffer_alloc(raw, bytes, out nint buffer));
            return buffer;
        });

    /// <inheritdoc />
    protected override ForwardGradStatus Free(nint native) => NativeMethods.fg_buffer_free(native);
}
