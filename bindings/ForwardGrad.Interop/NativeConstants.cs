namespace ForwardGrad.Interop;

/// <summary>The <c>#define</c> constants of forwardgrad.h that the bindings were written against.</summary>
internal static class NativeConstants
{
    /// <summary>FG_ABI_VERSION: the ABI these bindings expect; a library reporting another is refused.</summary>
    public const int AbiVersion = 3;

    /// <summary>FG_BACKEND_CPU.</summary>
    public const int BackendCpu = 0;

    /// <summary>FG_BACKEND_CUDA.</summary>
    public const int BackendCuda = 1;

    /// <summary>FG_NO_TRANS: use a GEMM operand as stored.</summary>
    public const int NoTranspose = 0;

    /// <summary>FG_TRANS: use the transpose of a GEMM operand.</summary>
    public const int Transpose = 1;

    /// <summary>FG_LAYER_DENSE: Y = X W + b.</summary>
    public const int LayerDense = 0;

    /// <summary>FG_LAYER_GROUP: block-diagonal linear layer with G groups.</summary>
    public const int LayerGroup = 1;

    /// <summary>FG_LAYER_TOKEN: token mixing, one P x P matrix shared by every channel.</summary>
    public const int LayerToken = 2;

    /// <summary>FG_LN_EPS: the LayerNorm epsilon.</summary>
    public const float LayerNormEpsilon = 1e-5f;

    /// <summary>FG_SCALE_GROUP: a unit uses its own group's directional derivative.</summary>
    public const int ScaleGroup = 0;

    /// <summary>FG_SCALE_PATCH: a unit uses the sum over groups of its patch.</summary>
    public const int ScalePatch = 1;

    /// <summary>FG_SCALE_GLOBAL: a unit uses the sum over patches and groups (one loss).</summary>
    public const int ScaleGlobal = 2;

    /// <summary>FG_WSLICE_COLUMNS: element (i, j) is in group j / (cols / G).</summary>
    public const int WeightSliceColumns = 0;

    /// <summary>FG_WSLICE_LEADING: element e is in group e / (count / G).</summary>
    public const int WeightSliceLeading = 1;

    /// <summary>FG_WSLICE_ALL: every element uses the sum over groups.</summary>
    public const int WeightSliceAll = 2;

    /// <summary>FG_OPT_SGD: SGD with momentum and weight decay.</summary>
    public const int OptimizerSgd = 0;

    /// <summary>FG_OPT_ADAMW: Adam with decoupled weight decay.</summary>
    public const int OptimizerAdamW = 1;

    /// <summary>FG_METHOD_BP: exact backprop of the final loss, end to end.</summary>
    public const int MethodBackprop = 0;

    /// <summary>FG_METHOD_LBP: backprop of the sum of all local losses, end to end; the final classifier reads detached features.</summary>
    public const int MethodLocalBackprop = 1;

    /// <summary>FG_METHOD_LGBP: backprop inside each block of its local loss, stop-gradient between blocks.</summary>
    public const int MethodLocalGreedyBackprop = 2;

    /// <summary>FG_METHOD_FGW: weight perturbation, final loss.</summary>
    public const int MethodForwardGradientWeights = 3;

    /// <summary>FG_METHOD_FGA: activity perturbation, final loss.</summary>
    public const int MethodForwardGradientActivities = 4;

    /// <summary>FG_METHOD_LGFGW: weight perturbation, local losses.</summary>
    public const int MethodLocalGreedyForwardGradientWeights = 5;

    /// <summary>FG_METHOD_LGFGA: activity perturbation, local losses (the paper's method).</summary>
    public const int MethodLocalGreedyForwardGradientActivities = 6;

    /// <summary>FG_METHOD_FA: feedback alignment, BP's structure.</summary>
    public const int MethodFeedbackAlignment = 7;

    /// <summary>FG_METHOD_LFA: feedback alignment, L-BP's structure.</summary>
    public const int MethodLocalFeedbackAlignment = 8;

    /// <summary>FG_METHOD_LGFA: feedback alignment, LG-BP's structure.</summary>
    public const int MethodLocalGreedyFeedbackAlignment = 9;

    /// <summary>FG_METHOD_DFA: direct feedback alignment.</summary>
    public const int MethodDirectFeedbackAlignment = 10;

    /// <summary>FG_SLICES_SUM: LG-FG-W scales the channel layer's tangent by the sum over groups (unbiased).</summary>
    public const int SlicesSum = 0;

    /// <summary>FG_SLICES_GROUP: LG-FG-W slices the channel layer's tangent per group, as the official code does.</summary>
    public const int SlicesGroup = 1;

    /// <summary>FG_MAX_BLOCKS: the most blocks a model may have (size of <see cref="FgStepStats.BlockLoss"/>).</summary>
    public const int MaxBlocks = 16;

    /// <summary>FG_LOSS_CROSS_ENTROPY: supervised local losses (block heads are classifiers).</summary>
    public const int LossCrossEntropy = 0;

    /// <summary>FG_LOSS_CONTRASTIVE: self-supervised contrastive local losses between two views.</summary>
    public const int LossContrastive = 1;

    /// <summary>FG_CONTRASTIVE_DIM: the output width of a contrastive block head (projection).</summary>
    public const int ContrastiveDim = 128;

    /// <summary>FG_CONTRASTIVE_TEMPERATURE: the temperature of the model's contrastive loss.</summary>
    public const float ContrastiveTemperature = 0.5f;
}
