using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class CheckpointTests
{
    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = TrainingFixtures.TempFolder();

    [TearDown]
    public void TearDown()
    {
        SafeTensors.StreamWrapper = null;
        Directory.Delete(_folder, recursive: true);
    }

    private static readonly ChannelStats Stats = new([0.13], [0.31]);

    [Test]
    public void RoundTripsParametersOptimizerStateAndMetadata()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 5 });
        using var optimizer = new Optimizer(model, new OptimizerSettings(OptimizerKind.AdamW));
        var data = TrainingFixtures.Synthetic("x", 8, 3);
        float[] images = [.. data.Pixels.ToArray().Select(b => b / 255f)];
        model.ComputeGradients(images, data.Labels, TrainingMethod.BP, 1, 1, 0);
        optimizer.Step(0.01f);
        string path = Path.Combine(_folder, "c.safetensors");
        Checkpoint.Save(path, model, optimizer, new CheckpointInfo("BP", 1, Stats));

        using var copy = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 9 });
        using var copyOptimizer = new Optimizer(copy, new OptimizerSettings(OptimizerKind.AdamW));
        Checkpoint loaded = Checkpoint.Load(path);
        loaded.ApplyTo(copy, copyOptimizer);
        Assert.That(loaded.Metadata["method"], Is.EqualTo("BP"));
        Assert.That(loaded.Config, Is.EqualTo(model.Config));
        Assert.That(copyOptimizer.StepCount, Is.EqualTo(1));
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            Assert.That(copy.Parameters[i].ToArray(), Is.EqualTo(model.Parameters[i].ToArray()));
            Assert.That(copyOptimizer.GetState(1, i), Is.EqualTo(optimizer.GetState(1, i)));
        }

        // The header is the documented safetensors layout.
        byte[] bytes = File.ReadAllBytes(path);
        ulong length = BitConverter.ToUInt64(bytes, 0);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)length);
        Assert.That(header, Does.Contain("\"dtype\":\"F32\"").And.Contain("\"data_offsets\"").And.Contain("__metadata__"));
    }

    [Test]
    public void EachSaveWritesTheValuesOfItsOwnMoment()
    {
        // A run saves the same model every epoch, through host copies kept between saves: a later save must
        // carry the new values, and an earlier file must keep the values it was written with.
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 5 });
        using var optimizer = new Optimizer(model, new OptimizerSettings(OptimizerKind.Sgd));
        var data = TrainingFixtures.Synthetic("x", 8, 3);
        float[] images = [.. data.Pixels.ToArray().Select(b => b / 255f)];
        string first = Path.Combine(_folder, "1.safetensors"), second = Path.Combine(_folder, "2.safetensors");
        float[][] Snapshot() => [.. model.Parameters.Select(p => p.ToArray())];
        float[][] Momenta() => [.. model.Parameters.Select(p => optimizer.GetState(0, p.Index))];

        model.ComputeGradients(images, data.Labels, TrainingMethod.BP, 1, 1, 0);
        optimizer.Step(0.1f);
        float[][] before = Snapshot(), momentaBefore = Momenta();
        Checkpoint.Save(first, model, optimizer, new CheckpointInfo("BP", 1, Stats));
        model.ComputeGradients(images, data.Labels, TrainingMethod.BP, 1, 1, 1);
        optimizer.Step(0.1f);
        float[][] after = Snapshot(), momentaAfter = Momenta();
        Assert.That(after[0], Is.Not.EqualTo(before[0]), "the second step must change the weights");
        Checkpoint.Save(second, model, optimizer, new CheckpointInfo("BP", 2, Stats));

        foreach (var (path, values, momenta) in new[] { (first, before, momentaBefore), (second, after, momentaAfter) })
        {
            using var copy = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 9 });
            using var copyOptimizer = new Optimizer(copy, new OptimizerSettings(OptimizerKind.Sgd));
            Checkpoint.Load(path).ApplyTo(copy, copyOptimizer);
            for (int i = 0; i < values.Length; i++)
            {
                Assert.That(copy.Parameters[i].ToArray(), Is.EqualTo(values[i]), $"{path}: {copy.Parameters[i].Name}");
                Assert.That(copyOptimizer.GetState(0, i), Is.EqualTo(momenta[i]), $"{path}: momentum of {copy.Parameters[i].Name}");
            }
        }
    }

    [TestCase(TrainingMethod.FA)]
    [TestCase(TrainingMethod.DFA)]
    public void RoundTripsTheFeedbackMatricesOfAFeedbackAlignmentRun(TrainingMethod method)
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 5 });
        FeedbackMatrix first = model.Feedback(method)[0];
        float[] custom = [.. Enumerable.Range(0, (int)first.Elements).Select(i => (i % 7) * 0.25f)];
        first.Upload(custom);  // not what any seed draws: the checkpoint must carry it
        string path = Path.Combine(_folder, "f.safetensors");
        Checkpoint.Save(path, model, null, new CheckpointInfo(method.PaperName(), 1, Stats));

        using var copy = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 9 });
        Checkpoint loaded = Checkpoint.Load(path);
        Assert.That(loaded.Tensors.Keys, Does.Contain(first.Name));
        loaded.ApplyTo(copy);
        IReadOnlyList<FeedbackMatrix> saved = model.Feedback(method), restored = copy.Feedback(method);
        Assert.That(restored.Select(f => f.Name), Is.EqualTo(saved.Select(f => f.Name)));
        Assert.That(restored[0].ToArray(), Is.EqualTo(custom));
        for (int i = 1; i < saved.Count; i++)
        {
            Assert.That(restored[i].ToArray(), Is.EqualTo(saved[i].ToArray()), saved[i].Name);
        }

        // A checkpoint of another method carries none.
        Checkpoint.Save(path, model, null, new CheckpointInfo("LG-FG-A", 1, Stats));
        Assert.That(Checkpoint.Load(path).Tensors.Keys.Where(k => k.Contains("feedback", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public void FailedWriteLeavesTheOldCheckpoint()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1);
        string path = Path.Combine(_folder, "c.safetensors");
        Checkpoint.Save(path, model, null, new CheckpointInfo("BP", 1, Stats));
        byte[] before = File.ReadAllBytes(path);
        SafeTensors.StreamWrapper = s => new FailingStream(s, failAfter: 100_000);
        Assert.That(() => Checkpoint.Save(path, model, null, new CheckpointInfo("BP", 2, Stats)), Throws.InstanceOf<IOException>());
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(_folder), Has.Length.EqualTo(1), "the temporary file is removed");
    }

    [Test]
    public void RefusesAMismatchedCheckpointNamingTheTensor()
    {
        using var context = Context.Cpu();
        using var small = new LocalMixer(context, LocalMixerConfig.S1_1);
        string path = Path.Combine(_folder, "c.safetensors");
        Checkpoint.Save(path, small, null, new CheckpointInfo("BP", 0, Stats));
        using var other = new LocalMixer(context, LocalMixerConfig.M1_16);
        string first = other.Parameters[0].Name;
        Assert.That(() => Checkpoint.Load(path).ApplyTo(other),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains(first).And.Message.Contains("784, 512").And.Message.Contains("784, 256"));
    }

    [Test]
    public void CorruptFileGivesAClearError()
    {
        string path = Path.Combine(_folder, "bad.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains("corrupt"));
    }

    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > failAfter)
            {
                throw new IOException("injected failure mid-write");
            }

            _written += buffer.Length;
            inner.Write(buffer);
        }
    }
}
