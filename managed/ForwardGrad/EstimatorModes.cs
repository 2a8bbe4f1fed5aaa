namespace ForwardGrad;

/// <summary>
/// Which directional derivative a perturbed unit (n, p, c) of <see cref="Ops.ActivityPerturbationGradient"/> is scaled by,
/// from d (K, B, P, G).
/// </summary>
public enum ActivityScale
{
    /// <summary>d[k,n,p,g(c)], g(c) = c / (C/G): channel and group layers of the local losses.</summary>
    Group = 0,

    /// <summary>sum over g of d[k,n,p,g]: token-mixing layers.</summary>
    Patch = 1,

    /// <summary>sum over p and g of d[k,n,p,g]: one loss for the whole network (FG-A).</summary>
    Global = 2,
}

/// <summary>How <see cref="Ops.WeightPerturbationGradient"/> assigns a parameter's elements to loss groups.</summary>
public enum WeightSlice
{
    /// <summary>Element (i, j) of a (count/cols, cols) matrix belongs to group j / (cols/G).</summary>
    Columns = 0,

    /// <summary>Element e belongs to group e / (count/G).</summary>
    Leading = 1,

    /// <summary>Every element uses the sum over all groups.</summary>
    All = 2,
}
