namespace ForwardGrad.Cli.Commands;

/// <summary>Every verb of <c>fgrad</c>: its options type and the command that runs it. Add new verbs here.</summary>
public static class CommandTable
{
    private static readonly Dictionary<Type, Func<CommandOptions, TextWriter, int>> Commands = new()
    {
        [typeof(InfoOptions)] = Bind(new InfoCommand()),
        [typeof(DataOptions)] = Bind(new DataCommand()),
        [typeof(TrainOptions)] = Bind(new TrainCommand()),
        [typeof(EvalOptions)] = Bind(new EvalCommand()),
        [typeof(ReadoutOptions)] = Bind(new ReadoutCommand()),
        [typeof(ReproOptions)] = Bind(new ReproCommand()),
    };

    /// <summary>The options types, in the order the help lists them.</summary>
    public static Type[] OptionTypes { get; } = [.. Commands.Keys];

    /// <summary>Runs the command registered for the type of <paramref name="options"/>.</summary>
    public static int Run(CommandOptions options, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Commands.TryGetValue(options.GetType(), out var command))
        {
            throw new InvalidOperationException($"No command is registered for {options.GetType().Name}.");
        }

        return command(options, output);
    }

    private static Func<CommandOptions, TextWriter, int> Bind<TOptions>(ICommand<TOptions> command)
        where TOptions : CommandOptions
        => (options, output) => command.Run((TOptions)options, output);
}
