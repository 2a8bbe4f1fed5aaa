using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

/// <summary>Options, data sets and checkpoints are checked where they enter, with one line naming the problem.</summary>
[TestFixture]
public sealed class InputValidationTests : SampleDataFixture
{

    [TestCase("--lr", "NaN", "--lr must be a finite number > 0; got NaN.")]
    [TestCase("--lr", "Infinity", "--lr must be a finite number > 0; got Infinity.")]
    [TestCase("--lr", "-1", "--lr must be a finite number > 0; got -1.")]
    [TestCase("--momentum", "1.5", "--momentum must be a number in [0, 1); got 1.5.")]
    [TestCase("--weight-decay", "NaN", "--weight-decay must be a finite number >= 0; got NaN.")]
    [TestCase("--warmup-epochs", "-0.5", "--warmup-epochs must be a number from 0 to --epochs; got -0.5.")]
    [TestCase("--max-steps", "0", "--max-steps must be a positive integer; got 0.")]
    [TestCase("--max-steps", "-1", "--max-steps must be a positive integer; got -1.")]
    [TestCase("--tangents", "0", "--tangents must be an integer from 1 to 1024; got 0.")]
    [TestCase("--batch-size", "0", "--batch-size must be an integer from 1 to 1048576; got 0.")]
    [TestCase("--epochs", "0", "--epochs must be a positive integer; got 0.")]
    public void BadOption_IsOneLineWithTheValueAsGiven_AndNothingIsWritten(string flag, string value, string message)
    {
        string run = Path.Combine(Folder, "run");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, flag, value, "--out", run));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Is.EqualTo("fgrad: error: " + message));
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void ThreadsAboveTheCap_AreLoweredWithAMessage_AndTheRunRecordsWhatItUsed()
    {
        string run = Path.Combine(Folder, "run");
        var (code, output, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--threads", "10000", "--max-steps", "1", "--out", run));

        Assert.That(code, Is.Zero, error);
        int cap = 4 * Environment.ProcessorCount;
        Assert.That(output, Does.Contain($"warning: --threads 10000 is more than 4 per CPU on this machine ({Environment.ProcessorCount} CPUs); using {cap}."));
        JsonNode config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunConfig.FileName)))!;
        Assert.That((int)config["threads"]!, Is.EqualTo(cap));
        Assert.That((int)config["build"]!["context_threads"]!, Is.EqualTo(cap));
    }

    [TestCase(0, 40, "the training set of mnist-sample")]
    [TestCase(96, 0, "the test set of mnist-sample")]
    public void DataSetWithoutImages_IsRefusedBeforeAnythingIsWritten(int train, int test, string named)
    {
        string dataDir = TrainingFixtures.WriteSampleData(Path.Combine(Folder, "empty"), train, test);
        string run = Path.Combine(Folder, "run");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(dataDir, "--out", run));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Does.Contain(named).And.Contain("has no images"));
        Assert.That(Directory.Exists(run), Is.False);
    }

    [Test]
    public void EvalOfACheckpointForOtherImages_IsRefusedNamingBothShapes()
    {
        string path = Path.Combine(Folder, "cifar-shaped.safetensors");
        using (var context = Context.Cpu())
        using (var model = new LocalMixer(context, LocalMixerConfig.S1_1.ForData(32, 32, 3, 10)))
        {
            Checkpoint.Save(path, model, null, new CheckpointInfo("BP", 1, new ChannelStats([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])));
        }

        var (code, _, error) = CliRunner.Run("eval", "--checkpoint", path, "--dataset", "mnist-sample", "--data-dir", DataDir);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Split('\n')[0], Does.Contain("was made for 32x32x3 images and 10 classes, but mnist-sample has 28x28x1 images"));
    }

    [Test]
    public void NonFiniteWeights_AreRefusedByEvalAndByResume()
    {
        string run = Path.Combine(Folder, "run");
        Assert.That(CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--max-steps", "3", "--out", run)).ExitCode, Is.Zero);
        string path = Path.Combine(run, RunFolder.CheckpointFileName);
        Checkpoint good = Checkpoint.Load(path);
        var tensors = good.Tensors.Values.ToList();
        tensors[0].Data[5] = float.NaN;
        SafeTensors.Write(path, tensors, good.Metadata);

        var eval = CliRunner.Run("eval", "--checkpoint", run, "--data-dir", DataDir);
        var resume = CliRunner.Run("train", "--resume", run);

        foreach (var (code, _, error) in new[] { eval, resume })
        {
            Assert.That(code, Is.EqualTo(1));
            Assert.That(error.Split('\n')[0], Does.Contain($"holds non-finite weights: tensor {tensors[0].Name} has NaN at index 5"));
        }
    }

    [Test]
    public void DamagedTensorBytes_FailTheChecksumOnLoad()
    {
        string run = Path.Combine(Folder, "run");
        Assert.That(CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--max-steps", "3", "--out", run)).ExitCode, Is.Zero);
        string path = Path.Combine(run, RunFolder.CheckpointFileName);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0x01; // one bit of one weight: still a finite float
        File.WriteAllBytes(path, bytes);

        Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains("does not match the SHA-256"));
        var (code, _, error) = CliRunner.Run("eval", "--checkpoint", run, "--data-dir", DataDir);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("does not match the SHA-256"));
    }

    [TestCase(new long[] { 0, 8, 0, 8 }, 16, "tensor b at data offsets [0, 8) overlaps tensor a")]
    [TestCase(new long[] { 8, 16, 0, 8 }, 16, "")]
    [TestCase(new long[] { 0, 8, 4, 12 }, 16, "overlaps tensor a")]
    [TestCase(new long[] { 0, 8, 16, 24 }, 24, "leaves a gap of 8 bytes after tensor a")]
    [TestCase(new long[] { 0, 8, 8, 16 }, 24, "cover 16 bytes of a 24-byte data section")]
    public void DataOffsets_MustTileTheDataSection(long[] offsets, int dataBytes, string problem)
    {
        string header = $"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[{offsets[0]},{offsets[1]}]}},\"b\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[{offsets[2]},{offsets[3]}]}}}}";
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] file = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        string path = Path.Combine(Folder, "crafted.safetensors");
        File.WriteAllBytes(path, file);

        if (problem.Length == 0)
        {
            Assert.That(Checkpoint.Load(path).Tensors.Keys, Is.EquivalentTo(new[] { "a", "b" }), "tensors stored in another order than the header's are fine");
        }
        else
        {
            Assert.That(() => Checkpoint.Load(path), Throws.InstanceOf<CheckpointException>().With.Message.Contains("is corrupt").And.Message.Contains(problem));
        }
    }

    [Test]
    public void GenericGemmKernels_AreWarnedOfWithTheFix_WhenTrainingStarts()
    {
        GemmProviderInfo here = Backends.GemmProvider;
        if (here.Id != "openblas" || here.CpuIsa is not ("AVX2" or "AVX-512"))
        {
            Assert.Ignore($"needs OpenBLAS on a CPU with AVX2 or AVX-512 (here: {here.Id}, {here.CpuIsa})");
        }

        // A child process whose OpenBLAS is forced onto its SSE3 fallback, as a misdetected CPU would run it.
        var environment = new Dictionary<string, string> { ["OPENBLAS_CORETYPE"] = "Prescott", ["FG_GEMM_PROVIDER"] = "openblas" };
        string run = Path.Combine(Folder, "run");
        var (code, output, error) = Tests.Support.FgradProcess.Run(environment, TrainingFixtures.TinyTrain(DataDir, "--epochs", "1", "--out", run));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("warning: OpenBLAS runs its Prescott (SSE3) kernels on a CPU with " + here.CpuIsa));
        Assert.That(output, Does.Contain("OPENBLAS_CORETYPE=Prescott is set; unset it"));
    }
}
