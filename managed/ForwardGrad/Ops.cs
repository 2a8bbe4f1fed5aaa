using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>
/// Operations on tensors, run by the native library on the tensors' context: one method per operation of the C ABI,
/// with its argument names and shape conventions (forwardgrad.h documents each in full). Every tensor of a call must
/// belong to one context; the library checks that each is large enough for the dimensions given.
/// </summary>
public static partial class Ops
{
    /// <summary>
    /// General matrix multiply, in place: <c>C = alpha * op(A) * op(B) + beta * C</c>, row-major.
    /// op(A) is (m, k): A is (m, k), or (k, m) with <paramref name="transposeA"/>; op(B) is (k, n); C is (m, n).
    /// With <paramref name="beta"/> = 0 the old contents of C are ignored (NaNs included).
    /// </summary>
    /// <exception cref="ArgumentException">A tensor is not two-dimensional, the shapes do not fit, or the tensors belong to different contexts.</exception>
    /// <exception cref="ObjectDisposedException">A tensor has been disposed.</exception>
    public static void Gemm(Tensor a, Tensor b, Tensor c, bool transposeA = false, bool transposeB = false, float alpha = 1f, float beta = 0f)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        RequireMatrix(a, nameof(a));
        RequireMatrix(b, nameof(b));
        RequireMatrix(c, nameof(c));
        long m = transposeA ? a.Shape[1] : a.Shape[0];
        long k = transposeA ? a.Shape[0] : a.Shape[1];
        long bRows = transposeB ? b.Shape[1] : b.Shape[0];
        long n = transposeB ? b.Shape[0] : b.Shape[1];
        if (bRows != k)
        {
            throw new ArgumentException(
                $"op(a) is ({m}, {k}) but op(b) is ({bRows}, {n}): the inner dimensions differ.", nameof(b));
        }

        if (c.Shape[0] != m || c.Shape[1] != n)
        {
            throw new ArgumentException($"c is ({c.Shape[0]}, {c.Shape[1]}) but op(a) op(b) is ({m}, {n}).", nameof(c));
        }

        RequireSameContext(a, b, nameof(b));
        RequireSameContext(a, c, nameof(c));

        using var context = a.Context.Lease();
        using var aBuffer = a.Lease();
        using var bBuffer = b.Lease();
        using var cBuffer = c.Lease();
        NativeStatus.Check(NativeMethods.fg_gemm(
            context.Value,
            transposeA ? NativeConstants.Transpose : NativeConstants.NoTranspose,
            transposeB ? NativeConstants.Transpose : NativeConstants.NoTranspose,
            m, n, k, alpha, aBuffer.Value, bBuffer.Value, beta, cBuffer.Value));
    }

    /// <summary>Checks a required tensor: present, not disposed, in <paramref name="context"/>, of element type <paramref name="type"/>.</summary>
    private static void Require(Tensor tensor, Context context, string parameterName, ElementType type = ElementType.Float32)
    {
        ArgumentNullException.ThrowIfNull(tensor, parameterName);
        ObjectDisposedException.ThrowIf(tensor.IsDisposed, tensor);
        if (!ReferenceEquals(tensor.Context, context))
        {
            throw new ArgumentException($"{parameterName} belongs to another context than the operation's first tensor.", parameterName);
        }

        tensor.RequireElementType(type, parameterName);
    }

    /// <summary>Checks an optional tensor: <see langword="null"/> (not wanted) or as <see cref="Require"/> asks.</summary>
    private static void RequireOptional(Tensor? tensor, Context context, string parameterName)
    {
        if (tensor is not null)
        {
            Require(tensor, context, parameterName);
        }
    }

    /// <summary>The context of an operation: that of its first required tensor.</summary>
    private static Context ContextOf(Tensor tensor, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(tensor, parameterName);
        ObjectDisposedException.ThrowIf(tensor.IsDisposed, tensor);
        return tensor.Context;
    }

    /// <summary>A lease whose value is 0 for an absent optional tensor.</summary>
    private static HandleLease LeaseOptional(Tensor? tensor) => tensor is null ? default : tensor.Lease();

    private static void RequireMatrix(Tensor tensor, string parameterName)
    {
        ObjectDisposedException.ThrowIf(tensor.IsDisposed, tensor);
        if (tensor.Rank != 2)
        {
            throw new ArgumentException($"{parameterName} must be a matrix (rank 2), got rank {tensor.Rank}.", parameterName);
        }
    }

    private static void RequireSameContext(Tensor first, Tensor other, string parameterName)
    {
        if (!ReferenceEquals(first.Context, other.Context))
        {
            throw new ArgumentException($"{parameterName} belongs to another context than a.", parameterName);
        }
    }
}
