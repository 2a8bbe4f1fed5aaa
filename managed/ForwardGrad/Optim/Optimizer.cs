using ForwardGrad.Interop;
using ForwardGrad.Model;

namespace ForwardGrad.Optim;

/// <summary>
/// SGD with momentum or AdamW over a model's parameters through <c>fg_optimizer_step</c>. The state
/// tensors (momentum / first moment, AdamW second moment) are allocated once, zeroed, in the model's context.
/// </summary>
public sealed class Optimizer : IDisposable
{
    private readonly LocalMixer _model;
    private readonly BufferHandle[] _state1;
    private readonly BufferHandle[]? _state2;
    private readonly int[] _decay;
    private int _disposed;

    /// <summary>Creates the optimizer and its zeroed state for every parameter of <paramref name="model"/>.</summary>
    public Optimizer(LocalMixer model, OptimizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        _model = model;
        Settings = settings;
        int count = model.Parameters.Count;
        _state1 = new BufferHandle[count];
        _state2 = settings.Kind == OptimizerKind.AdamW ? new BufferHandle[count] : null;
        _decay = [.. model.Parameters.Select(p => p.IsWeight ? 1 : 0)];
        using (model.Context.Lease())
        {
            for (int i = 0; i < count; i++)
            {
                _state1[i] = Zeroed(model.Parameters[i].Elements);
                if (_state2 is not null)
                {
                    _state2[i] = Zeroed(model.Parameters[i].Elements);
                }
            }
        }
    }

    /// <summary>The hyper-parameters.</summary>
    public OptimizerSettings Settings { get; }

    /// <summary>Number of steps taken (the next step is StepCount + 1).</summary>
    public long StepCount { get; set; }

    /// <summary>Names of the state tensors, per kind: "optim.m" (and "optim.v" for AdamW).</summary>
    public IReadOnlyList<string> StateNames => _state2 is null ? ["optim.m"] : ["optim.m", "optim.v"];

    /// <summary>Applies one update with learning rate <paramref name="learningRate"/> using the model's gradient buffers.</summary>
    public unsafe void Step(float learningRate)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        int count = _state1.Length;
        var native = FgOptimizerParams.Create((int)Settings.Kind);
        native.LearningRate = learningRate;
        native.Momentum = Settings.Momentum;
        native.WeightDecay = Settings.WeightDecay;
        native.Decoupled = Settings.DecoupledSgdDecay ? 1 : 0;
        native.Beta1 = Settings.Beta1;
        native.Beta2 = Settings.Beta2;
        native.Epsilon = Settings.Epsilon;
        native.Step = StepCount + 1;
        nint* parameters = stackalloc nint[count];
        nint* grads = stackalloc nint[count];
        nint* state1 = stackalloc nint[count];
        nint* state2 = stackalloc nint[count];
        bool[] added1 = new bool[count];
        bool[] added2 = new bool[count];
        using var model = _model.Lease();
        using var context = _model.Context.Lease();
        try
        {
            for (int i = 0; i < count; i++)
            {
                parameters[i] = _model.Parameters[i].ValueBuffer;
                grads[i] = _model.Parameters[i].GradientBuffer;
                _state1[i].DangerousAddRef(ref added1[i]);
                state1[i] = _state1[i].DangerousGetHandle();
                if (_state2 is not null)
                {
                    _state2[i].DangerousAddRef(ref added2[i]);
                    state2[i] = _state2[i].DangerousGetHandle();
                }
            }

            fixed (int* decay = _decay)
            {
                NativeStatus.Check(NativeMethods.fg_optimizer_step(context.Value, in native, count, parameters, grads, state1,
                    _state2 is null ? null : state2, decay));
            }
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                if (added1[i])
                {
                    _state1[i].DangerousRelease();
                }

                if (added2[i])
                {
                    _state2![i].DangerousRelease();
                }
            }
        }

        StepCount++;
    }

    /// <summary>Copies state tensor <paramref name="slot"/> (0 = momentum / first moment, 1 = second moment) of parameter <paramref name="index"/> out.</summary>
    public unsafe float[] GetState(int slot, int index)
    {
        BufferHandle buffer = Slot(slot)[index];
        var result = new float[_model.Parameters[index].Elements];
        using var lease = HandleLease.Of(buffer);
        fixed (float* data = result)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_download(lease.Value, 0, data, (ulong)(result.Length * sizeof(float))));
        }

        return result;
    }

    /// <summary>Overwrites state tensor <paramref name="slot"/> of parameter <paramref name="index"/>.</summary>
    public unsafe void SetState(int slot, int index, ReadOnlySpan<float> values)
    {
        BufferHandle buffer = Slot(slot)[index];
        if (values.Length != _model.Parameters[index].Elements)
        {
            throw new ArgumentException($"State of {_model.Parameters[index].Name} has {_model.Parameters[index].Elements} elements, got {values.Length}.", nameof(values));
        }

        using var lease = HandleLease.Of(buffer);
        fixed (float* data = values)
        {
            NativeStatus.Check(NativeMethods.fg_buffer_upload(lease.Value, 0, data, (ulong)(values.Length * sizeof(float))));
        }
    }

    /// <summary>Frees the state tensors.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (BufferHandle buffer in _state1)
            {
                buffer.Dispose();
            }

            foreach (BufferHandle buffer in _state2 ?? [])
            {
                buffer.Dispose();
            }
        }
    }

    private BufferHandle[] Slot(int slot) => slot switch
    {
        0 => _state1,
        1 when _state2 is not null => _state2,
        _ => throw new ArgumentOutOfRangeException(nameof(slot), slot, $"{Settings.Kind} has {StateNames.Count} state slot(s)."),
    };

    private BufferHandle Zeroed(long elements)
    {
        BufferHandle buffer = BufferHandle.Allocate(_model.Context.Handle, (ulong)(elements * sizeof(float)));
        using var lease = HandleLease.Of(buffer);
        NativeStatus.Check(NativeMethods.fg_buffer_fill_f32(lease.Value, 0, (ulong)elements, 0f));
        return buffer;
    }
}
