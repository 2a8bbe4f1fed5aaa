namespace ForwardGrad.Data;

/// <summary>What <see cref="MnistNpmImporter.Import"/> wrote.</summary>
/// <param name="Directory">The folder that now holds the four IDX files.</param>
/// <param name="TrainCount">Images in <c>train-images-idx3-ubyte</c>.</param>
/// <param name="TestCount">Images in <c>t10k-images-idx3-ubyte</c>.</param>
/// <param name="PerDigit">Images the package held for each digit 0..9.</param>
public sealed record MnistNpmImport(string Directory, int TrainCount, int TestCount, IReadOnlyList<int> PerDigit);
