using System.Runtime.ExceptionServices;

namespace ForwardGrad.Data;

/// <summary>
/// Produces normalised float32 batches, (B, H, W, C), with int labels, from an <see cref="ImageDataset"/>.
/// A background producer decodes, augments and normalises the next batches while the consumer works on the
/// current one; batches are <see cref="BatchLoaderOptions.Prefetch"/> + 1 preallocated, pinned buffers used in
/// turn, so a steady-state epoch allocates nothing per batch.
/// </summary>
/// <remarks>
/// A batch handed out by <see cref="Epoch"/> stays valid until the enumeration moves to the next one.
/// One epoch enumerates at a time per loader.
/// </remarks>
public sealed class BatchLoader
{
    private readonly ImageDataset _data;
    private readonly SampleEncoder _encoder;
    private readonly ViewSampler? _views;
    private readonly EpochShuffler? _shuffler;
    private readonly Batch[] _slots;
    private readonly int[] _order;
    private int _running;

    /// <summary>Creates a loader over <paramref name="data"/>.</summary>
    public BatchLoader(ImageDataset data, BatchLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Prefetch);
        _data = data;
        Options = options;
        Normalization = options.Normalization ?? data.ComputeStats();
        _encoder = new SampleEncoder(Normalization, data.Height, data.Width, data.Channels, options.Augmentation, options.Seed);
        if (options.Views is { } views)
        {
            if (options.Augmentation is not null)
            {
                throw new ArgumentException("Views and Augmentation exclude each other: the views are the contrastive loss's augmentation.", nameof(options));
            }

            _views = new ViewSampler(views, Normalization, data.Height, data.Width, data.Channels, options.Seed);
        }

        _shuffler = options.Shuffle ? new EpochShuffler(data.Count, options.Seed) : null;
        _order = new int[data.Count];
        int capacity = Math.Min(options.BatchSize, Math.Max(1, data.Count)) * (_views is null ? 1 : 2);
        _slots = new Batch[options.Prefetch + 1];
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Batch(capacity, data.Height, data.Width, data.Channels);
        }
    }

    /// <summary>The data set the loader reads.</summary>
    public ImageDataset Data => _data;

    /// <summary>The options the loader was made with.</summary>
    public BatchLoaderOptions Options { get; }

    /// <summary>The statistics the images are normalised with.</summary>
    public ChannelStats Normalization { get; }

    /// <summary>Batches in one epoch.</summary>
    public int BatchesPerEpoch => Options.DropLast
        ? _data.Count / Options.BatchSize
        : (_data.Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>The batches of <paramref name="epoch"/>, in its seeded order; each valid until the next is requested.</summary>
    public IEnumerable<Batch> Epoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return Run(epoch);
    }

    private IEnumerable<Batch> Run(int epoch)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("This loader is already enumerating an epoch; finish or dispose that enumeration first.");
        }

        using var free = new SemaphoreSlim(_slots.Length);
        using var ready = new SemaphoreSlim(0);
        using var cancel = new CancellationTokenSource();
        var producer = new Producer(this, epoch, free, ready, cancel.Token);
        Task task = Task.Factory.StartNew(producer.Run, cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            for (int b = 0; b < BatchesPerEpoch; b++)
            {
                ready.Wait();
                if (producer.Failure is { } failure)
                {
                    ExceptionDispatchInfo.Capture(failure).Throw();
                }

                yield return _slots[b % _slots.Length];
                free.Release();
            }
        }
        finally
        {
            cancel.Cancel();
            try
            {
                task.Wait();
            }
            catch (AggregateException error) when (error.InnerExceptions.All(e => e is OperationCanceledException))
            {
                // The producer stopped because the consumer left early.
            }

            Volatile.Write(ref _running, 0);
        }
    }

    private void Fill(Batch batch, int epoch, int index)
    {
        int start = index * Options.BatchSize;
        int count = Math.Min(Options.BatchSize, _data.Count - start);
        int size = _data.ImageSize;
        ReadOnlySpan<int> labels = _data.Labels;
        for (int i = 0; i < count; i++)
        {
            int item = _order[start + i];
            batch.LabelBuffer[i] = labels[item];
            if (_views is null)
            {
                _encoder.Encode(_data.Image(item), batch.ImageBuffer.AsSpan(i * size, size), epoch, item);
                continue;
            }

            _views.Encode(_data.Image(item), batch.ImageBuffer.AsSpan(i * size, size), epoch, item, 0);
            _views.Encode(_data.Image(item), batch.ImageBuffer.AsSpan((count + i) * size, size), epoch, item, 1);
            batch.LabelBuffer[count + i] = labels[item];
        }

        batch.Count = _views is null ? count : 2 * count;
        batch.Index = index;
        batch.Epoch = epoch;
    }

    /// <summary>The background side of one epoch: fills free slots in order and signals each one ready.</summary>
    private sealed class Producer(BatchLoader loader, int epoch, SemaphoreSlim free, SemaphoreSlim ready, CancellationToken cancel)
    {
        private Exception? _failure;

        public Exception? Failure => Volatile.Read(ref _failure);

        public void Run()
        {
            try
            {
                if (loader._shuffler is { } shuffler)
                {
                    shuffler.Fill(epoch, loader._order);
                }
                else
                {
                    for (int i = 0; i < loader._order.Length; i++)
                    {
                        loader._order[i] = i;
                    }
                }

                for (int b = 0; b < loader.BatchesPerEpoch; b++)
                {
                    free.Wait(cancel);
                    loader.Fill(loader._slots[b % loader._slots.Length], epoch, b);
                    ready.Release();
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // The consumer stopped early.
            }
            catch (Exception error)
            {
                Volatile.Write(ref _failure, error);
                ready.Release();
            }
        }
    }
}
