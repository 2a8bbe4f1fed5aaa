namespace ForwardGrad.Model;

/// <summary>What one gradient step reports.</summary>
/// <param name="Loss">Batch-mean cross-entropy of the final classifier.</param>
/// <param name="Accuracy">Fraction of the batch the final classifier got right.</param>
/// <param name="BlockLosses">Batch-mean local loss of each block.</param>
/// <param name="WorkspaceBytes">Activation workspace the step needed.</param>
public sealed record StepStats(float Loss, float Accuracy, IReadOnlyList<float> BlockLosses, ulong WorkspaceBytes);
