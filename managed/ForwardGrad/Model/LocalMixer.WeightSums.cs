namespace ForwardGrad.Model;

/// <summary>Weight perturbation in two halves (fg_mixer_fgw_sums, fg_mixer_fgw_apply), for data-parallel ranks.</summary>
public sealed partial class LocalMixer
{
    /// <summary>
    /// The number of directional-derivative sums a step of <paramref name="method"/> has: K per block's local loss times
    /// the groups for LG-FG-W, K for FG-W's final loss.
    /// </summary>
    internal int WeightSumCount(TrainingMethod method, int tangents) =>
        method == TrainingMethod.LGFGW ? Config.Blocks * tangents * Config.Groups : tangents;

    /// <summary>
    /// The step of <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, Span{float}, float, float, bool, int, int)"/>
    /// for FG-W or LG-FG-W (same gradients and statistics) that also writes the sums of the directional derivatives.
    /// </summary>
    internal unsafe (float Loss, float Accuracy) ComputeWeightSums(ReadOnlySpan<float> images, ReadOnlySpan<int> labels, TrainingMethod method,
        int tangents, ulong seed, uint step, Span<float> blockLosses, float headLr, float lastLayerLr, bool channelSlicesPerGroup, Span<float> sums)
    {
        UploadBatch(images, labels);
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr, channelSlicesPerGroup);
        var stats = _native.WeightSums(labels.Length, _images!, _labels!, in options, sums);
        new ReadOnlySpan<float>(stats.BlockLoss, Math.Min(stats.Blocks, blockLosses.Length)).CopyTo(blockLosses);
        return (stats.Loss, stats.Accuracy);
    }

    /// <summary>Rewrites the perturbed parameters' gradients of a step from <paramref name="sums"/> (e.g. added over ranks).</summary>
    internal void ApplyWeightSums(TrainingMethod method, int tangents, ulong seed, uint step, float headLr, float lastLayerLr,
        bool channelSlicesPerGroup, ReadOnlySpan<float> sums)
    {
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr, channelSlicesPerGroup);
        _native.ApplyWeightSums(in options, sums);
    }
}
