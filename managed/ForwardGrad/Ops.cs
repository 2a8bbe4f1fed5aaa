using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>Operations on tensors, run by the native library on the tensors' context.</summary>
public static class Ops
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
