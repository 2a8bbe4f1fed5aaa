using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>Linear layers, LayerNorm and the perturbed ReLU, with their tangents and gradients.</summary>
public static partial class Ops
{
    /// <summary>
    /// Fused JVP of a linear layer over stacked tangents: YY = XX W (+ b on the primal rows only), then, when
    /// <paramref name="wdot"/> is given, YY[k] += X Wdot_k for k = 1..K. XX is ((K+1)*rows, in): the primal X in its
    /// first rows, tangent k after it; YY is ((K+1)*rows, out); wdot is (K, |W|). K = 0 is the plain forward pass.
    /// </summary>
    public static void LinearJvp(LinearLayer layer, long tangents, Tensor xx, Tensor w, Tensor? b, Tensor? wdot, Tensor yy)
    {
        Context context = ContextOf(xx, nameof(xx));
        Require(w, context, nameof(w));
        RequireOptional(b, context, nameof(b));
        RequireOptional(wdot, context, nameof(wdot));
        Require(yy, context, nameof(yy));
        using var lease = context.Lease();
        using var xxBuffer = xx.Lease();
        using var wBuffer = w.Lease();
        using var bBuffer = LeaseOptional(b);
        using var wdotBuffer = LeaseOptional(wdot);
        using var yyBuffer = yy.Lease();
        NativeStatus.Check(NativeMethods.fg_linear_jvp(lease.Value, (int)layer.Kind, layer.Rows, layer.Inputs, layer.Outputs, layer.Groups,
            tangents, xxBuffer.Value, wBuffer.Value, bBuffer.Value, wdotBuffer.Value, yyBuffer.Value));
    }

    /// <summary>
    /// Backward of Y = X W + b: dX = dY W^T (when <paramref name="dx"/> is given, always overwritten), dW = X^T dY and
    /// db = the sum of dY's rows (when given; <paramref name="accumulate"/> adds to them instead of overwriting).
    /// <paramref name="x"/> is needed only with <paramref name="dw"/>, <paramref name="w"/> only with <paramref name="dx"/>.
    /// </summary>
    public static void LinearBackward(LinearLayer layer, Tensor? x, Tensor? w, Tensor dy, Tensor? dx, Tensor? dw, Tensor? db, bool accumulate = false)
    {
        Context context = ContextOf(dy, nameof(dy));
        RequireOptional(x, context, nameof(x));
        RequireOptional(w, context, nameof(w));
        RequireOptional(dx, context, nameof(dx));
        RequireOptional(dw, context, nameof(dw));
        RequireOptional(db, context, nameof(db));
        using var lease = context.Lease();
        using var xBuffer = LeaseOptional(x);
        using var wBuffer = LeaseOptional(w);
        using var dyBuffer = dy.Lease();
        using var dxBuffer = LeaseOptional(dx);
        using var dwBuffer = LeaseOptional(dw);
        using var dbBuffer = LeaseOptional(db);
        NativeStatus.Check(NativeMethods.fg_linear_backward(lease.Value, (int)layer.Kind, layer.Rows, layer.Inputs, layer.Outputs, layer.Groups,
            xBuffer.Value, wBuffer.Value, dyBuffer.Value, dxBuffer.Value, dwBuffer.Value, dbBuffer.Value, accumulate ? 1 : 0));
    }

    /// <summary>
    /// LayerNorm without affine parameters (eps 1e-5) over rows of width <paramref name="dim"/>:
    /// Y = (X - mean) * rstd; writes <paramref name="mean"/> and <paramref name="rstd"/> (rows) for the JVP and VJP.
    /// </summary>
    public static void LayerNormForward(long rows, long dim, Tensor x, Tensor y, Tensor mean, Tensor rstd)
    {
        Context context = ContextOf(x, nameof(x));
        Require(y, context, nameof(y));
        Require(mean, context, nameof(mean));
        Require(rstd, context, nameof(rstd));
        using var lease = context.Lease();
        using var xBuffer = x.Lease();
        using var yBuffer = y.Lease();
        using var meanBuffer = mean.Lease();
        using var rstdBuffer = rstd.Lease();
        NativeStatus.Check(NativeMethods.fg_layernorm_forward(lease.Value, rows, dim, xBuffer.Value, yBuffer.Value, meanBuffer.Value, rstdBuffer.Value));
    }

    /// <summary>
    /// LayerNorm tangents: Ydot_k = rstd * (Xdot_k - mean(Xdot_k) - Y * mean(Y * Xdot_k)) for K stacked tangents
    /// (xdot and ydot are (K, rows, dim); <paramref name="ydot"/> may be <paramref name="xdot"/>).
    /// </summary>
    public static void LayerNormJvp(long rows, long dim, long tangents, Tensor y, Tensor rstd, Tensor xdot, Tensor ydot)
    {
        Context context = ContextOf(y, nameof(y));
        Require(rstd, context, nameof(rstd));
        Require(xdot, context, nameof(xdot));
        Require(ydot, context, nameof(ydot));
        using var lease = context.Lease();
        using var yBuffer = y.Lease();
        using var rstdBuffer = rstd.Lease();
        using var xdotBuffer = xdot.Lease();
        using var ydotBuffer = ydot.Lease();
        NativeStatus.Check(NativeMethods.fg_layernorm_jvp(lease.Value, rows, dim, tangents, yBuffer.Value, rstdBuffer.Value, xdotBuffer.Value, ydotBuffer.Value));
    }

    /// <summary>LayerNorm vector-Jacobian product: dX = rstd * (dY - mean(dY) - Y * mean(Y * dY)); <paramref name="dx"/> may be <paramref name="dy"/>.</summary>
    public static void LayerNormVjp(long rows, long dim, Tensor y, Tensor rstd, Tensor dy, Tensor dx)
    {
        Context context = ContextOf(y, nameof(y));
        Require(rstd, context, nameof(rstd));
        Require(dy, context, nameof(dy));
        Require(dx, context, nameof(dx));
        using var lease = context.Lease();
        using var yBuffer = y.Lease();
        using var rstdBuffer = rstd.Lease();
        using var dyBuffer = dy.Lease();
        using var dxBuffer = dx.Lease();
        NativeStatus.Check(NativeMethods.fg_layernorm_vjp(lease.Value, rows, dim, yBuffer.Value, rstdBuffer.Value, dyBuffer.Value, dxBuffer.Value));
    }

    /// <summary>
    /// The perturbed ReLU: A = relu(Z + Res) over <paramref name="count"/> elements and, for K tangents,
    /// Adot_k = [A &gt; 0] * (Zdot_k + U_k + Resdot_k). Each of <paramref name="residual"/>, <paramref name="zdot"/>,
    /// <paramref name="noise"/> (U) and <paramref name="residualDot"/> may be <see langword="null"/> (zero); the tangent
    /// tensors are (K, count); <paramref name="adot"/> may be <paramref name="zdot"/>, and is not needed when K = 0.
    /// </summary>
    public static void ReluJvp(long count, long tangents, Tensor z, Tensor? residual, Tensor? zdot, Tensor? noise, Tensor? residualDot, Tensor a, Tensor? adot)
    {
        Context context = ContextOf(z, nameof(z));
        RequireOptional(residual, context, nameof(residual));
        RequireOptional(zdot, context, nameof(zdot));
        RequireOptional(noise, context, nameof(noise));
        RequireOptional(residualDot, context, nameof(residualDot));
        Require(a, context, nameof(a));
        RequireOptional(adot, context, nameof(adot));
        using var lease = context.Lease();
        using var zBuffer = z.Lease();
        using var residualBuffer = LeaseOptional(residual);
        using var zdotBuffer = LeaseOptional(zdot);
        using var noiseBuffer = LeaseOptional(noise);
        using var residualDotBuffer = LeaseOptional(residualDot);
        using var aBuffer = a.Lease();
        using var adotBuffer = LeaseOptional(adot);
        NativeStatus.Check(NativeMethods.fg_relu_jvp(lease.Value, count, tangents, zBuffer.Value, residualBuffer.Value, zdotBuffer.Value,
            noiseBuffer.Value, residualDotBuffer.Value, aBuffer.Value, adotBuffer.Value));
    }

    /// <summary>ReLU backward: dZ = [A &gt; 0] * dA, A the forward output; <paramref name="dz"/> may be <paramref name="da"/>.</summary>
    public static void ReluBackward(long count, Tensor a, Tensor da, Tensor dz)
    {
        Context context = ContextOf(a, nameof(a));
        Require(da, context, nameof(da));
        Require(dz, context, nameof(dz));
        using var lease = context.Lease();
        using var aBuffer = a.Lease();
        using var daBuffer = da.Lease();
        using var dzBuffer = dz.Lease();
        NativeStatus.Check(NativeMethods.fg_relu_backward(lease.Value, count, aBuffer.Value, daBuffer.Value, dzBuffer.Value));
    }
}
