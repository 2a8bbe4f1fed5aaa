using ForwardGrad.Data;
using ForwardGrad.Model;

namespace ForwardGrad.Parallel;

/// <summary>
/// One data-parallel gradient step: every rank holds the same global batch (same seeded order everywhere), computes the
/// gradients of its <see cref="BatchShard"/>, and the <see cref="GradientExchange"/> turns them into the global-batch
/// gradient on every rank, so each rank's optimizer takes the same step.
/// </summary>
internal sealed class DataParallelStep(Communicator communicator, LocalMixer model)
{
    private readonly GradientExchange _exchange = new(communicator, model);

    public Communicator Communicator => communicator;

    /// <summary>Floats all-reduced per step.</summary>
    public int ElementsPerStep => _exchange.Elements;

    /// <summary>The global batch's loss and accuracy; <paramref name="blockLosses"/> receives the global block losses.</summary>
    public (float Loss, float Accuracy) Compute(Batch batch, TrainingMethod method, int tangents, ulong seed, uint step,
        Span<float> blockLosses, float headLr, float lastLayerLr)
    {
        BatchShard shard = BatchShard.Of(batch.Count, communicator.Rank, communicator.Size);
        float loss = 0, accuracy = 0;
        blockLosses.Clear();
        if (shard.Count > 0)
        {
            int imageSize = model.ImageSize;
            (loss, accuracy, _) = model.ComputeGradients(
                batch.Images.Slice(shard.Start * imageSize, shard.Count * imageSize), batch.Labels.Slice(shard.Start, shard.Count),
                method, tangents, seed, step, blockLosses, headLr, lastLayerLr);
        }

        return _exchange.Reduce((double)shard.Count / batch.Count, loss, accuracy, blockLosses);
    }
}
