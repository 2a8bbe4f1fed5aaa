using System.Runtime.InteropServices;

namespace ForwardGrad.Interop;

/// <summary><c>fg_mixer_config</c>: the architecture of a LocalMixer model.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FgMixerConfig
{
    /// <summary>sizeof(fg_mixer_config); <see cref="Create"/> sets it.</summary>
    public uint Size;

    /// <summary>Image height in pixels.</summary>
    public int ImageHeight;

    /// <summary>Image width in pixels.</summary>
    public int ImageWidth;

    /// <summary>Image channels (C_in).</summary>
    public int ImageChannels;

    /// <summary>Number of classes.</summary>
    public int Classes;

    /// <summary>Number of blocks (&gt;= 1); block 0 has no token mixing and no residual.</summary>
    public int Blocks;

    /// <summary>Patch grid n: P = n*n patches of (H/n) x (W/n) pixels.</summary>
    public int Grid;

    /// <summary>Channels C.</summary>
    public int Channels;

    /// <summary>Groups G; divides C.</summary>
    public int Groups;

    /// <summary>1: LayerNorm before each linear layer too (per group before the group layer).</summary>
    public int PreLinearLayerNorm;

    /// <summary>1: LayerNorm per group on a block's output, read only by its local loss.</summary>
    public int InterLayerNorm;

    /// <summary>1: LayerNorm over C on the patch mean, before the final classifier.</summary>
    public int FinalLayerNorm;

    /// <summary>Initialisation seed.</summary>
    public ulong Seed;

    /// <summary>The blocks' local losses: FG_LOSS_CROSS_ENTROPY or FG_LOSS_CONTRASTIVE.</summary>
    public int LocalLoss;

    /// <summary>An empty configuration with <see cref="Size"/> filled in.</summary>
    public static unsafe FgMixerConfig Create() => new() { Size = (uint)sizeof(FgMixerConfig) };
}

/// <summary><c>fg_param_info</c>: the shape, role and name of one parameter tensor of a model.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FgParamInfo
{
    /// <summary>Capacity of <see cref="Name"/> in bytes.</summary>
    public const int NameCapacity = 64;

    /// <summary>Most dimensions a parameter has.</summary>
    public const int MaxRank = 4;

    /// <summary>sizeof(fg_param_info), set by the caller (<see cref="Create"/>).</summary>
    public uint Size;

    /// <summary>Number of dimensions used in <see cref="Shape"/>.</summary>
    public int Rank;

    /// <summary>The dimensions, outermost first.</summary>
    public fixed long Shape[MaxRank];

    /// <summary>Number of elements.</summary>
    public long Elements;

    /// <summary>1: weight decay applies (weights); 0: it does not (biases).</summary>
    public int IsWeight;

    /// <summary>Block index, or -1 for the final classifier.</summary>
    public int Block;

    /// <summary>NUL-terminated UTF-8 name, e.g. "block1.token.weight".</summary>
    public fixed byte Name[NameCapacity];

    /// <summary>An empty record with <see cref="Size"/> filled in, ready for <c>fg_mixer_param_info</c>.</summary>
    public static FgParamInfo Create() => new() { Size = (uint)sizeof(FgParamInfo) };

    /// <summary>The first <see cref="Rank"/> entries of <see cref="Shape"/> as an array.</summary>
    public readonly long[] ShapeArray()
    {
        var shape = new long[Math.Clamp(Rank, 0, MaxRank)];
        for (int d = 0; d < shape.Length; d++)
        {
            shape[d] = Shape[d];
        }

        return shape;
    }

    /// <summary><see cref="Name"/> as a string.</summary>
    public readonly string NameString
    {
        get
        {
            fixed (byte* name = Name)
            {
                return NativeText.FromFixedBuffer(name, NameCapacity);
            }
        }
    }
}

/// <summary><c>fg_step_options</c>: how one training step computes gradients.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FgStepOptions
{
    /// <summary>sizeof(fg_step_options); <see cref="Create"/> sets it.</summary>
    public uint Size;

    /// <summary>One of the FG_METHOD_* constants (<see cref="NativeConstants.MethodBackprop"/> ...).</summary>
    public int Method;

    /// <summary>K &gt;= 1 for forward-gradient methods; ignored by backprop methods.</summary>
    public int Tangents;

    /// <summary>With <see cref="Seed"/>, keys the Philox tangents of this step.</summary>
    public uint Step;

    /// <summary>Tangent seed.</summary>
    public ulong Seed;

    /// <summary>Scale of the block heads' gradients (default 1.0).</summary>
    public float HeadLearningRate;

    /// <summary>Scale of the final classifier's gradient in every method (default 0.1).</summary>
    public float LastLayerLearningRate;

    /// <summary>LG-FG-W's channel-layer slicing: <see cref="NativeConstants.SlicesSum"/> (default) or <see cref="NativeConstants.SlicesGroup"/>.</summary>
    public int ChannelSlices;

    /// <summary>Images in the global batch this batch is a shard of (FG-A / LG-FG-A noise keying); 0: this batch is the whole batch.</summary>
    public long GlobalBatch;

    /// <summary>Index in the global batch of this batch's first image (0 when <see cref="GlobalBatch"/> is 0).</summary>
    public long GlobalFirst;

    /// <summary>Options for <paramref name="method"/> with <see cref="Size"/> and the documented defaults filled in.</summary>
    public static unsafe FgStepOptions Create(int method) => new()
    {
        Size = (uint)sizeof(FgStepOptions),
        Method = method,
        Tangents = 1,
        HeadLearningRate = 1f,
        LastLayerLearningRate = 0.1f,
    };
}

/// <summary><c>fg_step_stats</c>: losses and accuracy of one step.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct FgStepStats
{
    /// <summary>sizeof(fg_step_stats), set by the caller (<see cref="Create"/>).</summary>
    public uint Size;

    /// <summary>Batch-mean cross-entropy of the final classifier.</summary>
    public float Loss;

    /// <summary>Fraction of the batch the final classifier gets right.</summary>
    public float Accuracy;

    /// <summary>Number of entries of <see cref="BlockLoss"/> in use.</summary>
    public int Blocks;

    /// <summary>Batch-mean local loss of each block.</summary>
    public fixed float BlockLoss[NativeConstants.MaxBlocks];

    /// <summary>Activation workspace the method needed for this batch.</summary>
    public ulong WorkspaceBytes;

    /// <summary>An empty record with <see cref="Size"/> filled in, ready for <c>fg_mixer_gradients</c>.</summary>
    public static FgStepStats Create() => new() { Size = (uint)sizeof(FgStepStats) };
}
