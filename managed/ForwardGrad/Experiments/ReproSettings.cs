using System.Globalization;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Experiments;

/// <summary>
/// The grid of <c>fgrad repro</c>: methods x models x data sets x learning rates, and how each run trains.
/// Every run holds <see cref="ValidationFraction"/> of the training set out (seeded by the training options' seed); the
/// learning rate of each (method, model, data set) is chosen on that validation set, never on the test set.
/// </summary>
public sealed record ReproSettings
{
    /// <summary>Methods, paper names, in the order given (reports always use paper order).</summary>
    public IReadOnlyList<string> Methods { get; init; } = [.. TrainingMethods.ForwardGradientComparison.Select(m => m.PaperName())];

    /// <summary>Model presets.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["S/1/1", "M/1/16"];

    /// <summary>Data set names.</summary>
    public IReadOnlyList<string> Datasets { get; init; } = ["mnist-sample"];

    /// <summary>Learning rates swept for every method; null: <see cref="LearningRateSweeps.Default"/> per method.</summary>
    public IReadOnlyList<double>? LearningRates { get; init; }

    /// <summary>Learning rates per method (paper name), taking precedence over <see cref="LearningRates"/>; see <see cref="FromChosen"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double>>? LearningRatesByMethod { get; init; }

    /// <summary>
    /// How every run trains (epochs, batch, K, seed, device, threads, schedule, ...): <see cref="DefaultTraining"/>
    /// unless set. Its dataset, model, method and learning rate are replaced per run by the grid's.
    /// </summary>
    public TrainerOptions Training { get; init; } = DefaultTraining;

    /// <summary>The trainer's defaults with 5 epochs per run, the grid's default.</summary>
    public static TrainerOptions DefaultTraining { get; } = new() { Epochs = 5 };

    /// <summary>Fraction of the training set held out for validation.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>The blocks' local losses of every run, from <see cref="Training"/>.</summary>
    public LocalLoss Loss => LocalLosses.Parse(Training.Loss);

    /// <summary>Contrastive grids: epochs of the linear readout trained on each run's frozen features.</summary>
    public int ReadoutEpochs { get; init; } = 10;

    /// <summary>Contrastive grids: the readout's SGD learning rate (momentum 0.9, constant).</summary>
    public double ReadoutLearningRate { get; init; } = 0.1;

    /// <summary>The methods that train the contrastive local loss, and the default of a contrastive grid.</summary>
    public static IReadOnlyList<string> ContrastiveMethods { get; } = ["BP", "LG-BP", "LG-FG-A"];

    /// <summary>True when <paramref name="run"/> belongs to this grid (any learning rate).</summary>
    public bool Covers(RunRecord run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return ParsedMethods().Any(m => m.PaperName() == run.Method)
            && Models.Any(m => LocalMixerConfig.Preset(m).Name == run.Model)
            && Datasets.Any(d => string.Equals(d, run.Dataset, StringComparison.OrdinalIgnoreCase))
            && run.Epochs == Training.Epochs && run.Tangents == Training.Tangents && run.BatchSize == Training.BatchSize && run.Seed == Training.Seed
            && run.MaxSteps == Training.MaxSteps
            && run.Loss == Loss.Name()
            && (Loss != LocalLoss.Contrastive || (run.ReadoutEpochs == ReadoutEpochs && run.ReadoutLearningRate == ReadoutLearningRate));
    }

    /// <summary>The methods, parsed and in paper order.</summary>
    public IReadOnlyList<TrainingMethod> ParsedMethods() =>
        [.. Methods.Select(TrainingMethods.Parse).Distinct().OrderBy(m => TrainingMethods.All.ToList().IndexOf(m))];

    /// <summary>The learning rates swept for <paramref name="method"/>.</summary>
    public IReadOnlyList<double> LearningRatesFor(TrainingMethod method) =>
        LearningRatesByMethod is not null && LearningRatesByMethod.TryGetValue(method.PaperName(), out var chosen) ? chosen
        : LearningRates ?? LearningRateSweeps.Default(method);

    /// <summary>
    /// The learning rate each method's validation chose in an earlier grid's runs (for <paramref name="model"/>, else any
    /// model; on several data sets the first), to reuse it on a larger data set without a sweep there.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<double>> FromChosen(IEnumerable<RunRecord> runs, string model)
    {
        string name = LocalMixerConfig.Preset(model).Name;
        var chosen = BestRunSelector.Select(runs).Values.Where(r => !r.Diverged).ToList();
        var result = new Dictionary<string, IReadOnlyList<double>>();
        foreach (var group in chosen.GroupBy(r => r.Method))
        {
            RunRecord pick = group.FirstOrDefault(r => r.Model == name) ?? group.First();
            result[group.Key] = [pick.LearningRate];
        }

        return result;
    }

    /// <summary>Throws <see cref="ArgumentException"/> for an unusable grid.</summary>
    public void Validate()
    {
        if (Methods.Count == 0 || Models.Count == 0 || Datasets.Count == 0)
        {
            throw new ArgumentException("The grid is empty: give at least one method, model and data set.");
        }

        _ = ParsedMethods();
        foreach (string model in Models)
        {
            _ = LocalMixerConfig.Preset(model);
        }

        if (LearningRates is { Count: 0 } || (LearningRates?.Any(lr => !(lr > 0)) ?? false))
        {
            throw new ArgumentException("Learning rates must be positive.");
        }

        if (!(ValidationFraction > 0 && ValidationFraction < 1))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The validation fraction must be in (0, 1), got {ValidationFraction}."));
        }

        Training.Validate(modelPreset: false);
        if (Loss == LocalLoss.Contrastive)
        {
            ValidateContrastive();
        }
    }

    // What a contrastive grid needs beyond the trainer's own checks, named with the flag that fixes it.
    private void ValidateContrastive()
    {
        var refused = ParsedMethods().Where(m => !LocalLoss.Contrastive.Trains(m)).Select(m => m.PaperName()).ToList();
        if (refused.Count > 0)
        {
            throw new ArgumentException($"--loss contrastive trains with LG-FG-A or the backprop family (BP, L-BP, LG-BP); --methods has {string.Join(", ", refused)}: drop them (default for contrastive: {string.Join(",", ContrastiveMethods)}).");
        }

        foreach (string dataset in Datasets)
        {
            if (DatasetCatalog.All.FirstOrDefault(d => string.Equals(d.Name, dataset, StringComparison.OrdinalIgnoreCase)) is { } spec)
            {
                try
                {
                    _ = ContrastiveViews.ForImages(spec.Height, spec.Width, spec.Channels);
                }
                catch (ArgumentException error)
                {
                    throw new ArgumentException($"--loss contrastive on {spec.Name}: {error.Message}");
                }
            }
        }

        if (ReadoutEpochs < 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--readout-epochs must be a positive integer; got {ReadoutEpochs}."));
        }

        if (!(double.IsFinite(ReadoutLearningRate) && ReadoutLearningRate > 0))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--readout-lr must be a finite number > 0; got {ReadoutLearningRate:R}."));
        }

        if (Training.BatchSize % 2 != 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--loss contrastive needs an even --batch-size (the readout trains on pairs too); got {Training.BatchSize}."));
        }
    }

    /// <summary>Parses "a,b, c" into its trimmed, non-empty items.</summary>
    public static IReadOnlyList<string> SplitList(string text) =>
        [.. text.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>Parses "0.01,0.1" into numbers (invariant culture).</summary>
    public static IReadOnlyList<double> ParseNumbers(string text) =>
        [.. SplitList(text).Select(item => double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw new ArgumentException($"'{item}' is not a number (in '{text}')."))];
}

/// <summary>The default learning-rate sweep of each method (SGD, momentum 0.9, batch 128, cosine schedule).</summary>
public static class LearningRateSweeps
{
    /// <summary>
    /// Three values a factor of about 3 apart, centred where the method trains on MNIST-sized data: backprop
    /// around 0.1; activity-perturbed forward gradient a little lower for FG-A (its estimate is noisier), at 0.1
    /// for LG-FG-A; weight-perturbed forward gradient much lower, as its variance grows with the number of weights;
    /// the feedback-alignment methods higher than backprop (on the MNIST sample they chose the top of 0.03-0.3 for FA and
    /// of 0.01-0.1 for DFA).
    /// </summary>
    public static IReadOnlyList<double> Default(TrainingMethod method) => method switch
    {
        TrainingMethod.BP or TrainingMethod.LBP or TrainingMethod.LGBP => [0.03, 0.1, 0.3],
        TrainingMethod.FGA => [0.01, 0.03, 0.1],
        TrainingMethod.LGFGA => [0.03, 0.1, 0.3],
        TrainingMethod.FGW or TrainingMethod.LGFGW => [0.01, 0.03, 0.1],
        TrainingMethod.FA or TrainingMethod.LFA or TrainingMethod.LGFA => [0.1, 0.3, 1.0],
        TrainingMethod.DFA => [0.03, 0.1, 0.3],
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };
}
