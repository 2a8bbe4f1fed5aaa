using ForwardGrad.Parallel;

namespace ForwardGrad.Tests.Parallel;

[TestFixture]
public sealed class BatchShardTests
{
    [TestCase(128, 1)]
    [TestCase(128, 2)]
    [TestCase(128, 3)]
    [TestCase(64, 3)]
    [TestCase(2, 3)]
    [TestCase(0, 2)]
    public void TheShards_CoverTheBatchInRankOrder_AndDifferByAtMostOne(int batch, int ranks)
    {
        var shards = Enumerable.Range(0, ranks).Select(rank => BatchShard.Of(batch, rank, ranks)).ToList();
        int next = 0;
        foreach (BatchShard shard in shards)
        {
            Assert.That(shard.Start, Is.EqualTo(next));
            next += shard.Count;
        }

        Assert.That(next, Is.EqualTo(batch));
        Assert.That(shards.Max(s => s.Count) - shards.Min(s => s.Count), Is.LessThanOrEqualTo(1));
    }

    [Test]
    public void ThreeRanksOnABatchOf128_Take43_43_42()
    {
        Assert.That(BatchShard.Of(128, 0, 3), Is.EqualTo(new BatchShard(0, 43)));
        Assert.That(BatchShard.Of(128, 1, 3), Is.EqualTo(new BatchShard(43, 43)));
        Assert.That(BatchShard.Of(128, 2, 3), Is.EqualTo(new BatchShard(86, 42)));
    }

    [Test]
    public void ARankOutsideTheJob_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchShard.Of(10, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchShard.Of(10, 0, 0));
    }
}
