using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class BatchLoaderTests
{
    private static readonly ChannelStats Stats = new([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]);

    private static List<(float[] Images, int[] Labels, int Count)> Collect(BatchLoader loader, int epoch) =>
        [.. loader.Epoch(epoch).Select(b => (b.Images.ToArray(), b.Labels.ToArray(), b.Count))];

    [Test]
    public void Normalises_InHwcOrder_AgainstAHandComputation()
    {
        ImageDataset data = TestDatasets.Random(count: 10, height: 3, width: 2, channels: 3, seed: 5);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 4, Shuffle = false, Normalization = Stats });

        var batches = Collect(loader, epoch: 0);

        Assert.That(batches.Select(b => b.Count), Is.EqualTo(new[] { 4, 4, 2 }));
        Assert.That(loader.BatchesPerEpoch, Is.EqualTo(3));
        for (int b = 0; b < batches.Count; b++)
        {
            Assert.That(batches[b].Images, Has.Length.EqualTo(batches[b].Count * 18));
            for (int i = 0; i < batches[b].Count; i++)
            {
                int item = (b * 4) + i;
                Assert.That(batches[b].Labels[i], Is.EqualTo(data.Labels[item]));
                for (int k = 0; k < 18; k++)
                {
                    int c = k % 3;
                    double expected = ((data.Image(item)[k] / 255.0) - Stats.Mean[c]) / Stats.Std[c];
                    Assert.That(batches[b].Images[(i * 18) + k], Is.EqualTo(expected).Within(1e-5), $"item {item} value {k}");
                }
            }
        }
    }

    [Test]
    public void DefaultNormalisation_IsTheDataSetsOwn()
    {
        ImageDataset data = TestDatasets.Random(count: 20, height: 4, width: 4, channels: 1, seed: 6);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 20, Shuffle = false });
        float[] all = loader.Epoch(0).Single().Images.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(all.Average(), Is.EqualTo(0).Within(1e-4));
            Assert.That(Math.Sqrt(all.Average(v => (double)v * v)), Is.EqualTo(1).Within(1e-4));
        });
    }

    [Test]
    public void Shuffled_FollowsTheSeededPermutation_EveryItemOncePerEpoch()
    {
        ImageDataset data = TestDatasets.Numbered(count: 23, height: 2, width: 2, channels: 1, classes: 23);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 5, Seed = 11 });
        var shuffler = new EpochShuffler(23, seed: 11);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            int[] seen = [.. Collect(loader, epoch).SelectMany(b => b.Labels)];
            Assert.That(seen, Is.EqualTo(shuffler.Permutation(epoch)), $"epoch {epoch}");
        }
    }

    [Test]
    public void DropLast_SkipsTheShortBatch()
    {
        ImageDataset data = TestDatasets.Numbered(count: 23, height: 2, width: 2, channels: 1);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 5, DropLast = true });
        Assert.That(Collect(loader, 0).Select(b => b.Count), Is.EqualTo(new[] { 5, 5, 5, 5 }));
    }

    [Test]
    public void LeavingEarly_StopsTheProducer_AndTheNextEpochRuns()
    {
        ImageDataset data = TestDatasets.Numbered(count: 100, height: 2, width: 2, channels: 1);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 3, Prefetch = 1 });
        Assert.That(loader.Epoch(0).Take(2).Count(), Is.EqualTo(2));
        Assert.That(loader.Epoch(1).Count(), Is.EqualTo(34));
    }

    [Test]
    public void BuffersAreReused_SteadyStateAllocatesNothingPerBatch()
    {
        ImageDataset data = TestDatasets.Random(count: 4000, height: 28, width: 28, channels: 1, seed: 7);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 32, Seed = 1, Prefetch = 2 });
        var buffers = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
        long before = 0;
        int n = 0;
        foreach (Batch batch in loader.Epoch(0))
        {
            buffers.Add(batch.ImageBuffer);
            if (++n == 10)
            {
                before = GC.GetTotalAllocatedBytes(precise: true);
            }
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Multiple(() =>
        {
            Assert.That(buffers, Has.Count.EqualTo(3));
            // 115 batches of 100 KB would be 11 MB; the allowance covers only unrelated runtime noise.
            Assert.That(allocated, Is.LessThan(256 * 1024));
        });
    }
}
