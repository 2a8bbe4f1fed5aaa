using System.Diagnostics;
using System.Globalization;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.IO;
using ForwardGrad.Model;
using ForwardGrad.Optim;
using ForwardGrad.Parallel;

namespace ForwardGrad.Training;

/// <summary>
/// One invocation's training in a run folder this process has taken: see <see cref="Trainer.Run"/>. In a parallel run
/// (<paramref name="parallel"/> given) every rank runs a session; only rank 0 holds the folder (the others get
/// null), evaluates, saves and reports, and it shares its starting state with the other ranks first.
/// </summary>
internal sealed class TrainingSession(
    DatasetSplits data, TrainerOptions options, RunFolder? folder, LocalMixer model, Optimizer optimizer,
    TrainingMethod method, ScheduleKind scheduleKind, Action<string> log, IProgress<TrainingProgress>? progress,
    Action<EpochMetrics>? epochCompleted, IParallelStep? parallel = null)
{
    private readonly DatasetSplits _data = data;
    private readonly List<EpochMetrics> _history = [];
    private readonly string? _metricsPath = folder is null ? null : Path.Combine(folder.Path, MetricsFile.FileName);
    private long _step;
    private long _savedStep = -1;
    private double _lossSum;
    private double _correctSum;
    private long _seen;
    private double _elapsedBefore;

    private string RunPath => folder?.Path ?? string.Empty;

    /// <summary>Whether this session has shared rank 0's state (after which every rank is in the training loop).</summary>
    public bool StateShared { get; private set; }

    public TrainingResult Begin()
    {
        if (folder is not null)
        {
            RunConfig.Write(folder.Path, options, RunConfig.Machine.Of(model.Context), _data);
            MetricsFile.Write(_metricsPath!, _history);
        }

        return Train();
    }

    public TrainingResult Resume()
    {
        if (folder is null)
        {
            return Train();  // another rank: rank 0 reads the run and shares its state in Train
        }

        TrainerOptions recorded = RunConfig.Read(folder.Path).Normalized();
        ResumeOverrides.Check(recorded, options, folder.Path);
        // No checkpoint yet: the run stopped before its first epoch ended and starts again from step 0.
        Checkpoint? checkpoint = File.Exists(folder.CheckpointPath) ? Checkpoint.Load(folder.CheckpointPath) : null;
        if (checkpoint is not null)
        {
            checkpoint.RequireInputOf(_data.Train, _data.Spec.Name);
            if (checkpoint.Method is string trained && trained != options.Method)
            {
                throw new CheckpointException($"checkpoint {checkpoint.Path} was trained with {trained}, but the run's {RunConfig.FileName} says {options.Method}; the folder mixes two runs.");
            }

            checkpoint.ApplyTo(model, optimizer);
            _step = _savedStep = checkpoint.Step;
            _lossSum = checkpoint.GetDouble("epoch_loss_sum");
            _correctSum = checkpoint.GetDouble("epoch_correct_sum");
            _seen = checkpoint.GetLong("epoch_seen");
            _elapsedBefore = checkpoint.GetDouble("elapsed_s");
            _history.AddRange(checkpoint.Metadata.TryGetValue("metrics", out string? rows) ? MetricsFile.Parse(rows) : []);
        }

        // The checkpoint is the commit point: metrics.csv may lag it (a kill between the two), never lead it.
        MetricsFile.Write(_metricsPath!, _history);
        RunConfig.RecordResume(folder.Path, recorded, options, _step, RunConfig.Machine.Of(model.Context), _data);
        log(checkpoint is null ? $"{folder.CheckpointPath} does not exist yet: starting from step 0" : $"resumed from {checkpoint.Path} at step {_step}");
        return Train();
    }

    private TrainingResult Train()
    {
        if (parallel is not null)
        {
            var counters = RunStateBroadcast.Share(parallel.Communicator, model, optimizer, new RunCounters(_step, _lossSum, _correctSum, _seen, _elapsedBefore));
            (_step, _lossSum, _correctSum, _seen, _elapsedBefore) = counters;
            StateShared = true;
        }

        var loader = new BatchLoader(_data.Train, new BatchLoaderOptions
        {
            BatchSize = options.BatchSize,
            Shuffle = true,
            Seed = unchecked((int)options.Seed),
            Normalization = _data.Normalization,
            Views = model.Config.Loss == LocalLoss.Contrastive ? Trainer.ViewsFor(_data) : null,
        });
        int batches = loader.BatchesPerEpoch;
        long totalSteps = (long)options.Epochs * batches;
        long stopAt = Math.Min(totalSteps, options.MaxSteps ?? long.MaxValue);
        double lastTestError = _history.Count > 0 ? _history[^1].TestError : double.NaN;
        if (_step >= stopAt)
        {
            log(string.Create(CultureInfo.InvariantCulture,
                $"nothing to train: the run is at step {_step} and stops at step {stopAt} ({options.Epochs} epochs x {batches} batches{(options.MaxSteps is long m ? $", --max-steps {m}" : "")}); pass a larger --epochs to extend it."));
            return new TrainingResult(RunPath, [], lastTestError, _step, null);
        }

        var schedule = new LearningRateSchedule(scheduleKind, options.LearningRate, totalSteps, (long)Math.Round(options.WarmupEpochs * batches));
        double explodeLimit = Math.Max(50, 20 * Math.Log(model.Config.Classes));
        log($"{method.PaperName()}{(model.Config.Loss == LocalLoss.Contrastive ? " (contrastive local losses, two views per image; the test error is the linear readout's)" : "")} {model.Config.Name} ({model.ParameterCount:N0} parameters) on {_data.Spec.Name}: {_data.Train.Count} train / {_data.Test.Count} test images, " +
            $"{options.Epochs} epochs x {batches} batches of {options.BatchSize}, K={options.Tangents}, {options.Optimizer} lr {options.LearningRate} {options.Schedule} warmup {options.WarmupEpochs} ep, {model.Context.Backend.ToString().ToLowerInvariant()}");
        if (model.Context.Backend == Backend.Cpu && Backends.GemmProvider.Warning is { Length: > 0 } gemmWarning)
        {
            log($"warning: {gemmWarning}");  // e.g. generic GEMM kernels on a CPU with AVX-512, and the fix
        }

        var rows = new List<EpochMetrics>();
        var clock = Stopwatch.StartNew();
        BatchLoader? testLoader = null;
        double lr = schedule.At(Math.Max(0, _step - 1));
        float[] blockLosses = new float[model.Config.Blocks];
        bool channelSlicesPerGroup = TrainerOptions.SlicesChannelsPerGroup(options.ChannelSlices);
        string? divergence = null;  // the first diverged step's message, where the ranks stop only at the epoch's end
        while (_step < stopAt)
        {
            int epoch = (int)(_step / batches);
            int skip = (int)(_step - (long)epoch * batches);
            if (skip == 0)
            {
                _lossSum = _correctSum = 0;
                _seen = 0;
            }

            var epochClock = Stopwatch.StartNew();
            long epochImages = 0;
            foreach (Batch batch in loader.Epoch(epoch))
            {
                if (batch.Index < skip)
                {
                    continue;
                }

                // The allocation-free overload: a steady-state step allocates no managed memory.
                if (ComputeStep(batch, blockLosses, channelSlicesPerGroup) is { } outcome && Account(outcome, explodeLimit, batches) is string failure)
                {
                    divergence ??= failure;
                    if (parallel?.StatisticsInStep ?? true)
                    {
                        return new TrainingResult(RunPath, rows, lastTestError, _step, divergence);
                    }
                }

                lr = schedule.At(_step);
                optimizer.Step((float)lr);
                _step++;
                epochImages += batch.Count;
                FaultInjection.Reached(FaultInjection.AfterStep);
                if (progress is not null)
                {
                    double rate = epochImages / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                    long remaining = stopAt - _step;
                    progress.Report(new TrainingProgress(epoch + 1, options.Epochs, batch.Index + 1, batches, _step, stopAt, _seen > 0 ? _lossSum / _seen : double.NaN, rate,
                        TimeSpan.FromSeconds(remaining * (double)options.BatchSize / Math.Max(1e-9, rate))));
                }

                if (_step >= stopAt)
                {
                    break;
                }
            }

            bool epochDone = _step == (long)(epoch + 1) * batches;
            if (parallel is not null)
            {
                foreach (StepOutcome outcome in parallel.Drain())
                {
                    string? failure = Account(outcome, explodeLimit, batches);
                    divergence ??= failure;
                }

                parallel.GatherToRoot(optimizer);
                if (parallel.AgreeToStop(divergence is not null))
                {
                    return new TrainingResult(RunPath, rows, lastTestError, _step, divergence ?? "training diverged (rank 0 reports the step)");
                }
            }

            if (folder is null)
            {
                continue;  // another rank of a parallel run: rank 0 evaluates, saves and reports
            }

            // One loader for every evaluation of the run: its pinned batch buffers are allocated once.
            testLoader ??= Trainer.EvaluationLoader(_data.Test, _data.Normalization, options.EvalBatchSize);
            lastTestError = Trainer.Evaluate(model, testLoader);
            var row = new EpochMetrics(epoch + 1, _step, _lossSum / _seen, 100.0 * (1 - (_correctSum / _seen)),
                lastTestError, epochImages / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds), _elapsedBefore + clock.Elapsed.TotalSeconds, lr);
            rows.Add(row);
            _history.Add(row);
            Commit(epoch, epochDone, row.ElapsedSeconds);
            epochCompleted?.Invoke(row);
            log(string.Create(CultureInfo.InvariantCulture,
                $"epoch {row.Epoch}/{options.Epochs}{(epochDone ? "" : " (partial)")}: train loss {row.TrainLoss:F4}, train error {row.TrainError:F2}%, test error {row.TestError:F2}%, {row.ImagesPerSecond:F0} images/s, {row.ElapsedSeconds:F1} s"));
        }

        return new TrainingResult(RunPath, rows, lastTestError, _step, null);
    }

    /// <summary>
    /// The gradients of one batch, this process's or the parallel step's over every rank, and the outcome of a finished step:
    /// this one, or (block pipeline) an earlier one whose statistics reached this rank now.
    /// </summary>
    private StepOutcome? ComputeStep(Batch batch, Span<float> blockLosses, bool channelSlicesPerGroup)
    {
        if (parallel is not null)
        {
            return parallel.Compute(batch, _step, options.Tangents, options.Seed, (float)options.HeadLr, (float)options.LastLayerLr, channelSlicesPerGroup);
        }

        var (loss, accuracy, _) = model.ComputeGradients(batch.Images, batch.Labels, method, options.Tangents, options.Seed, unchecked((uint)_step),
            blockLosses, (float)options.HeadLr, (float)options.LastLayerLr, channelSlicesPerGroup);
        return new StepOutcome(_step, batch.Count, loss, accuracy, StepOutcomes.AllFinite(blockLosses));
    }

    /// <summary>Adds a finished step to the epoch's sums; the divergence message when it diverged, else null.</summary>
    private string? Account(StepOutcome outcome, double explodeLimit, int batches)
    {
        if (!float.IsFinite(outcome.Loss) || outcome.Loss > explodeLimit || !outcome.BlockLossesFinite)
        {
            return DivergenceMessage((int)(outcome.Step / batches), outcome.Step, outcome.Loss);
        }

        _lossSum += (double)outcome.Loss * outcome.Images;
        _correctSum += Math.Round((double)outcome.Accuracy * outcome.Images);
        _seen += outcome.Images;
        return null;
    }

    /// <summary>Saves the checkpoint with every row so far (the commit point), then metrics.csv from the same rows.</summary>
    private void Commit(int epoch, bool epochDone, double elapsed)
    {
        FaultInjection.Reached(FaultInjection.BeforeCheckpoint);
        var extra = new Dictionary<string, string>
        {
            ["epoch"] = Text(epochDone ? epoch + 1 : epoch),
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["dataset"] = _data.Spec.Name,
            ["epoch_loss_sum"] = epochDone ? "0" : Text(_lossSum),
            ["epoch_correct_sum"] = epochDone ? "0" : Text(_correctSum),
            ["epoch_seen"] = epochDone ? "0" : Text(_seen),
            ["elapsed_s"] = Text(elapsed),
            ["metrics"] = MetricsFile.Format(_history),
        };
        Checkpoint.Save(folder!.CheckpointPath, model, optimizer, new CheckpointInfo(method.PaperName(), _step, _data.Normalization), extra);
        _savedStep = _step;
        FaultInjection.Reached(FaultInjection.AfterCheckpoint);
        MetricsFile.Write(_metricsPath!, _history);
        FaultInjection.Reached(FaultInjection.AfterMetrics);
    }

    private string DivergenceMessage(int epoch, long step, float loss)
    {
        string advice = string.Create(CultureInfo.InvariantCulture,
            $"training diverged at epoch {epoch + 1}, step {step}: loss {loss}; start a new run with a lower learning rate (e.g. --lr {options.LearningRate / 3:G3}).");
        return _savedStep >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{advice} The last good checkpoint (step {_savedStep}) is kept in {folder!.CheckpointPath}.")
            : $"{advice} No checkpoint was saved: the run diverged before its first epoch ended.";
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
