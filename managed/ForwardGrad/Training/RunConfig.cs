using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ForwardGrad.Checkpoints;
using ForwardGrad.Data;
using ForwardGrad.IO;

namespace ForwardGrad.Training;

/// <summary>
/// config.json of a run folder (snake_case keys): the run's <see cref="TrainerOptions"/> at the top level, then
/// "build" (library versions, git commit, GEMM provider, threads), "data" (where the data came from, its sizes and
/// normalisation) and "resumes" (one entry per resume, with the options it changed).
/// </summary>
public static class RunConfig
{
    /// <summary>The file name in a run folder.</summary>
    public const string FileName = "config.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "3 -> 4", not "3 -\u003E 4"
    };

    /// <summary>The environment a run records in config.json's "build" section.</summary>
    /// <param name="Gemm">GEMM provider of the run's context.</param>
    /// <param name="DeviceName">The device the run's context runs on.</param>
    /// <param name="Backend">cpu or cuda.</param>
    /// <param name="ContextThreads">CPU threads the context was created with (0: the library's default).</param>
    public sealed record Machine(string Gemm, string DeviceName, string Backend, int ContextThreads)
    {
        /// <summary>What <paramref name="context"/> reports.</summary>
        public static Machine Of(Context context)
        {
            ArgumentNullException.ThrowIfNull(context);
            ContextInfo info = context.Info;
            return new Machine(info.GemmName, info.DeviceName, context.Backend.ToString().ToLowerInvariant(), info.Threads);
        }
    }

    /// <summary>Writes a new run's config.json atomically.</summary>
    public static void Write(string runDirectory, TrainerOptions options, Machine machine, DatasetSplits data) =>
        Save(runDirectory, Describe(options, machine, data, resumes: []));

    /// <summary>
    /// Rewrites config.json for a resume: the options as now run, the environment of this process, and the earlier
    /// resumes plus one entry (step resumed at, changed options as "old -> new").
    /// </summary>
    public static void RecordResume(string runDirectory, TrainerOptions before, TrainerOptions after, long step, Machine machine, DatasetSplits data)
    {
        JsonArray resumes = ReadNode(runDirectory)["resumes"]?.AsArray().DeepClone().AsArray() ?? [];
        var changed = new JsonObject();
        foreach (var (name, was, now) in Differences(before, after))
        {
            changed[name] = $"{was} -> {now}";
        }

        resumes.Add(new JsonObject
        {
            ["at_step"] = step,
            ["time_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["changed"] = changed,
        });
        Save(runDirectory, Describe(after, machine, data, resumes));
    }

    /// <summary>Reads the options of a run's config.json.</summary>
    public static TrainerOptions Read(string runDirectory)
    {
        JsonObject node = ReadNode(runDirectory);
        try
        {
            return node.Deserialize<TrainerOptions>(Json) ?? throw new InvalidDataException($"{Path.Combine(runDirectory, FileName)} is empty.");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{Path.Combine(runDirectory, FileName)} is not a config.json of this version: {error.Message}", error);
        }
    }

    /// <summary>The options that differ between <paramref name="a"/> and <paramref name="b"/>: snake_case name, old and new value.</summary>
    public static IReadOnlyList<(string Name, string Was, string Now)> Differences(TrainerOptions a, TrainerOptions b)
    {
        JsonObject left = JsonSerializer.SerializeToNode(a, Json)!.AsObject();
        JsonObject right = JsonSerializer.SerializeToNode(b, Json)!.AsObject();
        var result = new List<(string, string, string)>();
        foreach (var (name, value) in left)
        {
            string was = value?.ToJsonString(Json) ?? "null";
            string now = right[name]?.ToJsonString(Json) ?? "null";
            if (was != now)
            {
                result.Add((name, was, now));
            }
        }

        return result;
    }

    private static JsonObject Describe(TrainerOptions options, Machine machine, DatasetSplits data, JsonArray resumes)
    {
        JsonObject root = JsonSerializer.SerializeToNode(options, Json)!.AsObject();
        root["build"] = new JsonObject
        {
            ["library_version"] = BuildInfo.Version,
            ["native_version"] = BuildInfo.NativeVersion,
            ["git_commit"] = BuildInfo.Commit,
            ["gemm"] = machine.Gemm,
            ["backend"] = machine.Backend,
            ["device_name"] = machine.DeviceName,
            ["context_threads"] = machine.ContextThreads,
            ["processor_count"] = System.Environment.ProcessorCount,
        };
        root["data"] = new JsonObject
        {
            ["name"] = data.Spec.Name,
            ["folder"] = data.Folder,
            ["train_images"] = data.Train.Count,
            ["test_images"] = data.Test.Count,
            ["image_shape"] = new JsonArray(data.Train.Height, data.Train.Width, data.Train.Channels),
            ["classes"] = data.Train.ClassCount,
            ["normalization"] = JsonNode.Parse(CheckpointInfo.FormatNormalization(data.Normalization)),
        };
        root["resumes"] = resumes;
        return root;
    }

    private static void Save(string runDirectory, JsonObject root)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(root.ToJsonString(Json) + "\n");
        AtomicFile.Write(Path.Combine(runDirectory, FileName), stream => stream.Write(bytes));
    }

    private static JsonObject ReadNode(string runDirectory)
    {
        string path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{runDirectory} is not a run folder: {FileName} is missing.", path);
        }

        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path} is not valid JSON: {error.Message}", error);
        }
    }
}
