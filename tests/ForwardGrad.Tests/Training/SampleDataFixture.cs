namespace ForwardGrad.Tests.Training;

/// <summary>
/// A fresh temporary folder with a small sample data set in it (<see cref="TrainingFixtures.WriteSampleData"/>) for each
/// test, removed afterwards: the setting of the run-folder, resume and validation tests.
/// </summary>
public abstract class SampleDataFixture
{
    /// <summary>The test's temporary folder.</summary>
    protected string Folder { get; private set; } = "";

    /// <summary>The data folder inside it (pass as --data-dir).</summary>
    protected string DataDir { get; private set; } = "";

    /// <summary>Creates the folder and writes the data.</summary>
    [SetUp]
    public void CreateSampleData()
    {
        Folder = TrainingFixtures.TempFolder();
        DataDir = TrainingFixtures.WriteSampleData(Folder);
    }

    /// <summary>Removes the folder.</summary>
    [TearDown]
    public void DeleteSampleData() => Directory.Delete(Folder, recursive: true);
}
