using System.Globalization;
using System.Text.Json;
using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Checkpoints;

/// <summary>A loaded checkpoint: tensors plus metadata (config, method, step, epoch, seed, ...).</summary>
public sealed class Checkpoint
{
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

    /// <summary>Integer metadata value, or <paramref name="fallback"/>.</summary>
    public long GetLong(string key, long fallback = 0) =>
        Metadata.TryGetValue(key, out string? text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : fallback;

    /// <summary>Floating metadata value, or <paramref name="fallback"/>.</summary>
    public double GetDouble(string key, double fallback = 0) =>
        Metadata.TryGetValue(key, out string? text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : fallback;

    /// <summary>Reads a checkpoint; throws <see cref="CheckpointException"/> for a missing or corrupt file.</summary>
    public static Checkpoint Load(string path)
    {
        var (tensors, metadata) = SafeTensors.Read(path);
        return new Checkpoint(path, tensors, metadata);
    }

    /// <summary>Writes the model's parameters, the optimizer's state and <paramref name="metadata"/> (plus "config") atomically.</summary>
    public static void Save(string path, LocalMixer model, Optimizer? optimizer, IDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new List<NamedTensor>();
        foreach (ModelParameter p in model.Parameters)
        {
            tensors.Add(new NamedTensor(p.Name, p.ShapeArray, p.ToArray()));
        }

        var meta = new Dictionary<string, string>(metadata)
        {
            ["config"] = JsonSerializer.Serialize(model.Config),
            ["format"] = "forwardgrad-localmixer-1",
        };
        if (optimizer is not null)
        {
            meta["optimizer"] = optimizer.Settings.Kind.ToString().ToLowerInvariant();
            meta["optimizer_step"] = optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
            for (int slot = 0; slot < optimizer.StateNames.Count; slot++)
            {
                foreach (ModelParameter p in model.Parameters)
                {
                    tensors.Add(new NamedTensor($"{optimizer.StateNames[slot]}.{p.Name}", p.ShapeArray, optimizer.GetState(slot, p.Index)));
                }
            }
        }

        SafeTensors.Write(path, tensors, meta);
    }

    /// <summary>
    /// Copies the parameters (and the optimizer's state, when given) into the model. Checks every tensor
    /// first and refuses, naming the tensor and both shapes, when one is missing or has another shape.
    /// </summary>
    public void ApplyTo(LocalMixer model, Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var wanted = new List<(NamedTensor Tensor, Action<float[]> Apply)>();
        foreach (ModelParameter p in model.Parameters)
        {
            wanted.Add((Find(p.Name, p), data => p.Upload(data)));
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
                    wanted.Add((Find($"{optimizer.StateNames[slot]}.{p.Name}", p), data => optimizer.SetState(s, p.Index, data)));
                }
            }
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

    private NamedTensor Find(string name, ModelParameter parameter)
    {
        if (!Tensors.TryGetValue(name, out NamedTensor? tensor))
        {
            throw new CheckpointException($"checkpoint {Path} does not fit the model: tensor {name} (model shape [{string.Join(", ", parameter.Shape)}]) is missing.");
        }

        if (!tensor.Shape.SequenceEqual(parameter.ShapeArray))
        {
            throw new CheckpointException(
                $"checkpoint {Path} does not fit the model: tensor {name} has shape [{string.Join(", ", tensor.Shape)}] in the checkpoint but [{string.Join(", ", parameter.Shape)}] in the model.");
        }

        return tensor;
    }
}
