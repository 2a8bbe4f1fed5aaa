using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ForwardGrad.Data;
using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Checkpoints;

/// <summary>
/// A loaded checkpoint: tensors plus metadata. Every checkpoint written by <see cref="Save"/> describes itself:
/// the model configuration ("config", JSON) and preset ("model"), "method", "step", "normalization", the library
/// versions and the SHA-256 of its tensor data. docs/CHECKPOINTS.md describes the layout.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The format tag written under "format".</summary>
    public const string Format = "forwardgrad-localmixer-1";

    private Checkpoint(string path, Dictionary<string, NamedTensor> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file it came from.</summary>
    public string Path { get; }

    /// <summary>Every tensor by name.</summary>
    public IReadOnlyDictionary<string, NamedTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The model configuration stored under "config".</summary>
    public LocalMixerConfig Config => Metadata.TryGetValue("config", out string? json)
        ? JsonSerializer.Deserialize<LocalMixerConfig>(json) ?? throw new CheckpointException($"checkpoint {Path}: empty config.")
        : throw new CheckpointException($"checkpoint {Path} has no 'config' in its metadata.");

    /// <summary>The training method stored under "method", or null.</summary>
    public string? Method => Metadata.GetValueOrDefault("method");

    /// <summary>The global step stored under "step" (0 when absent).</summary>
    public long Step => GetLong("step");

    /// <summary>The input normalisation stored under "normalization", or null when the checkpoint has none.</summary>
    public ChannelStats? Normalization
    {
        get
        {
            if (!Metadata.TryGetValue("normalization", out string? json))
            {
                return null;
            }

            try
            {
                return CheckpointInfo.ParseNormalization(json);
            }
            catch (Exception error) when (error is JsonException or FormatException or ArgumentException)
            {
                throw new CheckpointException($"checkpoint {Path} is corrupt: its normalization '{json}' is unreadable ({error.Message}).", error);
            }
        }
    }

    /// <summary>Integer metadata value, or <paramref name="fallback"/>.</summary>
    public long GetLong(string key, long fallback = 0) =>
        Metadata.TryGetValue(key, out string? text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : fallback;

    /// <summary>Floating metadata value, or <paramref name="fallback"/>.</summary>
    public double GetDouble(string key, double fallback = 0) =>
        Metadata.TryGetValue(key, out string? text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : fallback;

    /// <summary>
    /// Reads a checkpoint; throws <see cref="CheckpointException"/> for a missing or corrupt file (bad header,
    /// overlapping or out-of-range tensor data, tensor data that does not match its recorded SHA-256).
    /// </summary>
    public static Checkpoint Load(string path)
    {
        var (tensors, metadata) = SafeTensors.Read(path);
        return new Checkpoint(path, tensors, metadata);
    }

    /// <summary>
    /// Writes the model's parameters, the feedback matrices when <paramref name="info"/> names a feedback-alignment method,
    /// the optimizer's state (when given), <paramref name="info"/> and
    /// <paramref name="extra"/> metadata atomically.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="extra"/> uses a key of <see cref="CheckpointInfo.ReservedKeys"/>.</exception>
    public static void Save(string path, LocalMixer model, Optimizer? optimizer, CheckpointInfo info, IReadOnlyDictionary<string, string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(info);
        HostCopies copies = HostCopiesOf(model, optimizer);
        lock (copies)
        {
            SaveFrom(copies, path, model, optimizer, info, extra);
        }
    }

    private static void SaveFrom(HostCopies copies, string path, LocalMixer model, Optimizer? optimizer, CheckpointInfo info, IReadOnlyDictionary<string, string>? extra)
    {
        var tensors = new List<NamedTensor>();
        foreach (ModelParameter p in model.Parameters)
        {
            tensors.Add(new NamedTensor(p.Name, p.ShapeArray, copies.Of(p.Name, p.Value)));
        }

        foreach (FeedbackMatrix f in FeedbackOf(model, info.Method))
        {
            tensors.Add(new NamedTensor(f.Name, f.ShapeArray, copies.Of(f.Name, f.Value)));
        }

        var meta = new Dictionary<string, string>();
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            if (CheckpointInfo.ReservedKeys.Contains(key))
            {
                throw new ArgumentException($"Checkpoint metadata key '{key}' is written by Checkpoint.Save itself; pass it through CheckpointInfo or use another key.", nameof(extra));
            }

            meta[key] = value;
        }

        meta["format"] = Format;
        meta["config"] = JsonSerializer.Serialize(model.Config);
        meta["model"] = model.Config.Name;
        meta["method"] = info.Method;
        meta["step"] = info.StepText;
        meta["normalization"] = CheckpointInfo.FormatNormalization(info.Normalization);
        meta["library_version"] = BuildInfo.Version;
        meta["native_version"] = BuildInfo.NativeVersion;
        if (optimizer is not null)
        {
            meta["optimizer"] = optimizer.Settings.Kind.ToString().ToLowerInvariant();
            meta["optimizer_step"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
            for (int slot = 0; slot < optimizer.StateNames.Count; slot++)
            {
                foreach (ModelParameter p in model.Parameters)
                {
                    string name = $"{optimizer.StateNames[slot]}.{p.Name}";
                    tensors.Add(new NamedTensor(name, p.ShapeArray, copies.Of(name, optimizer.StateTensor(slot, p.Index))));
                }
            }
        }

        SafeTensors.Write(path, tensors, meta);
    }

    // The host copies a save writes from, kept per model between saves when they are small: a run saves every
    // epoch, and new arrays cost a page fault per 4 KiB page each time, a large part of a small model's save.
    private static readonly ConditionalWeakTable<LocalMixer, HostCopies> KeptCopies = new();
    private const long MaxKeptBytes = 64L << 20;

    private static HostCopies HostCopiesOf(LocalMixer model, Optimizer? optimizer)
    {
        long bytes = model.ParameterCount * sizeof(float) * (1 + (optimizer?.StateNames.Count ?? 0));
        return bytes <= MaxKeptBytes ? KeptCopies.GetValue(model, _ => new HostCopies(keep: true)) : new HostCopies(keep: false);
    }

    /// <summary>Tensors downloaded into arrays that are reused from one save to the next (when kept); a save holds its lock.</summary>
    private sealed class HostCopies(bool keep)
    {
        private readonly Dictionary<string, float[]> _arrays = [];

        public float[] Of(string name, Tensor tensor)
        {
            if (!keep)
            {
                return tensor.ToArray();
            }

            if (!_arrays.TryGetValue(name, out float[]? array) || array.LongLength != tensor.ElementCount)
            {
                return _arrays[name] = tensor.ToArray();
            }

            tensor.Download(array);
            return array;
        }
    }

    /// <summary>
    /// Throws <see cref="CheckpointException"/> unless the model of this checkpoint takes the images and classes of
    /// <paramref name="data"/> (height, width, channels, class count).
    /// </summary>
    public void RequireInputOf(ImageDataset data, string datasetName)
    {
        ArgumentNullException.ThrowIfNull(data);
        LocalMixerConfig config = Config;
        if (config.ImageHeight != data.Height || config.ImageWidth != data.Width || config.ImageChannels != data.Channels || config.Classes != data.ClassCount)
        {
            throw new CheckpointException(
                $"checkpoint {Path} was made for {config.ImageHeight}x{config.ImageWidth}x{config.ImageChannels} images and {config.Classes} classes, " +
                $"but {datasetName} has {data.Height}x{data.Width}x{data.Channels} images and {data.ClassCount} classes; use the data set it was trained on (--dataset).");
        }
    }

    /// <summary>
    /// Copies the parameters, the feedback matrices of a feedback-alignment method (FA, L-FA, LG-FA, DFA) and the
    /// optimizer's state (when given) into the model. Checks every tensor first and refuses, naming the tensor,
    /// when one is missing, has another shape or holds a NaN or infinity.
    /// </summary>
    public void ApplyTo(LocalMixer model, Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var wanted = new List<(NamedTensor Tensor, Action<float[]> Apply)>();
        foreach (ModelParameter p in model.Parameters)
        {
            wanted.Add((Find(p.Name, p.ShapeArray), data => p.Upload(data)));
        }

        foreach (FeedbackMatrix f in FeedbackOf(model, Method))
        {
            wanted.Add((Find(f.Name, f.ShapeArray), data => f.Upload(data)));
        }

        if (optimizer is not null)
        {
            if (Metadata.TryGetValue("optimizer", out string? kind) && kind != optimizer.Settings.Kind.ToString().ToLowerInvariant())
            {
                throw new CheckpointException($"checkpoint {Path} holds {kind} state, the run uses {optimizer.Settings.Kind.ToString().ToLowerInvariant()}.");
            }

            for (int slot = 0; slot < optimizer.StateNames.Count; slot++)
            {
                int s = slot;
                foreach (ModelParameter p in model.Parameters)
                {
                    wanted.Add((Find($"{optimizer.StateNames[slot]}.{p.Name}", p.ShapeArray), data => optimizer.SetState(s, p.Index, data)));
                }
            }
        }

        foreach (var (tensor, _) in wanted)
        {
            RequireFinite(tensor);
        }

        foreach (var (tensor, apply) in wanted)
        {
            apply(tensor.Data);
        }

        if (optimizer is not null)
        {
            optimizer.StepCount = GetLong("optimizer_step");
        }
    }

    private void RequireFinite(NamedTensor tensor)
    {
        int bad = Array.FindIndex(tensor.Data, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"checkpoint {Path} holds non-finite weights: tensor {tensor.Name} has {tensor.Data[bad]} at index {bad}; the run that wrote it had diverged or the file is damaged."));
        }
    }

    /// <summary>The feedback matrices a run of <paramref name="method"/> (paper name) keeps; none for other methods.</summary>
    private static IReadOnlyList<FeedbackMatrix> FeedbackOf(LocalMixer model, string? method) =>
        TrainingMethods.TryParse(method, out TrainingMethod parsed) && parsed.UsesFeedback() ? model.Feedback(parsed) : [];

    private NamedTensor Find(string name, long[] shape)
    {
        if (!Tensors.TryGetValue(name, out NamedTensor? tensor))
        {
            throw new CheckpointException($"checkpoint {Path} does not fit the model: tensor {name} (model shape [{string.Join(", ", shape)}]) is missing.");
        }

        if (!tensor.Shape.SequenceEqual(shape))
        {
            throw new CheckpointException(
                $"checkpoint {Path} does not fit the model: tensor {name} has shape [{string.Join(", ", tensor.Shape)}] in the checkpoint but [{string.Join(", ", shape)}] in the model.");
        }

        return tensor;
    }
}
