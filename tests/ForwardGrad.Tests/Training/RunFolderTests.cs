using System.Diagnostics;
using ForwardGrad.Tests.Support;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

/// <summary>A run folder belongs to one run: refusals, the lock, --overwrite, stale temporary files.</summary>
[TestFixture]
public sealed class RunFolderTests : SampleDataFixture
{
    private string _run = "";

    [SetUp]
    public void NameTheRun() => _run = Path.Combine(Folder, "run");

    private (int Code, string Output, string Error) Train(params string[] more) => CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, more));

    [Test]
    public void InvalidOptions_LeaveAnExistingRunUntouched()
    {
        Assert.That(Train("--max-steps", "3", "--out", _run).Code, Is.Zero);
        var before = TrainingFixtures.Snapshot(_run);

        var (code, _, error) = Train("--lr", "-1", "--out", _run);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Is.EqualTo("fgrad: error: --lr must be a finite number > 0; got -1."));
        Assert.That(TrainingFixtures.Snapshot(_run), Is.EquivalentTo(before));
    }

    [Test]
    public void NewRunIntoAFolderHoldingARun_IsRefused_AndLeavesItResumable()
    {
        Assert.That(Train("--max-steps", "3", "--out", _run).Code, Is.Zero);
        var before = TrainingFixtures.Snapshot(_run);

        var (code, _, error) = Train("--method", "BP", "--out", _run);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("already holds a run").And.Contain("--resume").And.Contain("--overwrite"));
        var after = TrainingFixtures.Snapshot(_run);
        Assert.That(after.Keys.Where(k => k != RunFolder.HolderFile), Is.EquivalentTo(before.Keys.Where(k => k != RunFolder.HolderFile)));
        foreach (string file in RunFolder.RunFiles)
        {
            Assert.That(after[file], Is.EqualTo(before[file]), file);
        }

        Assert.That(Train("--resume", _run).Code, Is.Zero, "the run can still be resumed");
    }

    [Test]
    public void Overwrite_MovesTheOldRunAsideAndStartsAfresh()
    {
        Assert.That(Train("--max-steps", "3", "--out", _run).Code, Is.Zero);
        byte[] oldCheckpoint = File.ReadAllBytes(Path.Combine(_run, RunFolder.CheckpointFileName));

        var (code, _, error) = Train("--method", "BP", "--max-steps", "2", "--overwrite", "--out", _run);

        Assert.That(code, Is.Zero, error);
        string aside = Directory.GetDirectories(_run, "replaced-*").Single();
        Assert.That(File.ReadAllBytes(Path.Combine(aside, RunFolder.CheckpointFileName)), Is.EqualTo(oldCheckpoint));
        Assert.That(File.ReadAllText(Path.Combine(aside, RunConfig.FileName)), Does.Contain("\"method\": \"LG-FG-A\""));
        Assert.That(RunConfig.Read(_run).Method, Is.EqualTo("BP"));
        Assert.That(MetricsFile.Read(Path.Combine(_run, MetricsFile.FileName)).Single().Step, Is.EqualTo(2));
    }

    [Test]
    public void SecondWriter_IsRefusedNamingTheHolder_UntilTheFirstReleases()
    {
        using (RunFolder.Take(_run, RunStart.New))
        {
            var (code, _, error) = Train("--out", _run);
            Assert.That(code, Is.EqualTo(1));
            Assert.That(error.Split('\n')[0], Does.Contain("is in use by another run").And.Contain($"pid {Environment.ProcessId} on {Environment.MachineName}"));
            Assert.That(RunFolder.HoldsRun(_run), Is.False, "the refused writer wrote nothing");
        }

        Assert.That(Train("--max-steps", "1", "--out", _run).Code, Is.Zero, "the lock is released with the holder");
    }

    [Test]
    public void SecondProcess_IsRefusedWhileTheFirstTrains_AndTheFirstRunIsIntact()
    {
        using Process first = FgradProcess.Start(null, TrainingFixtures.TinyTrain(DataDir, "--epochs", "1000", "--threads", "1", "--out", _run));
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(_run, MetricsFile.FileName)) && !first.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                Thread.Sleep(50);
            }

            Assert.That(first.HasExited, Is.False, "the first run is still training");
            var (code, _, error) = Train("--method", "BP", "--overwrite", "--out", _run);

            Assert.That(code, Is.EqualTo(1));
            Assert.That(error.Split('\n')[0], Does.Contain("is in use by another run").And.Contain($"pid {first.Id} "));
            Assert.That(Directory.GetDirectories(_run), Is.Empty, "--overwrite moved nothing");
            Assert.That(RunConfig.Read(_run).Method, Is.EqualTo("LG-FG-A"));
        }
        finally
        {
            first.Kill();
            first.WaitForExit();
        }
    }

    [Test]
    public void ResumeOfAFolderWithoutARun_IsRefused()
    {
        Directory.CreateDirectory(_run);
        var (code, _, error) = Train("--resume", _run);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Does.Contain("config.json is missing"));
        Assert.That(Directory.EnumerateFileSystemEntries(_run), Is.Empty);
    }

    [Test]
    public void StaleTemporaryFiles_AreRemovedWhenTheFolderIsTaken()
    {
        Assert.That(Train("--max-steps", "3", "--out", _run).Code, Is.Zero);
        string stale = Path.Combine(_run, ".checkpoint.safetensors.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(stale, new byte[1000]);
        string keep = Path.Combine(_run, "notes.tmp");
        File.WriteAllText(keep, "not ours");

        Assert.That(Train("--resume", _run, "--max-steps", "4").Code, Is.Zero);

        Assert.That(File.Exists(stale), Is.False);
        Assert.That(File.Exists(keep), Is.True);
    }
}
