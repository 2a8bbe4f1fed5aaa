using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class CifarBinaryTests
{
    private TempFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TempFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public void ReadsRecords_AndInterleavesPlanesToHwc()
    {
        byte[][] planes = [DataFiles.RandomBytes(3072, 10), DataFiles.RandomBytes(3072, 11), DataFiles.RandomBytes(3072, 12)];
        string first = _folder.File("data_batch_1.bin");
        string second = _folder.File("data_batch_2.bin");
        DataFiles.WriteCifar(first, [6, 9], planes[..2]);
        DataFiles.WriteCifar(second, [0], planes[2..]);

        ImageDataset data = CifarBinary.Read([first, second], "cifar-test");

        Assert.Multiple(() =>
        {
            Assert.That((data.Count, data.Height, data.Width, data.Channels, data.ClassCount), Is.EqualTo((3, 32, 32, 3, 10)));
            Assert.That(data.Labels.ToArray(), Is.EqualTo(new[] { 6, 9, 0 }));
        });
        for (int n = 0; n < 3; n++)
        {
            ReadOnlySpan<byte> image = data.Image(n);
            foreach ((int y, int x) in new[] { (0, 0), (0, 31), (17, 5), (31, 31) })
            {
                for (int c = 0; c < 3; c++)
                {
                    byte expected = planes[n][(c * 1024) + (y * 32) + x];
                    Assert.That(image[(((y * 32) + x) * 3) + c], Is.EqualTo(expected), $"image {n} pixel ({y}, {x}) channel {c}");
                }
            }
        }
    }

    [Test]
    public void TruncatedRecord_NamesTheFile()
    {
        string path = _folder.File("data_batch_1.bin");
        DataFiles.WriteCifar(path, [1], [DataFiles.RandomBytes(3000, 1)]);
        var error = Assert.Throws<DataFormatException>(() => CifarBinary.Read([path], "x"))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("not a whole number of 3073-byte"));
    }

    [Test]
    public void LabelOutOfRange_NamesTheFile()
    {
        string path = _folder.File("test_batch.bin");
        DataFiles.WriteCifar(path, [3, 10], [new byte[3072], new byte[3072]]);
        var error = Assert.Throws<DataFormatException>(() => CifarBinary.Read([path], "x"))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("label 10 of item 1 is out of range"));
    }

    [Test]
    public void MissingFile_SaysWhereToPutIt()
    {
        string path = _folder.File("data_batch_3.bin");
        var error = Assert.Throws<DatasetNotFoundException>(() => CifarBinary.Read([path], "x"))!;
        Assert.That(error.Message, Does.Contain(path).And.Contain("CIFAR-10 binary"));
    }
}
