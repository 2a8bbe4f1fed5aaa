using ForwardGrad.Interop;
using ForwardGrad.Model;

namespace ForwardGrad.Optim;

/// <summary>
/// SGD with momentum or AdamW over a model's parameters through <c>fg_optimizer_step</c>. The state
/// tensors (momentum / first moment, AdamW second moment) are allocated once, zeroed, in the model's context.
/// A step allocates no managed memory: it passes the raw handles of the model's and its own tensors from two
/// <see cref="HandleTable"/>s built once.
/// </summary>
public sealed class Optimizer : IDisposable
{
    private readonly LocalMixer _model;
    private readonly Tensor[] _first;
    private readonly Tensor[]? _second;
    private readonly HandleTable _stateTable;
    private readonly int[] _decay;
    private int _disposed;
    private IReadOnlyList<ModelParameter>? _trainOnly;
    private Subset? _subset;

    /// <summary>Creates the optimizer and its zeroed state for every parameter of <paramref name="model"/>.</summary>
    public Optimizer(LocalMixer model, OptimizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        _model = model;
        Settings = settings;
        IReadOnlyList<ModelParameter> parameters = model.Parameters;
        _decay = [.. parameters.Select(p => p.IsWeight ? 1 : 0)];
        var state = new List<Tensor>();
        try
        {
            _first = ZeroedLike(parameters, state);
            _second = settings.Kind == OptimizerKind.AdamW ? ZeroedLike(parameters, state) : null;
            // First moments, then second moments: the layout Step passes to fg_optimizer_step.
            _stateTable = new HandleTable([.. state.Select(t => t.Handle)]);
        }
        catch
        {
            state.ForEach(t => t.Dispose());
            throw;
        }
    }

    /// <summary>The hyper-parameters.</summary>
    public OptimizerSettings Settings { get; }

    /// <summary>Number of steps taken (the next step is StepCount + 1).</summary>
    public long StepCount { get; set; }

    /// <summary>
    /// The parameters a step updates (a block pipeline stage's own), or null (the default) for every parameter. The others
    /// and their state are left as they are.
    /// </summary>
    public IReadOnlyList<ModelParameter>? TrainOnly
    {
        get => _trainOnly;
        set
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (value is null)
            {
                _trainOnly = null;
                _subset = null;
                return;
            }

            int count = _first.Length;
            foreach (ModelParameter parameter in value)
            {
                if (parameter.Index < 0 || parameter.Index >= count || !ReferenceEquals(_model.Parameters[parameter.Index], parameter))
                {
                    throw new ArgumentException($"{parameter.Name} is not a parameter of the optimized model.", nameof(value));
                }
            }

            int[] indices = [.. value.Select(p => p.Index).Distinct().Order()];
            ReadOnlySpan<nint> model = _model.ParameterTable.Values, state = _stateTable.Values;
            int n = indices.Length;
            var subset = new Subset(new nint[2 * n], new nint[_second is null ? n : 2 * n], new int[n]);
            for (int i = 0; i < n; i++)
            {
                int index = indices[i];
                subset.Values[i] = model[index];
                subset.Values[n + i] = model[count + index];
                subset.State[i] = state[index];
                if (_second is not null)
                {
                    subset.State[n + i] = state[count + index];
                }

                subset.Decay[i] = _decay[index];
            }

            _trainOnly = [.. indices.Select(i => _model.Parameters[i])];
            _subset = subset;
        }
    }

    /// <summary>Names of the state tensors, per kind: "optim.m" (and "optim.v" for AdamW).</summary>
    public IReadOnlyList<string> StateNames => _second is null ? ["optim.m"] : ["optim.m", "optim.v"];

    /// <summary>Applies one update with learning rate <paramref name="learningRate"/> using the model's gradient buffers.</summary>
    public unsafe void Step(float learningRate)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        int count = _first.Length;
        var native = FgOptimizerParams.Create((int)Settings.Kind);
        native.LearningRate = learningRate;
        native.Momentum = Settings.Momentum;
        native.WeightDecay = Settings.WeightDecay;
        native.Decoupled = Settings.DecoupledSgdDecay ? 1 : 0;
        native.Beta1 = Settings.Beta1;
        native.Beta2 = Settings.Beta2;
        native.Epsilon = Settings.Epsilon;
        native.Step = StepCount + 1;
        HandleTable parameterTable = _model.ParameterTable;
        using var model = _model.Lease();
        using var context = _model.Context.Lease();
        using var parameters = HandleLease.Of(parameterTable);
        using var state = HandleLease.Of(_stateTable);
        // The leases on the full tables keep the subset's handles valid too.
        Subset? subset = _subset;
        if (subset is not null)
        {
            count = subset.Decay.Length;
        }

        fixed (nint* values = subset is null ? parameterTable.Values : subset.Values)
        fixed (nint* moments = subset is null ? _stateTable.Values : subset.State)
        fixed (int* decay = subset is null ? _decay : subset.Decay)
        {
            NativeStatus.Check(NativeMethods.fg_optimizer_step(context.Value, in native, count, values, values + count, moments,
                _second is null ? null : moments + count, decay));
        }

        StepCount++;
    }

    /// <summary>Copies state tensor <paramref name="slot"/> (0 = momentum / first moment, 1 = second moment) of parameter <paramref name="index"/> out.</summary>
    public float[] GetState(int slot, int index) => Slot(slot)[index].ToArray();

    /// <summary>The state tensor <paramref name="slot"/> of parameter <paramref name="index"/> (owned by the optimizer).</summary>
    internal Tensor StateTensor(int slot, int index) => Slot(slot)[index];

    /// <summary>Overwrites state tensor <paramref name="slot"/> of parameter <paramref name="index"/>.</summary>
    public void SetState(int slot, int index, ReadOnlySpan<float> values)
    {
        Tensor tensor = Slot(slot)[index];
        if (values.Length != tensor.ElementCount)
        {
            throw new ArgumentException($"State of {_model.Parameters[index].Name} has {tensor.ElementCount} elements, got {values.Length}.", nameof(values));
        }

        tensor.Upload(values);
    }

    /// <summary>Frees the state tensors.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stateTable.Dispose();
            foreach (Tensor tensor in _first.Concat(_second ?? []))
            {
                tensor.Dispose();
            }
        }
    }

    private static Tensor[] ZeroedLike(IReadOnlyList<ModelParameter> parameters, List<Tensor> created)
    {
        var tensors = new Tensor[parameters.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            ModelParameter parameter = parameters[i];
            tensors[i] = Tensor.Zeros(parameter.Value.Context, parameter.ShapeArray);
            created.Add(tensors[i]);
        }

        return tensors;
    }

    /// <summary>The raw handles of <see cref="TrainOnly"/>: values then gradients, first then second moments, decay flags.</summary>
    private sealed record Subset(nint[] Values, nint[] State, int[] Decay);

    private Tensor[] Slot(int slot) => slot switch
    {
        0 => _first,
        1 when _second is not null => _second,
        _ => throw new ArgumentOutOfRangeException(nameof(slot), slot, $"{Settings.Kind} has {StateNames.Count} state slot(s)."),
    };
}
