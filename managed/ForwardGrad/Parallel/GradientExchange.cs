using ForwardGrad.Interop;
using ForwardGrad.Model;

namespace ForwardGrad.Parallel;

/// <summary>
/// Sums the ranks' gradients, each weighted by its share of the global batch, in one all-reduce: every gradient of the
/// model and the step's statistics (final loss, accuracy, each block's local loss) travel in one float buffer. Because
/// each rank's gradient is the mean over its shard, the weighted sum is the mean over the global batch, the gradient a
/// single process computes on the whole batch (up to the order of float additions). The buffer is allocated once.
/// </summary>
internal sealed class GradientExchange
{
    private readonly Communicator _communicator;
    private readonly LocalMixer _model;
    private readonly ReduceMode _mode;
    private readonly float[] _buffer;
    private readonly int _statsOffset;

    public GradientExchange(Communicator communicator, LocalMixer model, ReduceMode mode = ReduceMode.Deterministic)
    {
        _communicator = communicator;
        _model = model;
        _mode = mode;
        _statsOffset = checked((int)model.ParameterCount);
        _buffer = new float[_statsOffset + 2 + model.Config.Blocks];
    }

    /// <summary>Floats moved per step (gradients and statistics).</summary>
    public int Elements => _buffer.Length;

    /// <summary>
    /// Replaces every gradient buffer of the model with the global-batch gradient and returns the global statistics.
    /// <paramref name="weight"/> is this rank's share of the global batch (its images / the batch's); a rank with
    /// weight 0 computed nothing and contributes zeros. <paramref name="blockLosses"/> holds this rank's block losses on
    /// entry and the global ones on return.
    /// </summary>
    public unsafe (float Loss, float Accuracy) Reduce(double weight, float loss, float accuracy, Span<float> blockLosses)
    {
        int blocks = _model.Config.Blocks;
        float scale = (float)weight;
        int offset = 0;
        using (var lease = _model.Lease())
        {
            foreach (ModelParameter parameter in _model.Parameters)
            {
                Span<float> slice = _buffer.AsSpan(offset, (int)parameter.Elements);
                if (weight == 0)
                {
                    slice.Clear();
                }
                else
                {
                    fixed (float* data = slice)
                    {
                        NativeStatus.Check(NativeMethods.fg_buffer_download(parameter.GradientBuffer, 0, data, (ulong)slice.Length * sizeof(float)));
                    }

                    // A weight of 1 (one rank) leaves the bits alone: one rank is exactly the single-process run.
                    if (scale != 1f)
                    {
                        for (int i = 0; i < slice.Length; i++)
                        {
                            slice[i] *= scale;
                        }
                    }
                }

                offset += slice.Length;
            }
        }

        Span<float> stats = _buffer.AsSpan(_statsOffset);
        stats[0] = weight == 0 ? 0 : (float)(loss * weight);
        stats[1] = weight == 0 ? 0 : (float)(accuracy * weight);
        for (int b = 0; b < blocks; b++)
        {
            stats[2 + b] = weight == 0 ? 0 : (float)(blockLosses[b] * weight);
        }

        _communicator.AllReduceSum(_buffer, _mode);
        offset = 0;
        using (var lease = _model.Lease())
        {
            foreach (ModelParameter parameter in _model.Parameters)
            {
                ReadOnlySpan<float> slice = _buffer.AsSpan(offset, (int)parameter.Elements);
                fixed (float* data = slice)
                {
                    NativeStatus.Check(NativeMethods.fg_buffer_upload(parameter.GradientBuffer, 0, data, (ulong)slice.Length * sizeof(float)));
                }

                offset += slice.Length;
            }
        }

        for (int b = 0; b < blocks; b++)
        {
            blockLosses[b] = stats[2 + b];
        }

        return (stats[0], stats[1]);
    }
}
