using ForwardGrad.Interop;

namespace ForwardGrad;

/// <summary>The fused local loss and the two forward-gradient estimators.</summary>
public static partial class Ops
{
    /// <summary>
    /// A block's local loss: xbar = the mean of X over patches, logits = xbar W + b, per-example cross-entropy, and with
    /// s = softmax(logits) - onehot(label) and v = W s: the directional derivatives
    /// d[k,n,p,g] = 1/(P*B) * sum over the channels c of group g of xdot[k,n,p,c] * v_n[c], the exact head gradients
    /// dW (C, N) and db (N) of the batch-mean loss (overwritten), and dX[n,p,c] = v_n[c] / (P*B).
    /// X is (B, P, C), xdot (K, B, P, C), W (C, N), b (N), <paramref name="labels"/> an int32 tensor (B);
    /// every output is optional: loss (B), logits (B, N), d (K, B, P, G), dw, db, dx (B, P, C).
    /// </summary>
    public static void LocalLoss(LossGeometry geometry, long classes, Tensor x, Tensor? xdot, Tensor w, Tensor b, Tensor labels,
        Tensor? loss = null, Tensor? logits = null, Tensor? d = null, Tensor? dw = null, Tensor? db = null, Tensor? dx = null)
    {
        Context context = ContextOf(x, nameof(x));
        RequireOptional(xdot, context, nameof(xdot));
        Require(w, context, nameof(w));
        Require(b, context, nameof(b));
        Require(labels, context, nameof(labels), ElementType.Int32);
        RequireOptional(loss, context, nameof(loss));
        RequireOptional(logits, context, nameof(logits));
        RequireOptional(d, context, nameof(d));
        RequireOptional(dw, context, nameof(dw));
        RequireOptional(db, context, nameof(db));
        RequireOptional(dx, context, nameof(dx));
        using var lease = context.Lease();
        using var xBuffer = x.Lease();
        using var xdotBuffer = LeaseOptional(xdot);
        using var wBuffer = w.Lease();
        using var bBuffer = b.Lease();
        using var labelBuffer = labels.Lease();
        using var lossBuffer = LeaseOptional(loss);
        using var logitBuffer = LeaseOptional(logits);
        using var dBuffer = LeaseOptional(d);
        using var dwBuffer = LeaseOptional(dw);
        using var dbBuffer = LeaseOptional(db);
        using var dxBuffer = LeaseOptional(dx);
        NativeStatus.Check(NativeMethods.fg_local_loss(lease.Value, geometry.Batch, geometry.Patches, geometry.Channels, geometry.Groups, classes,
            geometry.Tangents, xBuffer.Value, xdotBuffer.Value, wBuffer.Value, bBuffer.Value, labelBuffer.Value, lossBuffer.Value,
            logitBuffer.Value, dBuffer.Value, dwBuffer.Value, dbBuffer.Value, dxBuffer.Value));
    }

    /// <summary>
    /// Activity-perturbation (FG-A, LG-FG-A) gradient of one linear layer whose LayerNorm output Z (B*P rows, C) was
    /// perturbed by U: G_Z = (1/K) sum_k scale_k(n,p,c) * U_k * [A &gt; 0], G_lin = the LayerNorm VJP of G_Z (from the
    /// saved output <paramref name="zln"/> and <paramref name="rstd"/>), then dW = X^T G_lin and db = the sum of G_lin
    /// (added with <paramref name="accumulate"/>), through the layer kinds of <see cref="LinearBackward"/>.
    /// u is (K, B, P, C), act (B, P, C), d (K, B, P, G), x (B*P, <paramref name="inputs"/>); a group layer's LayerNorm is
    /// per group, so zln is viewed as (B*P*layerGroups, C/layerGroups) and rstd is (B*P*layerGroups).
    /// <paramref name="workspace"/> holds at least B*P*C floats and is overwritten; dw and db are optional.
    /// </summary>
    public static void ActivityPerturbationGradient(LayerKind kind, ActivityScale scale, LossGeometry geometry, long inputs, long layerGroups,
        Tensor u, Tensor act, Tensor d, Tensor zln, Tensor rstd, Tensor x, Tensor workspace, Tensor? dw, Tensor? db, bool accumulate = false)
    {
        Context context = ContextOf(u, nameof(u));
        Require(act, context, nameof(act));
        Require(d, context, nameof(d));
        Require(zln, context, nameof(zln));
        Require(rstd, context, nameof(rstd));
        Require(x, context, nameof(x));
        Require(workspace, context, nameof(workspace));
        RequireOptional(dw, context, nameof(dw));
        RequireOptional(db, context, nameof(db));
        using var lease = context.Lease();
        using var uBuffer = u.Lease();
        using var actBuffer = act.Lease();
        using var dBuffer = d.Lease();
        using var zlnBuffer = zln.Lease();
        using var rstdBuffer = rstd.Lease();
        using var xBuffer = x.Lease();
        using var workspaceBuffer = workspace.Lease();
        using var dwBuffer = LeaseOptional(dw);
        using var dbBuffer = LeaseOptional(db);
        NativeStatus.Check(NativeMethods.fg_fga_weight_grad(lease.Value, (int)kind, (int)scale, geometry.Batch, geometry.Patches, geometry.Channels,
            geometry.Groups, inputs, layerGroups, geometry.Tangents, uBuffer.Value, actBuffer.Value, dBuffer.Value, zlnBuffer.Value,
            rstdBuffer.Value, xBuffer.Value, workspaceBuffer.Value, dwBuffer.Value, dbBuffer.Value, accumulate ? 1 : 0));
    }

    /// <summary>
    /// Weight-perturbation (FG-W, LG-FG-W) gradient of one parameter of <paramref name="count"/> elements:
    /// grad (+)= (1/K) sum_k D_k(slice) * V_k with D_k(g) = sum over rows of d[k, row, g]; <paramref name="slice"/> says
    /// which group each element belongs to (<paramref name="columns"/> is the matrix width for <see cref="WeightSlice.Columns"/>).
    /// v is (K, count), d (K, rows, groups), grad (count).
    /// </summary>
    public static void WeightPerturbationGradient(WeightSlice slice, long count, long columns, long groups, long rows, long tangents,
        Tensor v, Tensor d, Tensor grad, bool accumulate = false)
    {
        Context context = ContextOf(v, nameof(v));
        Require(d, context, nameof(d));
        Require(grad, context, nameof(grad));
        using var lease = context.Lease();
        using var vBuffer = v.Lease();
        using var dBuffer = d.Lease();
        using var gradBuffer = grad.Lease();
        NativeStatus.Check(NativeMethods.fg_fgw_grad(lease.Value, (int)slice, count, columns, groups, rows, tangents, vBuffer.Value,
            dBuffer.Value, gradBuffer.Value, accumulate ? 1 : 0));
    }
}
