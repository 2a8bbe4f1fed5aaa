namespace ForwardGrad;

/// <summary>
/// The shape of a block's local losses: B images of P patches with C channels, split into G channel groups (one loss
/// per patch and group), and K stacked tangents.
/// </summary>
/// <param name="Batch">B.</param>
/// <param name="Patches">P.</param>
/// <param name="Channels">C.</param>
/// <param name="Groups">G, a divisor of C.</param>
/// <param name="Tangents">K (0 for a plain loss without directional derivatives).</param>
public readonly record struct LossGeometry(long Batch, long Patches, long Channels, long Groups, long Tangents);
