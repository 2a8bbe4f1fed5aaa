using System.Text.Json;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Parallel;
using ForwardGrad.Training;

namespace ForwardGrad.Cli.Commands;

/// <summary>
/// <c>fgrad train --parallel data</c> and <c>--parallel pipeline</c>, run by every rank of <c>mpirun -np N</c>. Rank 0 checks the options and plans the
/// run (it alone reads and writes the run folder) and sends the plan to the others; every rank loads the data; the
/// ranks agree that all of them are ready, then train. Rank 0 prints what one process prints; the other ranks print
/// only errors. A rank that fails after training started prints its error and ends the job (MPI_Abort), so no rank
/// waits for it beyond the communication time limit.
/// </summary>
internal static class ParallelTraining
{
    public static int Run(TrainOptions options, TextWriter output)
    {
        double timeout = options.CommTimeout ?? new TrainerOptions().CommTimeout;
        if (!(double.IsFinite(timeout) && timeout > 0))
        {
            throw new ArgumentException($"--comm-timeout must be a finite number of seconds > 0; got {timeout}.");
        }

        var communicator = Communicator.World(TimeSpan.FromSeconds(timeout));
        bool abortJob = false, trainingStarted = false;
        try
        {
            var (settings, runDirectory, start) = AgreeOnPlan(communicator, options);
            DatasetSplits data = LoadOnEveryRank(communicator, settings);
            var trainer = new Trainer(settings, data) { Communicator = communicator };
            trainingStarted = true;
            if (communicator.IsRoot)
            {
                return TrainCommand.Train(trainer, settings, data, runDirectory, start, output);
            }

            TrainingResult result = trainer.Run(runDirectory, start);
            return result.Failure is null ? ExitCodes.Success : ExitCodes.Failure;
        }
        catch (OtherRankFailedException)
        {
            // The failing rank reports why and exits with the failure, which becomes mpirun's. This rank exits 0: a
            // non-zero exit here makes mpirun abort the job, and could kill the failing rank before it has printed.
            return ExitCodes.Success;
        }
        catch (Exception exception) when (MustEndTheJob(communicator, exception, trainingStarted))
        {
            Console.Error.WriteLine($"fgrad: error: rank {communicator.Rank} of {communicator.Size}: {exception.Message}");
            Console.Error.Flush();
            abortJob = true;
            communicator.Abort(ExitCodes.Failure);
            throw;
        }
        finally
        {
            if (!abortJob)
            {
                communicator.Dispose();
                Communicator.Shutdown();
            }
        }
    }

    /// <summary>
    /// Whether the other ranks may be waiting for this one: a communication failure, or a failure during training other
    /// than rank 0's refusals before its first step (the trainer sends those to the other ranks, which stop by themselves).
    /// </summary>
    private static bool MustEndTheJob(Communicator communicator, Exception exception, bool trainingStarted) =>
        exception is ForwardGradException { Status: ForwardGradStatus.CommTimeout or ForwardGradStatus.CommPeer or ForwardGradStatus.CommMismatch }
        || (trainingStarted && !(communicator.IsRoot
            && exception is ArgumentException or RunFolderException or Checkpoints.CheckpointException or InvalidDataException or FileNotFoundException));

    /// <summary>Rank 0's plan on every rank; rank 0's failure stops the others quietly (rank 0 reports it).</summary>
    private static (TrainerOptions Settings, string RunDirectory, RunStart Start) AgreeOnPlan(Communicator communicator, TrainOptions options)
    {
        byte[] message = [];
        Exception? failure = null;
        if (communicator.IsRoot)
        {
            try
            {
                var (settings, directory, start) = TrainCommand.Plan(options);
                ParallelModes.RequireRanksFit(settings.Parallel, communicator.Size, ModelSpec.Resolve(settings.Model).Blocks);
                message = JsonSerializer.SerializeToUtf8Bytes(new SharedPlan(settings, directory, start));
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        }

        long[] length = [failure is null ? message.Length : -1];
        communicator.Broadcast<long>(length);
        if (length[0] < 0)
        {
            if (failure is not null)
            {
                throw failure;
            }

            throw new OtherRankFailedException(communicator.Rank);
        }

        Array.Resize(ref message, (int)length[0]);
        communicator.Broadcast<byte>(message);
        SharedPlan plan = JsonSerializer.Deserialize<SharedPlan>(message)!;
        return (plan.Settings, plan.RunDirectory, plan.Start);
    }

    /// <summary>The data set on every rank (each node needs its own copy); if any rank cannot load it, all stop.</summary>
    private static DatasetSplits LoadOnEveryRank(Communicator communicator, TrainerOptions settings)
    {
        DatasetSplits? data = null;
        Exception? failure = null;
        try
        {
            data = DatasetCatalog.Load(settings.Dataset, settings.DataDir);
        }
        catch (Exception exception) when (exception is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or DatasetNotFoundException or IOException)
        {
            failure = exception;
        }

        float[] failed = [failure is null ? 0 : 1];
        communicator.AllReduceSum(failed);
        if (failure is not null)
        {
            throw new InvalidDataException($"rank {communicator.Rank} could not load {settings.Dataset}: {failure.Message}", failure);
        }

        return failed[0] > 0 ? throw new OtherRankFailedException(communicator.Rank) : data!;
    }

    private sealed record SharedPlan(TrainerOptions Settings, string RunDirectory, RunStart Start);
}
