using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class ContrastiveViewsTests
{
    private static readonly ChannelStats Colour = new([0.49, 0.48, 0.45], [0.25, 0.24, 0.26]);
    private static readonly ChannelStats Grey = new([0.13], [0.31]);

    private static float[][] Epoch(ImageDataset data, ContrastiveViews? views, int seed, int epoch = 0, int batchSize = 4)
    {
        ChannelStats stats = data.Channels == 3 ? Colour : Grey;
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = batchSize, Shuffle = false, Seed = seed, Normalization = stats, Views = views });
        return [.. loader.Epoch(epoch).Select(b => b.Images.ToArray())];
    }

    [TestCase(28, 28, 1)]
    [TestCase(32, 32, 3)]
    public void TwoViewsPerImage_TheSameForTheSameSeed(int height, int width, int channels)
    {
        ImageDataset data = TestDatasets.Random(count: 10, height, width, channels, seed: 1);
        ContrastiveViews views = ContrastiveViews.ForImages(height, width, channels);
        float[][] first = Epoch(data, views, seed: 5);
        float[][] again = Epoch(data, views, seed: 5);
        float[][] other = Epoch(data, views, seed: 6);
        float[][] nextEpoch = Epoch(data, views, seed: 5, epoch: 1);
        int size = height * width * channels;

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(b => b.Length), Is.EqualTo(new[] { 8 * size, 8 * size, 4 * size }));
            Assert.That(again, Is.EqualTo(first));
            Assert.That(other, Is.Not.EqualTo(first));
            Assert.That(nextEpoch, Is.Not.EqualTo(first));
            for (int i = 0; i < 4; i++)
            {
                Assert.That(first[0].AsSpan(i * size, size).ToArray(), Is.Not.EqualTo(first[0].AsSpan((4 + i) * size, size).ToArray()), $"image {i}: its two views are the same");
            }
        });
    }

    [Test]
    public void EachLabel_AppearsOncePerView()
    {
        ImageDataset data = TestDatasets.Random(count: 6, height: 28, width: 28, channels: 1, seed: 2);
        var loader = new BatchLoader(data, new BatchLoaderOptions { BatchSize = 3, Shuffle = true, Seed = 4, Normalization = Grey, Views = ContrastiveViews.Digits });
        foreach (Batch batch in loader.Epoch(0))
        {
            int[] labels = batch.Labels.ToArray();
            Assert.That(batch.Count, Is.EqualTo(6));
            Assert.That(labels.Skip(3), Is.EqualTo(labels.Take(3)));
        }
    }

    [Test]
    public void WithoutJitter_AViewIsTheNormalisedImage()
    {
        ImageDataset data = TestDatasets.Random(count: 5, height: 28, width: 28, channels: 1, seed: 3);
        float[][] plain = Epoch(data, null, seed: 1, batchSize: 5);
        float[][] views = Epoch(data, new ContrastiveViews("none"), seed: 1, batchSize: 5);
        Assert.That(views[0], Is.EqualTo(plain[0].Concat(plain[0]).ToArray()));
    }

    [Test]
    public void ACropWithoutRotationOrScale_IsAShiftOfTheImage()
    {
        const int size = 28, padding = 2;
        ImageDataset data = TestDatasets.Random(count: 12, height: size, width: size, channels: 1, seed: 4);
        float[] plain = Epoch(data, null, seed: 2, batchSize: 12)[0];
        float[] views = Epoch(data, new ContrastiveViews("crop", CropPadding: padding), seed: 2, batchSize: 12)[0];
        float zero = (float)((0 - Grey.Mean[0]) / Grey.Std[0]);
        for (int v = 0; v < 24; v++)
        {
            int n = v % 12;
            bool found = false;
            for (int dy = -padding; dy <= padding && !found; dy++)
            {
                for (int dx = -padding; dx <= padding && !found; dx++)
                {
                    found = Enumerable.Range(0, size * size).All(i =>
                    {
                        int sy = (i / size) - dy, sx = (i % size) - dx;
                        float want = sy is >= 0 and < size && sx is >= 0 and < size ? plain[(n * size * size) + (sy * size) + sx] : zero;
                        return Math.Abs(views[(v * size * size) + i] - want) < 1e-5;
                    });
                }
            }

            Assert.That(found, Is.True, $"view {v} is no shift of image {n} by at most {padding} pixels");
        }
    }

    [Test]
    public void ColourViews_StayWithinTheNormalisedPixelRange()
    {
        ImageDataset data = TestDatasets.Random(count: 8, height: 32, width: 32, channels: 3, seed: 5);
        float[] views = Epoch(data, ContrastiveViews.Cifar, seed: 3, batchSize: 8)[0];
        for (int i = 0; i < views.Length; i++)
        {
            int c = i % 3;
            double raw = ((views[i] * Colour.Std[c]) + Colour.Mean[c]) * 255;
            Assert.That(raw, Is.InRange(-1e-3, 255 + 1e-3), $"element {i}");
        }
    }

    [Test]
    public void OtherShapes_AreRefusedNamingTheOnesThatWork()
    {
        var error = Assert.Throws<ArgumentException>(() => ContrastiveViews.ForImages(224, 224, 3));
        Assert.That(error!.Message, Does.Contain("28x28x1").And.Contain("32x32x3").And.Contain("224x224x3"));
    }

    [Test]
    public void ViewsAndAugmentation_ExcludeEachOther()
    {
        ImageDataset data = TestDatasets.Random(count: 4, height: 28, width: 28, channels: 1, seed: 6);
        var error = Assert.Throws<ArgumentException>(() => new BatchLoader(data, new BatchLoaderOptions
        {
            BatchSize = 2, Normalization = Grey, Views = ContrastiveViews.Digits, Augmentation = Augmentation.Cifar,
        }));
        Assert.That(error!.Message, Does.Contain("exclude each other"));
    }
}
