using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Parallel;

/// <summary>Where a run stands: the counters a resume restores, shared by rank 0 with the other ranks.</summary>
/// <param name="Step">Global steps done.</param>
/// <param name="LossSum">Loss summed over the current epoch's images so far.</param>
/// <param name="CorrectSum">Correct predictions over the current epoch's images so far.</param>
/// <param name="Seen">Images of the current epoch so far.</param>
/// <param name="ElapsedBefore">Training seconds of earlier invocations.</param>
internal readonly record struct RunCounters(long Step, double LossSum, double CorrectSum, long Seen, double ElapsedBefore);

/// <summary>
/// Makes every rank start from rank 0's state: rank 0 (which alone reads the run folder) broadcasts the counters, then
/// the weights and the optimizer state in one buffer; the other ranks overwrite theirs. Rank 0 broadcasts a failure
/// instead when it could not get that far, and the other ranks stop with <see cref="OtherRankFailedException"/>.
/// </summary>
internal static class RunStateBroadcast
{
    private const int HeaderLength = 8;

    /// <summary>Rank 0: tells the other ranks that the run will not start.</summary>
    public static void SendFailure(Communicator communicator)
    {
        var header = new double[HeaderLength];
        communicator.Broadcast<double>(header);
    }

    /// <summary>Every rank: rank 0's <paramref name="counters"/> and model state, returned and applied everywhere.</summary>
    public static RunCounters Share(Communicator communicator, LocalMixer model, Optimizer optimizer, RunCounters counters)
    {
        double[] header =
        [
            1, counters.Step, counters.LossSum, counters.CorrectSum, counters.Seen, counters.ElapsedBefore, optimizer.StepCount,
            model.ParameterCount,
        ];
        communicator.Broadcast<double>(header);
        if (header[0] != 1)
        {
            throw new OtherRankFailedException(communicator.Rank);
        }

        if ((long)header[7] != model.ParameterCount)
        {
            throw new InvalidOperationException(
                $"rank {communicator.Rank}: rank 0's model has {(long)header[7]} parameters, this rank's {model.ParameterCount}; every rank must run the same command.");
        }

        int slots = optimizer.StateNames.Count;
        float[] state = new float[model.ParameterCount * (1 + slots)];
        if (communicator.IsRoot)
        {
            Pack(model.Parameters, optimizer, state);
        }

        communicator.Broadcast<float>(state);
        if (!communicator.IsRoot)
        {
            Unpack(model.Parameters, optimizer, state);
            optimizer.StepCount = (long)header[6];
        }

        return new RunCounters((long)header[1], header[2], header[3], (long)header[4], header[5]);
    }

    /// <summary>The values of <paramref name="parameters"/>, then their optimizer state slot by slot, into <paramref name="state"/>.</summary>
    internal static void Pack(IReadOnlyList<ModelParameter> parameters, Optimizer optimizer, Span<float> state)
    {
        int offset = 0;
        foreach (ModelParameter parameter in parameters)
        {
            parameter.ToArray().CopyTo(state[offset..]);
            offset += (int)parameter.Elements;
        }

        for (int slot = 0; slot < optimizer.StateNames.Count; slot++)
        {
            foreach (ModelParameter parameter in parameters)
            {
                optimizer.GetState(slot, parameter.Index).CopyTo(state[offset..]);
                offset += (int)parameter.Elements;
            }
        }
    }

    /// <summary>The inverse of <see cref="Pack"/>: overwrites the values and optimizer state of <paramref name="parameters"/>.</summary>
    internal static void Unpack(IReadOnlyList<ModelParameter> parameters, Optimizer optimizer, ReadOnlySpan<float> state)
    {
        int offset = 0;
        foreach (ModelParameter parameter in parameters)
        {
            parameter.Upload(state.Slice(offset, (int)parameter.Elements));
            offset += (int)parameter.Elements;
        }

        for (int slot = 0; slot < optimizer.StateNames.Count; slot++)
        {
            foreach (ModelParameter parameter in parameters)
            {
                optimizer.SetState(slot, parameter.Index, state.Slice(offset, (int)parameter.Elements));
                offset += (int)parameter.Elements;
            }
        }
    }
}
