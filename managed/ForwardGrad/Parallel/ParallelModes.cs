using ForwardGrad.Model;

namespace ForwardGrad.Parallel;

/// <summary>The values of <see cref="Training.TrainerOptions.Parallel"/> (<c>fgrad train --parallel</c>).</summary>
public static class ParallelModes
{
    /// <summary>One process.</summary>
    public const string None = "none";

    /// <summary>Data parallel: every rank trains on its shard of each global batch; the gradients are all-reduced.</summary>
    public const string Data = "data";

    /// <summary>Block pipeline: every rank owns a range of blocks and passes its activations on to the next rank.</summary>
    public const string Pipeline = "pipeline";

    /// <summary>The canonical (lower-case) name of <paramref name="mode"/>; anything unknown is an <see cref="ArgumentException"/>.</summary>
    public static string Parse(string? mode) => mode?.Trim().ToLowerInvariant() switch
    {
        None => None,
        Data => Data,
        Pipeline => Pipeline,
        _ => throw new ArgumentException($"Unknown parallel mode '{mode}' (--parallel); known: none, data, pipeline (start the ranks with mpirun -np N)."),
    };

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="method"/> cannot train in <paramref name="mode"/>: the block
    /// pipeline runs only the local methods, whose gradients never cross a block boundary.
    /// </summary>
    public static void RequireMethodFits(string mode, TrainingMethod method)
    {
        if (Parse(mode) == Pipeline && method is not (TrainingMethod.LGBP or TrainingMethod.LGFA or TrainingMethod.LGFGA or TrainingMethod.LGFGW))
        {
            throw new ArgumentException(
                $"--parallel pipeline trains only the local methods LG-BP, LG-FA, LG-FG-A and LG-FG-W, whose gradients never cross a block boundary; {method.PaperName()} needs a backward pass (or a tangent) through every block. Use --parallel data for it, or one of the local methods.");
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="loss"/> cannot train in <paramref name="mode"/>: a data-parallel
    /// shard would separate the two views of an image that the contrastive loss pairs.
    /// </summary>
    public static void RequireLossFits(string mode, LocalLoss loss)
    {
        if (Parse(mode) == Data && loss == LocalLoss.Contrastive)
        {
            throw new ArgumentException("--loss contrastive does not train data-parallel: --parallel data would split the batch's two views of an image, which the loss pairs, across ranks. Train in one process, or split the blocks with --parallel pipeline.");
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming both numbers when a pipeline of <paramref name="ranks"/> stages has fewer blocks to share.</summary>
    public static void RequireRanksFit(string mode, int ranks, int blocks)
    {
        if (Parse(mode) == Pipeline && ranks > blocks)
        {
            throw new ArgumentException($"--parallel pipeline gives every rank at least one block, but {ranks} ranks were started for a model of {blocks} block{(blocks == 1 ? "" : "s")}; start at most {blocks} rank{(blocks == 1 ? "" : "s")} (mpirun -np {blocks}), or train a model with more blocks (--model C=...,blocks=N).");
        }
    }
}
