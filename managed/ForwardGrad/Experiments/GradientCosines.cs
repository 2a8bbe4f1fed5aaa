using ForwardGrad.Model;

namespace ForwardGrad.Experiments;

/// <summary>The cosines of one batch: per parameter tensor and per group of tensors (block, classifier, whole model).</summary>
/// <param name="PerTensor">Cosine of each parameter tensor, in <see cref="LocalMixer.Parameters"/> order.</param>
/// <param name="PerGroup">Cosine over the concatenated parameters of "block0", "block1", ..., "classifier" and "all".</param>
/// <param name="ExactIsZero">The groups whose exact gradient is exactly zero on this batch (their cosine is then 1 if the
/// estimate is zero too, else 0: a convention, not a measurement).</param>
public sealed record BatchCosines(float[] PerTensor, IReadOnlyDictionary<string, double> PerGroup, IReadOnlySet<string> ExactIsZero);

/// <summary>
/// Cosine similarity between a method's gradient estimate and the exact gradient of the method's own objective
/// (FG-W, FG-A: BP; LG-FG-W, LG-FG-A: LG-BP; the backprop methods are exact, so 1), per tensor as
/// <see cref="LocalMixer.GradientCosine"/> computes it, and per block over the block's concatenated parameters.
/// </summary>
public static class GradientCosines
{
    /// <summary>
    /// The group of <paramref name="parameter"/>: "block0", ... (a block's own layers), "block0.head", ... (its local
    /// classifier head, whose gradient every method computes exactly), or "classifier" (the final linear layer).
    /// </summary>
    public static string GroupOf(ModelParameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return parameter.Block < 0 ? "classifier"
            : parameter.Name.Contains(".head.", StringComparison.Ordinal) ? $"block{parameter.Block}.head"
            : $"block{parameter.Block}";
    }

    /// <summary>The groups of <paramref name="model"/> in order: blocks, classifier, "all".</summary>
    public static IReadOnlyList<string> Groups(LocalMixer model) =>
        [.. model.Parameters.OrderBy(p => p.Block < 0 ? int.MaxValue : p.Block).ThenBy(p => GroupOf(p).EndsWith(".head", StringComparison.Ordinal))
            .Select(GroupOf).Distinct(), "all"];

    /// <summary>The method whose gradient is the exact gradient of <paramref name="method"/>'s objective.</summary>
    public static TrainingMethod ExactCounterpart(TrainingMethod method) => method switch
    {
        TrainingMethod.FGW or TrainingMethod.FGA => TrainingMethod.BP,
        TrainingMethod.LGFGW or TrainingMethod.LGFGA => TrainingMethod.LGBP,
        _ => method,
    };

    /// <summary>
    /// Computes the exact gradient, then the estimate (left in the gradient buffers), on one batch, and their cosines.
    /// Two zero vectors count as agreeing (1), one zero vector as orthogonal (0), as in the native library.
    /// </summary>
    public static BatchCosines Measure(LocalMixer model, ReadOnlySpan<float> images, ReadOnlySpan<int> labels, TrainingMethod method, int tangents,
        ulong seed, uint step, float headLr = 1.0f, float lastLayerLr = 0.1f)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.ComputeGradients(images, labels, ExactCounterpart(method), 1, seed, step, headLr, lastLayerLr);
        float[][] exact = [.. model.Parameters.Select(p => p.GradientToArray())];
        model.ComputeGradients(images, labels, method, tangents, seed, step, headLr, lastLayerLr);
        float[][] estimate = [.. model.Parameters.Select(p => p.GradientToArray())];

        var perTensor = new float[exact.Length];
        var sums = new Dictionary<string, (double Dot, double Exact, double Estimate)>();
        for (int i = 0; i < exact.Length; i++)
        {
            double dot = 0, nw = 0, ng = 0;
            float[] want = exact[i], got = estimate[i];
            for (int j = 0; j < want.Length; j++)
            {
                dot += (double)want[j] * got[j];
                nw += (double)want[j] * want[j];
                ng += (double)got[j] * got[j];
            }

            perTensor[i] = (float)Cosine(dot, nw, ng);
            foreach (string group in new[] { GroupOf(model.Parameters[i]), "all" })
            {
                var s = sums.GetValueOrDefault(group);
                sums[group] = (s.Dot + dot, s.Exact + nw, s.Estimate + ng);
            }
        }

        return new BatchCosines(perTensor, sums.ToDictionary(kv => kv.Key, kv => Cosine(kv.Value.Dot, kv.Value.Exact, kv.Value.Estimate)),
            sums.Where(kv => kv.Value.Exact == 0).Select(kv => kv.Key).ToHashSet());
    }

    private static double Cosine(double dot, double nw, double ng) =>
        nw == 0 && ng == 0 ? 1 : nw == 0 || ng == 0 ? 0 : Math.Clamp(dot / Math.Sqrt(nw * ng), -1, 1);
}
