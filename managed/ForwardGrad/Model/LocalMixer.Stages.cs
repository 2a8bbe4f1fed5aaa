using ForwardGrad.Interop;

namespace ForwardGrad.Model;

/// <summary>
/// Block pipeline stages (fg_mixer_stage_forward, fg_mixer_stage_gradients): a <see cref="BlockRange"/> of the model run on
/// the activations the previous stage passed on. For the local methods (LG-BP, LG-FA, LG-FG-A, LG-FG-W) the stages of a
/// split, chained, give the whole step's gradients and statistics bit for bit.
/// </summary>
public sealed partial class LocalMixer
{
    private Tensor? _stageInput;
    private Tensor? _stageOutput;
    private long _stageCapacity;

    /// <summary>Floats of one image's activations between two blocks: patches x channels.</summary>
    public int ActivationSize => Config.Grid * Config.Grid * Config.Channels;

    /// <summary>
    /// Runs the blocks of <paramref name="range"/> (no loss, no gradient) on <paramref name="input"/>: <paramref name="batch"/>
    /// images when the range starts at block 0, else the output of the block before it (<see cref="ActivationSize"/> floats
    /// per image), and writes the output of its last block into <paramref name="output"/>.
    /// </summary>
    public void StageForward(BlockRange range, ReadOnlySpan<float> input, int batch, Span<float> output)
    {
        long need = (long)batch * ActivationSize;
        if (output.Length < need)
        {
            throw new ArgumentException($"{batch} images' activations need {need} floats, got {output.Length}.", nameof(output));
        }

        Tensor source = UploadStageInput(range, input, batch);
        _native.StageForward(batch, range, source, _stageOutput!);
        _stageOutput!.DownloadPrefix(output[..(int)need]);
    }

    /// <summary>
    /// The gradients of one pipeline stage: of the blocks (backbone and head) of <paramref name="range"/>, and of the final
    /// classifier when the range ends the model; every other gradient buffer is left as it is. <paramref name="input"/> is
    /// the images when the range starts at block 0, else the previous stage's output. <paramref name="output"/>, unless
    /// empty, receives the output of the range's last block (what the next stage takes). The other parameters are those of
    /// <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, TrainingMethod, int, ulong, uint, Span{float}, float, float, bool, int, int)"/>;
    /// <paramref name="blockLosses"/> receives the range's block losses (the others 0), and the final loss and accuracy are
    /// 0 unless the range ends the model.
    /// </summary>
    /// <exception cref="ForwardGradException">A method whose gradients cross blocks (BP, L-BP, FA, L-FA, DFA, FG-A, FG-W), a
    /// range outside the model, or shapes that do not fit (status <see cref="ForwardGradStatus.InvalidArgument"/>).</exception>
    public (float Loss, float Accuracy) ComputeStageGradients(BlockRange range, ReadOnlySpan<float> input, ReadOnlySpan<int> labels,
        TrainingMethod method, int tangents, ulong seed, uint step, Span<float> blockLosses, Span<float> output, float headLr = 1.0f,
        float lastLayerLr = 0.1f, bool channelSlicesPerGroup = false)
    {
        int batch = labels.Length;
        long need = (long)batch * ActivationSize;
        if (!output.IsEmpty && output.Length < need)
        {
            throw new ArgumentException($"{batch} images' activations need {need} floats, got {output.Length}.", nameof(output));
        }

        Tensor source = UploadStageInput(range, input, batch);
        _labels!.UploadPrefix(labels);
        var options = StepOptions(method, tangents, seed, step, headLr, lastLayerLr, channelSlicesPerGroup);
        FgStepStats stats = _native.StageGradients(batch, range, source, _labels, in options, output.IsEmpty ? null : _stageOutput);
        unsafe
        {
            new ReadOnlySpan<float>(stats.BlockLoss, Math.Min(stats.Blocks, blockLosses.Length)).CopyTo(blockLosses);
        }

        if (!output.IsEmpty)
        {
            _stageOutput!.DownloadPrefix(output[..(int)need]);
        }

        return (stats.Loss, stats.Accuracy);
    }

    /// <summary>The stage's input on the device: the images (range from block 0) or the activations, checked and uploaded.</summary>
    private Tensor UploadStageInput(BlockRange range, ReadOnlySpan<float> input, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        EnsureCapacity(batch);
        if (batch > _stageCapacity)
        {
            _stageInput?.Dispose();
            _stageOutput?.Dispose();
            _stageInput = _stageOutput = null;
            _stageInput = Tensor.Uninitialized(Context, ElementType.Float32, batch, Config.Grid * Config.Grid, Config.Channels);
            _stageOutput = Tensor.Uninitialized(Context, ElementType.Float32, batch, Config.Grid * Config.Grid, Config.Channels);
            _stageCapacity = batch;
        }

        if (range.First == 0)
        {
            UploadImages(input, batch);
            return _images!;
        }

        long need = (long)batch * ActivationSize;
        if (input.Length < need)
        {
            throw new ArgumentException($"{batch} images' activations from block {range.First - 1} need {need} floats, got {input.Length}.", nameof(input));
        }

        _stageInput!.UploadPrefix(input[..(int)need]);
        return _stageInput;
    }

    private void DisposeStageBuffers()
    {
        _stageInput?.Dispose();
        _stageOutput?.Dispose();
    }
}
