namespace ForwardGrad;

/// <summary>The linear layer kinds of <see cref="Ops.LinearJvp"/> and <see cref="Ops.LinearBackward"/>; see <see cref="LinearLayer"/>.</summary>
public enum LayerKind
{
    /// <summary>Y = X W + b: X is (rows, in), W (in, out), b (out).</summary>
    Dense = 0,

    /// <summary>Block-diagonal: X is (rows, G, in/G), W (G, in/G, out/G), b (out); group g multiplies its own block.</summary>
    Group = 1,

    /// <summary>
    /// Token mixing: X is (S, P, C) with rows = S*P, in = out = C and groups = P; W is (P, P), b (P):
    /// Y[s,q,c] = sum_p W[p,q] X[s,p,c] + b[q], one P x P matrix shared by every channel.
    /// </summary>
    Token = 2,
}

/// <summary>The geometry of one linear layer: its kind, its rows (leading dimensions flattened), widths and groups.</summary>
/// <param name="Kind">Dense, group or token mixing.</param>
/// <param name="Rows">R, the rows of X (for <see cref="LayerKind.Token"/>, S*P).</param>
/// <param name="Inputs">n, the width of X.</param>
/// <param name="Outputs">m, the width of Y.</param>
/// <param name="Groups">1 for dense, G for group, P for token layers.</param>
public readonly record struct LinearLayer(LayerKind Kind, long Rows, long Inputs, long Outputs, long Groups = 1);
