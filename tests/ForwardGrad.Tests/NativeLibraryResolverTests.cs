using ForwardGrad.Interop;

namespace ForwardGrad.Tests;

[TestFixture]
public sealed class NativeLibraryResolverTests
{
    private const string FileName = "libforwardgrad.so";

    [Test]
    public void CandidatePaths_FollowTheDocumentedOrder()
    {
        string bogus = Path.Combine(Path.GetTempPath(), "fg-no-such-folder", "nested");
        string assemblyDirectory = Path.Combine(Path.GetTempPath(), "fg-app", "bin");
        var paths = NativeLibraryResolver.CandidatePaths(bogus, assemblyDirectory, assemblyDirectory, FileName);

        Assert.That(paths[0], Is.EqualTo(Path.GetFullPath(bogus)));
        Assert.That(paths[1], Is.EqualTo(Path.Combine(Path.GetFullPath(bogus), FileName)));
        Assert.That(paths[2], Is.EqualTo(Path.Combine(assemblyDirectory, FileName)));
        Assert.That(paths[3], Does.StartWith(Path.Combine(assemblyDirectory, "runtimes")).And.EndWith(Path.Combine("native", FileName)));
        Assert.That(paths, Does.Contain(Path.Combine(assemblyDirectory, "build", "lib", FileName)));
        Assert.That(paths, Does.Contain(Path.Combine(Path.GetTempPath(), "fg-app", "build", "lib", FileName)));
        Assert.That(paths[^1], Is.EqualTo(Path.Combine(Path.GetPathRoot(assemblyDirectory)!, "build", "lib", FileName)));
        Assert.That(paths, Is.Unique);
    }

    [Test]
    public void CandidatePaths_ExistingFolderOrLibraryFile_AreUsedDirectly()
    {
        string folder = TestContext.CurrentContext.WorkDirectory;
        var fromFolder = NativeLibraryResolver.CandidatePaths(folder, folder, folder, FileName);
        Assert.That(fromFolder[0], Is.EqualTo(Path.Combine(Path.GetFullPath(folder), FileName)));

        string file = Path.Combine(Path.GetTempPath(), "elsewhere", "libforwardgrad.so.1");
        var fromFile = NativeLibraryResolver.CandidatePaths(file, folder, folder, FileName);
        Assert.That(fromFile[0], Is.EqualTo(Path.GetFullPath(file)));
        Assert.That(fromFile[1], Is.Not.EqualTo(Path.Combine(Path.GetFullPath(file), FileName)));
    }

    [Test]
    public void CandidatePaths_WithoutVariable_StartAtTheAssemblyFolder()
    {
        string folder = TestContext.CurrentContext.WorkDirectory;
        var paths = NativeLibraryResolver.CandidatePaths(null, folder, folder, FileName);
        Assert.That(paths[0], Is.EqualTo(Path.Combine(Path.GetFullPath(folder), FileName)));
    }

    [Test]
    public void DescribeFailure_ListsEveryPathTried()
    {
        string bogus = Path.Combine(Path.GetTempPath(), "fg-bogus-native-path");
        var paths = NativeLibraryResolver.CandidatePaths(bogus, "/opt/app", "/opt/app/bin", FileName);
        string message = NativeLibraryResolver.DescribeFailure(paths.Select(path => (path, "not found")));
        Assert.That(message, Does.Contain(NativeLibraryResolver.EnvironmentVariable));
        foreach (string path in paths)
        {
            Assert.That(message, Does.Contain(path + ": not found"));
        }
    }
}
