namespace ForwardGrad.Model;

/// <summary>The contiguous blocks [<see cref="First"/>, <see cref="Last"/>) of a model: one stage of a block pipeline.</summary>
/// <param name="First">The first block.</param>
/// <param name="Last">One past the last block.</param>
public readonly record struct BlockRange(int First, int Last)
{
    /// <summary>Blocks in the range.</summary>
    public int Count => Last - First;

    /// <summary>Whether <paramref name="block"/> is in the range.</summary>
    public bool Contains(int block) => block >= First && block < Last;

    /// <summary>Whether the range ends with the model's last block (its stage also trains the final classifier).</summary>
    public bool EndsModel(int blocks) => Last == blocks;

    /// <summary>
    /// Stage <paramref name="stage"/> of <paramref name="stages"/> over <paramref name="blocks"/> blocks, divided as evenly as
    /// possible (the first blocks % stages stages take one block more): 4 blocks over 3 stages are [0, 2), [2, 3), [3, 4).
    /// More stages than blocks is an <see cref="ArgumentException"/> naming both.
    /// </summary>
    public static BlockRange Split(int blocks, int stages, int stage)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stages);
        if (stages > blocks)
        {
            throw new ArgumentException($"{stages} pipeline stages need at least {stages} blocks, but the model has {blocks}; use at most {blocks} ranks (or a model with more blocks).");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(stage);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(stage, stages);
        int size = blocks / stages, extra = blocks % stages;
        int first = (stage * size) + Math.Min(stage, extra);
        return new BlockRange(first, first + size + (stage < extra ? 1 : 0));
    }

    /// <inheritdoc />
    public override string ToString() => $"[{First}, {Last})";
}
