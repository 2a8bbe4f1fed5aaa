using System.Globalization;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Parallel;

/// <summary>
/// One block-pipelined step: rank r owns the blocks <see cref="Range"/> (the blocks divided as evenly as possible; the last
/// rank also the final classifier), receives the batch's activations from rank r-1 (rank 0 reads the images), computes its
/// stage's gradients and sends its output on to rank r+1; no gradient travels back. The local losses' block losses travel
/// forward with the activations, and the last rank sends the step's statistics to rank 0, which takes them a few steps later
/// (one step per rank), so no rank waits for a later stage; a diverged step stops every rank at the end of its epoch. Each
/// rank's optimizer steps only its own parameters (<see cref="Optimizer.TrainOnly"/>); before rank 0 evaluates
/// and saves, the other ranks send it their parameters and optimizer state.
/// </summary>
internal sealed class PipelineStep : IParallelStep
{
    private const int ActivationsTag = 21;
    private const int StateTag = 22;
    private const int StatisticsTag = 23;
    private readonly Communicator _communicator;
    private readonly LocalMixer _model;
    private readonly TrainingMethod _method;
    private readonly IReadOnlyList<ModelParameter> _own;
    private readonly float[] _stats;
    private readonly Queue<(long Index, int Images)> _pending = new();  // rank 0: steps whose statistics are on their way
    private float[] _received = [];
    private float[] _sent = [];
    private long _messageBytes;

    public PipelineStep(Communicator communicator, LocalMixer model, Optimizer optimizer, TrainingMethod method)
    {
        _communicator = communicator;
        _model = model;
        _method = method;
        int blocks = model.Config.Blocks;
        Range = BlockRange.Split(blocks, communicator.Size, communicator.Rank);
        _own = OwnedBy(model, Range);
        optimizer.TrainOnly = _own;
        _stats = new float[2 + blocks];
    }

    public Communicator Communicator => _communicator;

    /// <summary>This rank's blocks.</summary>
    public BlockRange Range { get; }

    private bool IsLast => _communicator.Rank == _communicator.Size - 1;

    /// <summary>The parameters of the blocks in <paramref name="range"/>, and the final classifier when the range ends the model.</summary>
    public static IReadOnlyList<ModelParameter> OwnedBy(LocalMixer model, BlockRange range) =>
        [.. model.Parameters.Where(p => p.Block >= 0 ? range.Contains(p.Block) : range.EndsModel(model.Config.Blocks))];

    /// <summary>Rank 0 learns a step's statistics a few steps later: no rank waits for the last stage.</summary>
    public bool StatisticsInStep => _communicator.Size == 1;

    public StepOutcome? Compute(Batch batch, long index, int tangents, ulong seed, float headLr, float lastLayerLr, bool channelSlicesPerGroup)
    {
        int blocks = _model.Config.Blocks;
        int activations = batch.Count * _model.ActivationSize;
        // A message: the block losses so far, then the activations of the batch.
        int length = blocks + activations;
        Span<float> losses = _stats.AsSpan(2, blocks);
        losses.Clear();
        ReadOnlySpan<float> input = batch.Images;
        if (_communicator.Rank > 0)
        {
            Span<float> message = Message(ref _received, length);
            _communicator.Receive<float>(message, _communicator.Rank - 1, ActivationsTag);
            message[..blocks].CopyTo(losses);
            input = message[blocks..];
        }

        Span<float> stageLosses = stackalloc float[blocks];
        Span<float> output = IsLast ? [] : Message(ref _sent, length)[blocks..];
        var (loss, accuracy) = _model.ComputeStageGradients(Range, input, batch.Labels, _method, tangents, seed, unchecked((uint)index), stageLosses,
            output, headLr, lastLayerLr, channelSlicesPerGroup);
        stageLosses[Range.First..Range.Last].CopyTo(losses[Range.First..Range.Last]);
        if (!IsLast)
        {
            Span<float> message = _sent.AsSpan(0, length);
            losses.CopyTo(message);
            _communicator.Send<float>(message, _communicator.Rank + 1, ActivationsTag);
            _messageBytes = 4L * length;
        }
        else
        {
            _stats[0] = loss;
            _stats[1] = accuracy;
            if (!_communicator.IsRoot)
            {
                _communicator.Send<float>(_stats, 0, StatisticsTag);  // a few floats: MPI sends them without waiting
            }
        }

        if (!_communicator.IsRoot)
        {
            return null;
        }

        _pending.Enqueue((index, batch.Count));
        // Rank 0 takes the statistics of the step `lag` steps back, which the last stage finished long ago.
        return IsLast || _pending.Count > _communicator.Size ? NextOutcome() : null;
    }

    public IReadOnlyList<StepOutcome> Drain()
    {
        var outcomes = new List<StepOutcome>(_pending.Count);
        while (_pending.Count > 0)
        {
            outcomes.Add(NextOutcome());
        }

        return outcomes;
    }

    public bool AgreeToStop(bool stop)
    {
        Span<float> decision = [stop ? 1 : 0];
        _communicator.Broadcast(decision);
        return decision[0] != 0;
    }

    /// <summary>Rank 0: the oldest pending step's statistics, from the last rank (or this rank's own, in one process).</summary>
    private StepOutcome NextOutcome()
    {
        var (index, images) = _pending.Dequeue();
        if (!IsLast)
        {
            _communicator.Receive<float>(_stats, _communicator.Size - 1, StatisticsTag);
        }

        return new StepOutcome(index, images, _stats[0], _stats[1], StepOutcomes.AllFinite(_stats.AsSpan(2)));
    }

    public void GatherToRoot(Optimizer optimizer)
    {
        int slots = optimizer.StateNames.Count;
        if (!_communicator.IsRoot)
        {
            float[] state = new float[_own.Sum(p => p.Elements) * (1 + slots)];
            RunStateBroadcast.Pack(_own, optimizer, state);
            _communicator.Send<float>(state, 0, StateTag);
            return;
        }

        for (int rank = 1; rank < _communicator.Size; rank++)
        {
            IReadOnlyList<ModelParameter> theirs = OwnedBy(_model, BlockRange.Split(_model.Config.Blocks, _communicator.Size, rank));
            float[] state = new float[theirs.Sum(p => p.Elements) * (1 + slots)];
            _communicator.Receive<float>(state, rank, StateTag);
            RunStateBroadcast.Unpack(theirs, optimizer, state);
        }
    }

    public string Summary()
    {
        CommunicationStats stats = _communicator.Stats;
        string passed = IsLast ? "none" : $"{_messageBytes:N0}";
        return string.Create(CultureInfo.InvariantCulture,
            $"block pipeline over {_communicator.Size} ranks, rank 0 owns blocks {Range}: {passed} bytes passed on per step (activations and block losses), {_stats.Length * 4:N0} bytes of statistics sent to rank 0 by the last rank; rank 0 sent {stats.BytesSent:N0} and received {stats.BytesReceived:N0} bytes in {stats.Calls} calls, {stats.Time.TotalSeconds:F2} s in communication");
    }

    private static Span<float> Message(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }

        return buffer.AsSpan(0, length);
    }
}
