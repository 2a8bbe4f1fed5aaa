using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CommandLine;
using ForwardGrad.Checkpoints;
using ForwardGrad.Cli.Commands;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Tests.Support;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

/// <summary>Checkpoints and run folders say what they are; one options type with the documented defaults; the caller's model.</summary>
[TestFixture]
public sealed partial class SelfDescribingRunTests : SampleDataFixture
{
    private static readonly ChannelStats Stats = new([0.1307], [0.3081]);

    [Test]
    public void CheckpointSavedByACallersOwnCode_CarriesModelMethodStepNormalizationAndVersions()
    {
        string path = Path.Combine(Folder, "mine.safetensors");
        using (var context = Context.Cpu())
        using (var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 4 }))
        {
            Checkpoint.Save(path, model, null, new CheckpointInfo("LG-FG-A", 7, Stats));
            Assert.That(() => Checkpoint.Save(path, model, null, new CheckpointInfo("BP", 1, Stats), new Dictionary<string, string> { ["step"] = "9" }),
                Throws.ArgumentException.With.Message.Contains("'step'"));
        }

        Checkpoint loaded = Checkpoint.Load(path);
        Assert.That((loaded.Metadata["model"], loaded.Method, loaded.Step), Is.EqualTo(("S/1/1", "LG-FG-A", 7L)));
        Assert.That((loaded.Normalization!.Mean, loaded.Normalization.Std), Is.EqualTo((Stats.Mean, Stats.Std)));
        Assert.That(loaded.Metadata["library_version"], Is.EqualTo(BuildInfo.Version).And.Not.Empty);
        Assert.That(loaded.Metadata["native_version"], Is.EqualTo(Backends.LibraryVersion));

        var (code, output, error) = CliRunner.Run("eval", "--checkpoint", path, "--data-dir", DataDir);
        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.StartWith("LG-FG-A S/1/1 step 7 on mnist-sample (40 test images): test error "));
    }

    [Test]
    public void ConfigJson_HasSnakeCaseKeys_AndRecordsVersionsGemmThreadsAndNormalization()
    {
        string run = Path.Combine(Folder, "run");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--threads", "1", "--max-steps", "2", "--out", run));
        Assert.That(code, Is.Zero, error);

        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunConfig.FileName)))!.AsObject();
        Assert.That(Keys(config).Where(k => !SnakeCase().IsMatch(k)), Is.Empty);
        Assert.That(((double)config["learning_rate"]!, (int)config["batch_size"]!, (string)config["method"]!), Is.EqualTo((0.05, 16, "LG-FG-A")));
        JsonNode build = config["build"]!;
        Assert.That((string)build["library_version"]!, Is.EqualTo(BuildInfo.Version));
        Assert.That((string)build["native_version"]!, Is.EqualTo(Backends.LibraryVersion));
        Assert.That((string?)build["git_commit"], Is.EqualTo(BuildInfo.Commit));
        using (var context = Context.Cpu())
        {
            Assert.That((string)build["gemm"]!, Is.EqualTo(context.Info.GemmName));
        }

        Assert.That(((int)build["context_threads"]!, (int)build["processor_count"]!), Is.EqualTo((1, Environment.ProcessorCount)));
        ChannelStats expected = DatasetCatalog.Load("mnist-sample", DataDir).Normalization;
        JsonNode data = config["data"]!;
        Assert.That(((int)data["train_images"]!, (int)data["test_images"]!), Is.EqualTo((96, 40)));
        Assert.That((double)data["normalization"]!["mean"]![0]!, Is.EqualTo(expected.Mean[0]));
        Assert.That((double)data["normalization"]!["std"]![0]!, Is.EqualTo(expected.Std[0]));
        Assert.That(RunConfig.Read(run).LearningRate, Is.EqualTo(0.05), "the options read back from the same file");
    }

    [Test]
    public void LayerNormAndSlicingOptions_ReachTheModelTheConfigAndTheCheckpoint()
    {
        string run = Path.Combine(Folder, "ln");
        var (code, _, error) = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--method", "lg-fg-w", "--pre-linear-ln", "--inter-ln", "--final-ln",
            "--channel-slices", "group", "--threads", "1", "--max-steps", "2", "--out", run));
        Assert.That(code, Is.Zero, error);
        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, RunConfig.FileName)))!.AsObject();
        Assert.That(((bool)config["pre_linear_layer_norm"]!, (bool)config["inter_layer_norm"]!, (bool)config["final_layer_norm"]!, (string)config["channel_slices"]!),
            Is.EqualTo((true, true, true, "group")));
        LocalMixerConfig model = Checkpoint.Load(Path.Combine(run, RunFolder.CheckpointFileName)).Config;
        Assert.That((model.PreLinearLayerNorm, model.InterLayerNorm, model.FinalLayerNorm), Is.EqualTo((true, true, true)));

        var bad = CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--channel-slices", "diagonal", "--out", Path.Combine(Folder, "bad")));
        Assert.That(bad.ExitCode, Is.Not.Zero);
        Assert.That(bad.Output + bad.Error, Does.Contain("--channel-slices").And.Contain("sum, group"));
        Assert.That(Directory.Exists(Path.Combine(Folder, "bad")), Is.False, "nothing is written for a bad option");
    }

    [Test]
    public void PythonLoader_ReadsACheckpointAsTheLibraryDoes_AndMapsLinearWeightsForTorch()
    {
        string run = Path.Combine(Folder, "run");
        Assert.That(CliRunner.Run(TrainingFixtures.TinyTrain(DataDir, "--max-steps", "2", "--out", run)).ExitCode, Is.Zero);
        string path = Path.Combine(run, RunFolder.CheckpointFileName);
        Checkpoint checkpoint = Checkpoint.Load(path);
        string script = RepositoryPaths.Find(Path.Combine("python", "forwardgrad_checkpoint.py"));

        JsonNode dump = JsonNode.Parse(Python(0, script, path, "--json"))!;
        Assert.That(dump["metadata"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!), Is.EquivalentTo(checkpoint.Metadata));
        JsonObject tensors = dump["tensors"]!.AsObject();
        Assert.That(tensors.Select(p => p.Key), Is.EquivalentTo(checkpoint.Tensors.Keys));
        foreach (var (name, tensor) in checkpoint.Tensors)
        {
            Assert.That(tensors[name]!["shape"]!.AsArray().Select(d => (long)d!), Is.EqualTo(tensor.Shape), name);
            Assert.That(tensors[name]!["values"]!.AsArray().Select(v => (float)(double)v!), Is.EqualTo(tensor.Data), name);
        }

        // torch.nn.Linear.weight is (out, in): the stored (in, out) weight transposed.
        string folder = Path.GetDirectoryName(script)!;
        string code = $"import sys, json; sys.path.insert(0, {Quote(folder)}); import forwardgrad_checkpoint as f; " +
            $"t, _ = f.load({Quote(path)}); print(json.dumps(f.torch_linear_weight(*t['final.weight'])))";
        JsonArray rows = JsonNode.Parse(Python(0, "-c", code))!.AsArray();
        NamedTensor final = checkpoint.Tensors["final.weight"];
        int n = (int)final.Shape[0], m = (int)final.Shape[1];
        Assert.That(rows, Has.Count.EqualTo(m));
        for (int j = 0; j < m; j++)
        {
            Assert.That(rows[j]!.AsArray().Select(v => (float)(double)v!), Is.EqualTo(Enumerable.Range(0, n).Select(i => final.Data[(i * m) + j])), $"row {j}");
        }

        byte[] bytes = File.ReadAllBytes(path);
        bytes[^40] ^= 0x01;
        File.WriteAllBytes(path, bytes);
        Assert.That(Python(1, script, path), Does.Contain("does not match data_sha256"));
    }

    [Test]
    public void Version_PrintsTheVersionsOnOneLine()
    {
        var (code, output, _) = CliRunner.Run("--version");
        Assert.That(code, Is.Zero);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1));
        Assert.That(lines[0], Does.StartWith($"fgrad {BuildInfo.Version} (").And.Contain($"native library {Backends.LibraryVersion})"));
    }

    [Test]
    public void EveryDefaultInTrainHelp_IsTheTrainerOptionsDefault()
    {
        var (_, help, _) = CliRunner.Run("train", "--help");
        string text = Regex.Replace(help, @"\s+", " ");
        var defaults = DefaultInHelp().Matches(text).ToDictionary(m => m.Groups["flag"].Value, m => m.Groups["value"].Value);
        Assert.That(defaults.Keys, Is.SupersetOf(new[] { "model", "method", "tangents", "batch-size", "lr", "momentum", "weight-decay", "schedule", "warmup-epochs", "head-lr", "last-layer-lr", "seed", "device", "threads", "dataset" }));

        using var parser = new Parser(settings => settings.HelpWriter = null);
        foreach (var (flag, value) in defaults)
        {
            var parsed = parser.ParseArguments(["train", $"--{flag}", value], typeof(TrainOptions));
            Assert.That(parsed.Tag, Is.EqualTo(ParserResultType.Parsed), flag);
            TrainerOptions given = ((TrainOptions)parsed.Value).ApplyTo(new TrainerOptions()).Normalized();
            Assert.That(given, Is.EqualTo(new TrainerOptions()), $"--{flag} {value} is the documented default");
        }

        var main = new TrainerOptions();
        Assert.That((main.Method, main.Model, main.Tangents, main.LearningRate, main.Epochs, main.BatchSize), Is.EqualTo(("LG-FG-A", "M/1/16", 4, 0.1, 60, 128)),
            "the main job of the README");
    }

    [Test]
    public void Trainer_TrainsTheCallersModelInTheCallersContext()
    {
        var data = TrainingFixtures.Splits();
        string run = Path.Combine(Folder, "run");
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1 with { Seed = 5 });
        float[] initial = model.Parameters[0].ToArray();
        var options = new TrainerOptions { Method = "BP", BatchSize = 16, MaxSteps = 2, Epochs = 1 };

        TrainingResult result = new Trainer(options, data, context, model).Run(run);

        Assert.That(result.Failure, Is.Null);
        Checkpoint saved = Checkpoint.Load(Path.Combine(run, RunFolder.CheckpointFileName));
        Assert.That(saved.Config, Is.EqualTo(model.Config));
        Assert.That(model.Parameters[0].ToArray(), Is.Not.EqualTo(initial), "the caller's model was trained");
        Assert.That(saved.Tensors[model.Parameters[0].Name].Data, Is.EqualTo(model.Parameters[0].ToArray()));
        Assert.That(model.Predict(new float[784], 1), Has.Length.EqualTo(1), "the trainer leaves the caller's model usable");
        using var other = Context.Cpu();
        Assert.That(() => new Trainer(options, data, other, model), Throws.ArgumentException.With.Message.Contains("another context"));
    }

    private static IEnumerable<string> Keys(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => Keys(p.Value).Prepend(p.Key)),
        JsonArray a => a.SelectMany(Keys),
        _ => [],
    };

    private static string Quote(string text) => "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    /// <summary>Runs python3 and returns stdout (expected exit 0) or stderr (otherwise); ignores the test without python3.</summary>
    private static string Python(int expectedExit, params string[] args)
    {
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1"; // no __pycache__ in the source tree
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Ignore("python3 is not on PATH: the Python loader cannot be checked here.");
            throw;
        }

        using (process)
        {
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode == 0, Is.EqualTo(expectedExit == 0), error);
            return expectedExit == 0 ? output.Result : error;
        }
    }

    [GeneratedRegex("^[a-z0-9_]+$")]
    private static partial Regex SnakeCase();

    [GeneratedRegex(@"--(?<flag>[a-z-]+) (?:(?! --).)*?\(default (?<value>[^\s):,]+)[):]")]
    private static partial Regex DefaultInHelp();
}
