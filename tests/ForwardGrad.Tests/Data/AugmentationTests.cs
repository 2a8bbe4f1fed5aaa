using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class AugmentationTests
{
    private static readonly ChannelStats Stats = new([0.49, 0.48, 0.45], [0.25, 0.24, 0.26]);

    private static float[][] Epoch(ImageDataset data, Augmentation? augmentation, int seed, int epoch = 0)
    {
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 4, Shuffle = false, Seed = seed, Normalization = Stats, Augmentation = augmentation });
        return [.. loader.Epoch(epoch).Select(b => b.Images.ToArray())];
    }

    [Test]
    public void KeepsShapes_AndIsDeterministicPerSeed()
    {
        ImageDataset data = TestDatasets.Random(count: 10, height: 32, width: 32, channels: 3, seed: 1);
        float[][] plain = Epoch(data, null, seed: 5);
        float[][] first = Epoch(data, Augmentation.Cifar, seed: 5);
        float[][] again = Epoch(data, Augmentation.Cifar, seed: 5);
        float[][] other = Epoch(data, Augmentation.Cifar, seed: 6);
        float[][] nextEpoch = Epoch(data, Augmentation.Cifar, seed: 5, epoch: 1);

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(b => b.Length), Is.EqualTo(plain.Select(b => b.Length)));
            Assert.That(again, Is.EqualTo(first));
            Assert.That(other, Is.Not.EqualTo(first));
            Assert.That(nextEpoch, Is.Not.EqualTo(first));
            Assert.That(first, Is.Not.EqualTo(plain));
        });
    }

    [Test]
    public void NoPaddingNoFlip_IsTheIdentity()
    {
        ImageDataset data = TestDatasets.Random(count: 6, height: 5, width: 4, channels: 3, seed: 2);
        Assert.That(Epoch(data, new Augmentation(CropPadding: 0, HorizontalFlip: false), seed: 1), Is.EqualTo(Epoch(data, null, seed: 1)));
    }

    [Test]
    public void EveryImage_IsAPaddedCropPossiblyMirrored_OfItsSource()
    {
        const int h = 6, w = 5, c = 3, padding = 2;
        ImageDataset data = TestDatasets.Random(count: 40, height: h, width: w, channels: c, seed: 3);
        float[] augmented = [.. Epoch(data, new Augmentation(padding, true), seed: 9).SelectMany(b => b)];
        float[] plain = [.. Epoch(data, null, seed: 9).SelectMany(b => b)];
        var flips = 0;
        for (int n = 0; n < data.Count; n++)
        {
            var matches = new List<(int Dy, int Dx, bool Flip)>();
            for (int dy = -padding; dy <= padding; dy++)
            {
                for (int dx = -padding; dx <= padding; dx++)
                {
                    foreach (bool flip in new[] { false, true })
                    {
                        if (Matches(augmented, plain, n, dy, dx, flip))
                        {
                            matches.Add((dy, dx, flip));
                        }
                    }
                }
            }

            Assert.That(matches, Is.Not.Empty, $"image {n} is no crop of its source");
            flips += matches.All(m => m.Flip) ? 1 : 0;
        }

        Assert.That(flips, Is.InRange(5, 35), "about half the images should be mirrored");

        bool Matches(float[] aug, float[] src, int n, int dy, int dx, bool flip)
        {
            int size = h * w * c;
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    int sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
                    for (int k = 0; k < c; k++)
                    {
                        float expected = sy >= 0 && sy < h && sx >= 0 && sx < w
                            ? src[(n * size) + (((sy * w) + sx) * c) + k]
                            : (float)((0 - Stats.Mean[k]) / Stats.Std[k]);
                        if (aug[(n * size) + (((y * w) + x) * c) + k] != expected)
                        {
                            return false;
                        }
                    }
                }
            }

            return true;
        }
    }
}
