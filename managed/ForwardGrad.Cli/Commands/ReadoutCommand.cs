using System.Globalization;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad readout</c>: linear evaluation of a checkpoint's features (see <see cref="LinearReadout"/>).</summary>
public sealed class ReadoutCommand : ICommand<ReadoutOptions>
{
    /// <inheritdoc />
    public int Run(ReadoutOptions options, TextWriter output)
    {
        using var opened = OpenedCheckpoint.Open(options, output);
        double error = LinearReadout.Train(opened.Model, opened.Data, opened.Normalization, options.Epochs, options.LearningRate, options.BatchSize,
            options.Seed, output.WriteLine);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{opened.Checkpoint.Method ?? "?"} {opened.Model.Config.Name} step {opened.Checkpoint.Step} ({opened.Model.Config.Loss.Name()} local losses) on {opened.Data.Spec.Name}: linear readout test error {error:F2}% after {options.Epochs} epochs"));
        return ExitCodes.Success;
    }
}
