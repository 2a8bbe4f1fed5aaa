using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class IdxFileTests
{
    private TempFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TempFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [TestCase(false)]
    [TestCase(true)]
    public void ReadsImagesAndLabels_RawAndGzip(bool gzip)
    {
        byte[] pixels = DataFiles.RandomBytes(5 * 3 * 4, seed: 1);
        byte[] labels = [3, 0, 9, 1, 7];
        var (images, labelPath) = DataFiles.WriteIdxPair(_folder.Path, "train", pixels, labels, rows: 3, columns: 4, gzip);

        IdxImages read = IdxFile.ReadImages(images);
        Assert.Multiple(() =>
        {
            Assert.That((read.Count, read.Rows, read.Columns), Is.EqualTo((5, 3, 4)));
            Assert.That(read.Pixels, Is.EqualTo(pixels));
            Assert.That(IdxFile.ReadLabels(labelPath), Is.EqualTo(labels));
        });

        ImageDataset data = IdxFile.ReadDataset(images, labelPath, "tiny", classCount: 10);
        Assert.Multiple(() =>
        {
            Assert.That((data.Count, data.Height, data.Width, data.Channels, data.ClassCount), Is.EqualTo((5, 3, 4, 1, 10)));
            Assert.That(data.Labels.ToArray(), Is.EqualTo(new[] { 3, 0, 9, 1, 7 }));
            Assert.That(data.Image(2).ToArray(), Is.EqualTo(pixels[24..36]));
        });
    }

    [Test]
    public void WriterOutput_ReadsBack_AndLeavesNoTemporaryFiles()
    {
        byte[] pixels = DataFiles.RandomBytes(2 * 28 * 28, seed: 2);
        string images = _folder.File("x-images-idx3-ubyte");
        string labels = _folder.File("x-labels-idx1-ubyte");
        IdxFile.WriteImages(images, pixels, 2, 28, 28);
        IdxFile.WriteLabels(labels, [4, 5]);

        Assert.Multiple(() =>
        {
            Assert.That(IdxFile.ReadImages(images).Pixels, Is.EqualTo(pixels));
            Assert.That(IdxFile.ReadLabels(labels), Is.EqualTo(new byte[] { 4, 5 }));
            Assert.That(new FileInfo(images).Length, Is.EqualTo(16 + pixels.Length));
            Assert.That(Directory.GetFiles(_folder.Path), Has.Length.EqualTo(2));
        });
    }

    [Test]
    public void WrongMagic_NamesTheFile()
    {
        var (images, labels) = DataFiles.WriteIdxPair(_folder.Path, "train", new byte[4], [1], 2, 2);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(labels))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.FilePath, Is.EqualTo(labels));
            Assert.That(error.Message, Does.Contain(labels).And.Contain("wrong magic number 0x00000801").And.Contain("IDX label file"));
        });

        var reversed = Assert.Throws<DataFormatException>(() => IdxFile.ReadLabels(images))!;
        Assert.That(reversed.Message, Does.Contain(images).And.Contain("expected 0x00000801"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TruncatedFile_NamesTheFile(bool gzip)
    {
        string path = _folder.File(gzip ? "cut.gz" : "cut");
        DataFiles.WriteIdx(path, 0x803, [3, 2, 2], new byte[10], gzip);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(path))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("truncated"));
    }

    [Test]
    public void CutGzipStream_NamesTheFile()
    {
        string path = _folder.File("cut-stream.gz");
        DataFiles.WriteIdx(path, 0x803, [20, 28, 28], DataFiles.RandomBytes(20 * 784, 4), gzip: true);
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(path))!;
        Assert.That(error.Message, Does.Contain(path));
    }

    [Test]
    public void TruncatedHeader_NamesTheFile()
    {
        string path = _folder.File("header");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0]);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(path))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("truncated"));
    }

    [Test]
    public void ExtraBytes_AreAnError()
    {
        string path = _folder.File("long");
        DataFiles.WriteIdx(path, 0x801, [2], [1, 2, 3]);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadLabels(path))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("more than"));
    }

    [Test]
    public void CorruptGzip_NamesTheFile()
    {
        string path = _folder.File("bad.gz");
        DataFiles.WriteIdx(path, 0x801, [200], DataFiles.RandomBytes(200, 3), gzip: true);
        byte[] bytes = File.ReadAllBytes(path);
        for (int i = 12; i < bytes.Length - 8; i++)
        {
            bytes[i] ^= 0x5A;
        }

        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadLabels(path))!;
        Assert.That(error.Message, Does.Contain(path));
    }

    [Test]
    public void CountMismatch_NamesBothFiles()
    {
        string images = _folder.File("i");
        string labels = _folder.File("l");
        DataFiles.WriteIdx(images, 0x803, [3, 2, 2], new byte[12]);
        DataFiles.WriteIdx(labels, 0x801, [2], [0, 1]);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadDataset(images, labels, "x", 10))!;
        Assert.That(error.Message, Does.Contain(labels).And.Contain(images).And.Contain("2 labels for 3 images"));
    }

    [Test]
    public void LabelOutOfRange_NamesTheFile()
    {
        var (images, labels) = DataFiles.WriteIdxPair(_folder.Path, "t", new byte[8], [1, 10], 2, 2);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadDataset(images, labels, "x", 10))!;
        Assert.That(error.Message, Does.Contain(labels).And.Contain("label 10 of item 1 is out of range"));
    }

    [Test]
    public void MissingFile_SaysWhatToDo()
    {
        string path = _folder.File("absent");
        var error = Assert.Throws<DatasetNotFoundException>(() => IdxFile.ReadImages(path, "run ./build.sh data"))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("not found").And.Contain("run ./build.sh data"));
    }
}
