using System.Globalization;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary><c>fgrad eval</c>.</summary>
public sealed class EvalCommand : ICommand<EvalOptions>
{
    /// <inheritdoc />
    public int Run(EvalOptions options, TextWriter output)
    {
        using var opened = OpenedCheckpoint.Open(options, output);
        double error = Trainer.Evaluate(opened.Model, opened.Data.Test, opened.Normalization);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{opened.Checkpoint.Method ?? "?"} {opened.Model.Config.Name} step {opened.Checkpoint.Step} on {opened.Data.Spec.Name} ({opened.Data.Test.Count} test images): test error {error:F2}%"));
        return ExitCodes.Success;
    }
}
