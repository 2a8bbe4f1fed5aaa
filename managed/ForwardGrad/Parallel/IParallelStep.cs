using ForwardGrad.Data;
using ForwardGrad.Optim;

namespace ForwardGrad.Parallel;

/// <summary>
/// How the ranks of a parallel run share one training step (<see cref="DataParallelStep"/>, <see cref="PipelineStep"/>): the
/// training loop is the same in every mode and on every rank; only the gradient step, the model state rank 0 needs before it
/// evaluates and saves, and the closing line differ.
/// </summary>
internal interface IParallelStep
{
    Communicator Communicator { get; }

    /// <summary>
    /// The gradients this rank's optimizer applies for <paramref name="batch"/>, and the step's statistics as one process
    /// computes them (final loss and accuracy; <paramref name="blockLosses"/> receives every block's local loss), the same on
    /// every rank.
    /// </summary>
    (float Loss, float Accuracy) Compute(Batch batch, int tangents, ulong seed, uint step, Span<float> blockLosses, float headLr, float lastLayerLr,
        bool channelSlicesPerGroup);

    /// <summary>Called on every rank before rank 0 evaluates and saves: gives rank 0 the whole model and optimizer state.</summary>
    void GatherToRoot(Optimizer optimizer);

    /// <summary>Rank 0's closing line on what the run exchanged.</summary>
    string Summary();
}
