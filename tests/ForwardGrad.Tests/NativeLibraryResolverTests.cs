using ForwardGrad.Interop;

namespace ForwardGrad.Tests;

[TestFixture]
public sealed class NativeLibraryResolverTests
{
    private const string FileName = "libforwardgrad.so";

    private static readonly string AppDirectory = Path.Combine(Path.GetTempPath(), "fg-app", "bin");

    [Test]
    public void CandidatePaths_FollowTheDocumentedOrder()
    {
        string bogus = Path.Combine(Path.GetTempPath(), "fg-no-such-folder", "nested");
        string development = Path.Combine(Path.GetTempPath(), "fg-repo", "build", "lib");
        var paths = NativeLibraryResolver.CandidatePaths(bogus, AppDirectory, development, FileName);

        Assert.That(paths[0], Is.EqualTo(Path.GetFullPath(bogus)));
        Assert.That(paths[1], Is.EqualTo(Path.Combine(Path.GetFullPath(bogus), FileName)));
        Assert.That(paths[2], Is.EqualTo(Path.Combine(AppDirectory, FileName)));
        Assert.That(paths.Skip(3).Take(paths.Count - 4),
            Has.All.StartWith(Path.Combine(AppDirectory, "runtimes")).And.All.EndWith(Path.Combine("native", FileName)));
        Assert.That(paths[^1], Is.EqualTo(Path.Combine(development, FileName)));
        Assert.That(paths, Is.Unique);
    }

    [Test]
    public void CandidatePaths_OfAPackedBuild_StayInsideTheAppAndTheVariable()
    {
        // Nothing above or beside the app: a library planted in ../build/lib or ../../build/lib is never a candidate.
        string variable = Path.Combine(Path.GetTempPath(), "fg-chosen");
        var paths = NativeLibraryResolver.CandidatePaths(variable, AppDirectory, developmentDirectory: null, FileName);

        Assert.That(paths, Has.All.StartWith(AppDirectory + Path.DirectorySeparatorChar).Or.StartWith(variable));
        Assert.That(paths, Has.None.Contains(Path.Combine("build", "lib")));
        Assert.That(NativeLibraryResolver.CandidatePaths(null, AppDirectory, null, FileName),
            Has.All.StartWith(AppDirectory + Path.DirectorySeparatorChar));
    }

    [Test]
    public void CandidatePaths_ExistingFolderOrLibraryFile_AreUsedDirectly()
    {
        string folder = TestContext.CurrentContext.WorkDirectory;
        var fromFolder = NativeLibraryResolver.CandidatePaths(folder, folder, null, FileName);
        Assert.That(fromFolder[0], Is.EqualTo(Path.Combine(Path.GetFullPath(folder), FileName)));

        string file = Path.Combine(Path.GetTempPath(), "elsewhere", "libforwardgrad.so.1");
        var fromFile = NativeLibraryResolver.CandidatePaths(file, folder, null, FileName);
        Assert.That(fromFile[0], Is.EqualTo(Path.GetFullPath(file)));
        Assert.That(fromFile[1], Is.Not.EqualTo(Path.Combine(Path.GetFullPath(file), FileName)));
    }

    [Test]
    public void CandidatePaths_WithoutVariable_StartAtTheAssemblyFolder()
    {
        string folder = TestContext.CurrentContext.WorkDirectory;
        var paths = NativeLibraryResolver.CandidatePaths(null, folder, null, FileName);
        Assert.That(paths[0], Is.EqualTo(Path.Combine(Path.GetFullPath(folder), FileName)));
    }

    [Test]
    public void DevelopmentBuild_RecordsTheRepositoryBuildFolder()
    {
        // These tests run against a development build, which records where CMake put the library.
        string? development = NativeLibraryResolver.DevelopmentDirectory(typeof(NativeLibraryResolver).Assembly);
        Assert.That(development, Is.Not.Null);
        Assert.That(Path.IsPathRooted(development), Is.True, development);
        Assert.That(File.Exists(Path.Combine(development!, NativeLibraryResolver.PlatformFileName)), Is.True,
            $"{development} should hold the library this test run uses");
    }

    [Test]
    public void DescribeFailure_NamesThePackageTheVariableAndEveryPathTried()
    {
        string bogus = Path.Combine(Path.GetTempPath(), "fg-bogus-native-path");
        var paths = NativeLibraryResolver.CandidatePaths(bogus, "/opt/app", null, FileName);
        string message = NativeLibraryResolver.DescribeFailure(paths.Select(path => (path, "not found")), developmentBuild: false);
        Assert.That(message, Does.Contain(NativeLibraryResolver.EnvironmentVariable));
        Assert.That(message, Does.Contain("ForwardGrad.Native package"));
        Assert.That(message, Does.Not.Contain("build.sh"), "a consumer's app has no build script");
        Assert.That(message, Does.Not.Contain("OpenBLAS"));
        foreach (string path in paths)
        {
            Assert.That(message, Does.Contain(path + ": not found"));
        }

        string development = NativeLibraryResolver.DescribeFailure([("/repo/build/lib/" + FileName, "not found")], developmentBuild: true);
        Assert.That(development, Does.Contain("./build.sh build"));
    }

    [Test]
    public void DescribeFailure_WhenTheLoaderMissesOpenBlas_SaysWhichPackageToInstall()
    {
        const string loader = "/app/libforwardgrad.so: libopenblas.so.0: cannot open shared object file: No such file or directory";
        string message = NativeLibraryResolver.DescribeFailure([("/app/" + FileName, "exists but could not be loaded: " + loader)], developmentBuild: false);
        Assert.That(message, Does.Contain(loader));
        Assert.That(message, Does.Contain("apt-get install libopenblas0"));
    }
}
