using ForwardGrad.Interop;
using ForwardGrad.Model;

namespace ForwardGrad.Parallel;

/// <summary>
/// Sums the ranks' gradients, each weighted by its share of the global batch, in one all-reduce: the gradients of the
/// chosen parameters, any extra values of the step (the sums of directional derivatives of weight perturbation) and
/// the step's statistics (final loss, accuracy, each block's local loss) travel in one float buffer. Because each rank's
/// values are means over its shard, the weighted sum is the mean over the global batch, what a single process computes
/// on the whole batch (up to the order of float additions). The buffer is allocated once.
/// </summary>
internal sealed class GradientExchange
{
    private readonly Communicator _communicator;
    private readonly LocalMixer _model;
    private readonly IReadOnlyList<ModelParameter> _parameters;
    private readonly float[] _buffer;
    private readonly int _extraOffset;
    private readonly int _statsOffset;

    public GradientExchange(Communicator communicator, LocalMixer model, IReadOnlyList<ModelParameter> parameters, int extraCount)
    {
        _communicator = communicator;
        _model = model;
        _parameters = parameters;
        _extraOffset = checked((int)parameters.Sum(p => p.Elements));
        _statsOffset = _extraOffset + extraCount;
        _buffer = new float[_statsOffset + 2 + model.Config.Blocks];
    }

    /// <summary>Floats moved per step (gradients, extra values and statistics).</summary>
    public int Elements => _buffer.Length;

    /// <summary>
    /// Replaces the chosen gradient buffers with the global-batch gradients and returns the global statistics.
    /// <paramref name="weight"/> is this rank's share of the global batch (its images / the batch's); a rank with
    /// weight 0 computed nothing and contributes zeros. <paramref name="blockLosses"/> and <paramref name="extra"/> hold
    /// this rank's values on entry and the global ones on return.
    /// </summary>
    public (float Loss, float Accuracy) Reduce(double weight, float loss, float accuracy, Span<float> blockLosses, Span<float> extra)
    {
        int blocks = _model.Config.Blocks;
        float scale = (float)weight;
        int offset = 0;
        foreach (ModelParameter parameter in _parameters)
        {
            Span<float> slice = _buffer.AsSpan(offset, (int)parameter.Elements);
            if (weight != 0)
            {
                parameter.Gradient.Download(slice);
            }

            offset += slice.Length;
        }

        extra.CopyTo(_buffer.AsSpan(_extraOffset));
        Span<float> stats = _buffer.AsSpan(_statsOffset);
        stats[0] = loss;
        stats[1] = accuracy;
        blockLosses[..blocks].CopyTo(stats[2..]);
        Span<float> local = _buffer.AsSpan();
        if (weight == 0)
        {
            local.Clear();
        }
        else if (scale != 1f)
        {
            // A weight of 1 (one rank) leaves the bits alone: one rank is exactly the single-process run.
            for (int i = 0; i < local.Length; i++)
            {
                local[i] *= scale;
            }
        }

        _communicator.AllReduceSum(_buffer);
        offset = 0;
        foreach (ModelParameter parameter in _parameters)
        {
            ReadOnlySpan<float> slice = _buffer.AsSpan(offset, (int)parameter.Elements);
            parameter.Gradient.Upload(slice);
            offset += slice.Length;
        }

        _buffer.AsSpan(_extraOffset, extra.Length).CopyTo(extra);
        stats[2..].CopyTo(blockLosses);
        return (stats[0], stats[1]);
    }
}
