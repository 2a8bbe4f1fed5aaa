namespace ForwardGrad.Experiments;

/// <summary>The paper's Table 3 for MNIST: test / train error, percent, full MNIST (60,000 training images).</summary>
public static class PaperResults
{
    private static readonly Dictionary<(string Method, string Model), (double Test, double Train)> Mnist = new()
    {
        [("BP", "S/1/1")] = (2.66, 0.00), [("BP", "M/1/16")] = (2.41, 0.00),
        [("L-BP", "S/1/1")] = (2.38, 0.00), [("L-BP", "M/1/16")] = (2.16, 0.00),
        [("LG-BP", "S/1/1")] = (2.43, 0.00), [("LG-BP", "M/1/16")] = (2.81, 0.00),
        [("FA", "S/1/1")] = (2.82, 0.00), [("FA", "M/1/16")] = (2.90, 0.00),
        [("DFA", "S/1/1")] = (3.31, 0.00), [("DFA", "M/1/16")] = (3.17, 0.00),
        [("FG-W", "S/1/1")] = (9.25, 8.93), [("FG-W", "M/1/16")] = (8.56, 8.64),
        [("FG-A", "S/1/1")] = (3.24, 1.53), [("FG-A", "M/1/16")] = (3.76, 1.75),
        [("LG-FG-W", "S/1/1")] = (9.25, 8.93), [("LG-FG-W", "M/1/16")] = (5.66, 4.59),
        [("LG-FG-A", "S/1/1")] = (3.24, 1.53), [("LG-FG-A", "M/1/16")] = (2.55, 0.00),
    };

    /// <summary>The paper's MNIST test / train error of <paramref name="method"/> on <paramref name="model"/>, if it reports one.</summary>
    public static (double Test, double Train)? MnistError(string method, string model) =>
        Mnist.TryGetValue((method, model), out var value) ? value : null;
}
