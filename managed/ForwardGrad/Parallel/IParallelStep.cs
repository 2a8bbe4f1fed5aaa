using ForwardGrad.Data;
using ForwardGrad.Optim;

namespace ForwardGrad.Parallel;

/// <summary>What one finished training step reports, as one process computes it.</summary>
/// <param name="Step">The global step (0-based) it belongs to.</param>
/// <param name="Images">The step's batch size.</param>
/// <param name="Loss">The final classifier's batch-mean loss.</param>
/// <param name="Accuracy">The final classifier's batch accuracy.</param>
/// <param name="BlockLossesFinite">Whether every block's local loss is finite.</param>
internal readonly record struct StepOutcome(long Step, int Images, float Loss, float Accuracy, bool BlockLossesFinite);

/// <summary>
/// How the ranks of a parallel run share one training step (<see cref="DataParallelStep"/>, <see cref="PipelineStep"/>): the
/// training loop is the same in every mode and on every rank; only the gradient step, when a step's statistics reach
/// rank 0, the model state rank 0 needs before it evaluates and saves, and the closing line differ.
/// </summary>
internal interface IParallelStep
{
    Communicator Communicator { get; }

    /// <summary>
    /// Whether every rank learns a step's statistics in that step, so a diverging run can stop at once; otherwise the ranks
    /// agree at the end of the epoch (<see cref="AgreeToStop"/>).
    /// </summary>
    bool StatisticsInStep { get; }

    /// <summary>
    /// Computes the gradients this rank's optimizer applies for <paramref name="batch"/> (global step <paramref name="index"/>);
    /// returns the outcome of a finished step, this one or an earlier one, when one reached this rank.
    /// </summary>
    StepOutcome? Compute(Batch batch, long index, int tangents, ulong seed, float headLr, float lastLayerLr, bool channelSlicesPerGroup);

    /// <summary>At the end of an epoch, on every rank: the outcomes still on their way to this rank.</summary>
    IReadOnlyList<StepOutcome> Drain();

    /// <summary>Called on every rank before rank 0 evaluates and saves: gives rank 0 the whole model and optimizer state.</summary>
    void GatherToRoot(Optimizer optimizer);

    /// <summary>After <see cref="GatherToRoot"/>, on every rank: rank 0's decision to stop (a diverged step), shared.</summary>
    bool AgreeToStop(bool stop);

    /// <summary>Rank 0's closing line on what the run exchanged.</summary>
    string Summary();
}
