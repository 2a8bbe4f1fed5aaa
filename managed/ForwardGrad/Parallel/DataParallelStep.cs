using System.Globalization;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Parallel;

/// <summary>
/// One data-parallel gradient step: every rank holds the same global batch (same seeded order everywhere), computes the
/// gradients of its <see cref="BatchShard"/>, and the <see cref="GradientExchange"/> turns them into the global-batch
/// gradient on every rank, so each rank's optimizer takes the same step. Weight perturbation (FG-W, LG-FG-W) exchanges
/// only the sums of its directional derivatives and the small heads' gradients: every rank draws the same weight
/// tangents from (seed, step) and rebuilds the perturbed parameters' gradients from the global sums. Activity perturbation
/// (FG-A, LG-FG-A) draws each image's noise at its place in the global batch, as one process does.
/// </summary>
internal sealed class DataParallelStep : IParallelStep
{
    private readonly Communicator _communicator;
    private readonly LocalMixer _model;
    private readonly TrainingMethod _method;
    private readonly GradientExchange _exchange;
    private readonly float[] _sums;

    public DataParallelStep(Communicator communicator, LocalMixer model, TrainingMethod method, int tangents)
    {
        _communicator = communicator;
        _model = model;
        _method = method;
        // One rank exchanges nothing: it keeps the plain step, so it stays the single-process run bit for bit.
        bool weightSums = method is TrainingMethod.FGW or TrainingMethod.LGFGW && communicator.Size > 1;
        _sums = new float[weightSums ? model.WeightSumCount(method, tangents) : 0];
        IReadOnlyList<ModelParameter> exchanged = weightSums
            ? [.. model.Parameters.Where(p => p.Block < 0 || p.Name.Contains(".head.", StringComparison.Ordinal))]
            : model.Parameters;
        _exchange = new GradientExchange(communicator, model, exchanged, _sums.Length);
    }

    public Communicator Communicator => _communicator;

    /// <summary>Floats all-reduced per step.</summary>
    public int ElementsPerStep => _exchange.Elements;

    /// <summary>Every rank gets the global statistics in the step itself.</summary>
    public bool StatisticsInStep => true;

    /// <summary>The global batch's step, its statistics included.</summary>
    public StepOutcome? Compute(Batch batch, long index, int tangents, ulong seed, float headLr, float lastLayerLr, bool channelSlicesPerGroup)
    {
        Span<float> blockLosses = stackalloc float[_model.Config.Blocks];
        var (loss, accuracy) = Compute(batch, tangents, seed, unchecked((uint)index), blockLosses, headLr, lastLayerLr, channelSlicesPerGroup);
        return new StepOutcome(index, batch.Count, loss, accuracy, StepOutcomes.AllFinite(blockLosses));
    }

    public IReadOnlyList<StepOutcome> Drain() => [];

    /// <summary>Every rank has already stopped on a diverged step, in that step.</summary>
    public bool AgreeToStop(bool stop) => stop;

    /// <summary>The global batch's loss and accuracy; <paramref name="blockLosses"/> receives the global block losses.</summary>
    public (float Loss, float Accuracy) Compute(Batch batch, int tangents, ulong seed, uint step, Span<float> blockLosses, float headLr, float lastLayerLr,
        bool channelSlicesPerGroup)
    {
        BatchShard shard = BatchShard.Of(batch.Count, _communicator.Rank, _communicator.Size);
        float loss = 0, accuracy = 0;
        blockLosses.Clear();
        Array.Clear(_sums);
        if (shard.Count > 0)
        {
            int imageSize = _model.ImageSize;
            ReadOnlySpan<float> images = batch.Images.Slice(shard.Start * imageSize, shard.Count * imageSize);
            ReadOnlySpan<int> labels = batch.Labels.Slice(shard.Start, shard.Count);
            (loss, accuracy) = _sums.Length > 0
                ? _model.ComputeWeightSums(images, labels, _method, tangents, seed, step, blockLosses, headLr, lastLayerLr, channelSlicesPerGroup, _sums)
                : Drop(_model.ComputeGradients(images, labels, _method, tangents, seed, step, blockLosses, headLr, lastLayerLr, channelSlicesPerGroup,
                    globalBatch: batch.Count, globalFirst: shard.Start));
        }

        var result = _exchange.Reduce((double)shard.Count / batch.Count, loss, accuracy, blockLosses, _sums);
        if (_sums.Length > 0)
        {
            _model.ApplyWeightSums(_method, tangents, seed, step, headLr, lastLayerLr, channelSlicesPerGroup, _sums);
        }

        return result;
    }

    /// <summary>Every rank already holds the whole model and the same state.</summary>
    public void GatherToRoot(Optimizer optimizer)
    {
    }

    public string Summary()
    {
        CommunicationStats stats = _communicator.Stats;
        return string.Create(CultureInfo.InvariantCulture,
            $"data parallel over {_communicator.Size} ranks: {ElementsPerStep * 4L:N0} bytes all-reduced per step; rank 0 sent {stats.BytesSent:N0} and received {stats.BytesReceived:N0} bytes in {stats.Calls} calls, {stats.Time.TotalSeconds:F2} s in communication");
    }

    private static (float, float) Drop((float Loss, float Accuracy, ulong WorkspaceBytes) stats) => (stats.Loss, stats.Accuracy);
}
