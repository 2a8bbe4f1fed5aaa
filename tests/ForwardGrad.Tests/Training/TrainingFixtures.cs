using ForwardGrad.Tests.Data;
using ForwardGrad.Data;

namespace ForwardGrad.Tests.Training;

internal static class TrainingFixtures
{
    /// <summary>A learnable 28x28 data set: class c lights a 6x6 square at a class-specific place, plus noise.</summary>
    public static ImageDataset Synthetic(string name, int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * 784];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % 10;
            labels[i] = c;
            for (int p = 0; p < 784; p++)
            {
                pixels[i * 784 + p] = (byte)random.Next(0, 40);
            }

            int top = 2 + (c / 5) * 12, left = 2 + (c % 5) * 5;
            for (int y = 0; y < 6; y++)
            {
                for (int x = 0; x < 4; x++)
                {
                    pixels[i * 784 + (top + y) * 28 + left + x] = 255;
                }
            }
        }

        return new ImageDataset(name, pixels, labels, count, 28, 28, 1, 10);
    }

    public static DatasetSplits Splits(int train = 96, int test = 40) =>
        new(DatasetCatalog.Get("mnist-sample"), "synthetic", Synthetic("synthetic/train", train, 1), Synthetic("synthetic/test", test, 2));

    /// <summary>Writes the four IDX files of <paramref name="splits"/> into <paramref name="folder"/>.</summary>
    public static void WriteIdx(string folder, DatasetSplits splits)
    {
        Directory.CreateDirectory(folder);
        Write(folder, "train", splits.Train);
        Write(folder, "t10k", splits.Test);
    }

    private static void Write(string folder, string prefix, ImageDataset data)
    {
        byte[] labels = new byte[data.Count];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = (byte)data.Labels[i];
        }

        DataFiles.WriteIdxPair(folder, prefix, data.Pixels.ToArray(), labels, 28, 28);
    }

    /// <summary>Writes <see cref="Splits"/> as an mnist-sample folder under <paramref name="folder"/>/data and returns that data folder.</summary>
    public static string WriteSampleData(string folder, int train = 96, int test = 40)
    {
        string dataDir = Path.Combine(folder, "data");
        WriteIdx(Path.Combine(dataDir, "mnist-sample"), Splits(train, test));
        return dataDir;
    }

    /// <summary>
    /// fgrad train arguments of a small S/1/1 run (6 batches of 16 per epoch on <see cref="Splits"/>); an option in
    /// <paramref name="more"/> replaces the default one of the same name.
    /// </summary>
    public static string[] TinyTrain(string dataDir, params string[] more)
    {
        string[][] defaults = [["--data-dir", dataDir], ["--model", "S/1/1"], ["--batch-size", "16"], ["--tangents", "2"], ["--lr", "0.05"], ["--seed", "11"]];
        return ["train", .. defaults.Where(pair => !more.Contains(pair[0])).SelectMany(pair => pair), .. more];
    }

    /// <summary>Every file under <paramref name="folder"/> (relative path) with its bytes.</summary>
    public static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    public static string TempFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "fg-training-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
