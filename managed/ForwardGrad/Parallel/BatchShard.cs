namespace ForwardGrad.Parallel;

/// <summary>
/// The contiguous part of a global batch that one rank trains on: the first <c>count % ranks</c> ranks take one image
/// more than the others, so the shards differ by at most one image and cover the batch in rank order.
/// </summary>
/// <param name="Start">First image of the shard in the global batch.</param>
/// <param name="Count">Images in the shard (0 when the batch has fewer images than there are ranks).</param>
public readonly record struct BatchShard(int Start, int Count)
{
    /// <summary>The shard of rank <paramref name="rank"/> of <paramref name="ranks"/> in a batch of <paramref name="batchCount"/> images.</summary>
    public static BatchShard Of(int batchCount, int rank, int ranks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(ranks, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, ranks);
        int share = batchCount / ranks, extra = batchCount % ranks;
        return new BatchShard((rank * share) + Math.Min(rank, extra), share + (rank < extra ? 1 : 0));
    }
}
