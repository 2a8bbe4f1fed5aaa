using ForwardGrad.Model;
using ForwardGrad.Training;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class ParameterInitTests
{
    private static readonly LocalMixerConfig Config = LocalMixerConfig.M8_16 with { Seed = 3 };

    [Test]
    public void PyTorchInit_DrawsEveryParameterUniformWithinItsLayersFanInBound()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, Config with { Init = ParameterInit.PyTorch });
        foreach (ModelParameter p in model.Parameters)
        {
            // fan_in of the layer, from its weight: (fan_in, fan_out), or (G, fan_in, fan_out) for the group layer
            string layer = p.Name[..p.Name.LastIndexOf('.')];
            ModelParameter weight = model.Parameters.Single(q => q.Name == layer + ".weight");
            long fanIn = weight.Shape.Count == 3 ? weight.Shape[1] : weight.Shape[0];
            double bound = 1 / Math.Sqrt(fanIn);
            float[] v = p.ToArray();
            Assert.That(v.All(x => Math.Abs(x) <= bound), Is.True, $"{p.Name}: a value outside +-{bound}");
            if (v.Length >= 4096)
            {
                // U(-b, b): mean 0, standard deviation b / sqrt(3)
                double mean = v.Average(x => (double)x), std = Math.Sqrt(v.Average(x => ((double)x - mean) * ((double)x - mean)));
                Assert.That(std, Is.EqualTo(bound / Math.Sqrt(3)).Within(3).Percent, p.Name);
                Assert.That(Math.Abs(mean), Is.LessThan(0.05 * bound), p.Name);
            }
        }

        Assert.That(model.Parameters.Single(p => p.Name == "final.weight").ToArray().Count(x => x != 0), Is.GreaterThan(0));
    }

    [Test]
    public void PyTorchInit_IsFixedByTheSeed()
    {
        using var context = Context.Cpu();
        using var a = new LocalMixer(context, Config with { Init = ParameterInit.PyTorch });
        using var b = new LocalMixer(context, Config with { Init = ParameterInit.PyTorch });
        using var other = new LocalMixer(context, Config with { Init = ParameterInit.PyTorch, Seed = 4 });
        for (int i = 0; i < a.Parameters.Count; i++)
        {
            Assert.That(b.Parameters[i].ToArray(), Is.EqualTo(a.Parameters[i].ToArray()), a.Parameters[i].Name);
            Assert.That(other.Parameters[i].ToArray(), Is.Not.EqualTo(a.Parameters[i].ToArray()), a.Parameters[i].Name);
        }
    }

    [Test]
    public void OfficialInit_KeepsBiasesAndTheFinalClassifierAtZero()
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, Config);
        Assert.That(Config.Init, Is.EqualTo(ParameterInit.Official));
        foreach (ModelParameter p in model.Parameters.Where(p => !p.IsWeight || p.Name.StartsWith("final.", StringComparison.Ordinal)))
        {
            Assert.That(p.ToArray().All(x => x == 0), Is.True, p.Name);
        }

        float[] channel = model.Parameters.Single(p => p.Name == "block1.channel.weight").ToArray();
        double std = Math.Sqrt(channel.Average(x => (double)x * x));
        Assert.That(std, Is.EqualTo(Math.Min(2 / Math.Sqrt(512), 0.1)).Within(3).Percent);
    }

    [Test]
    public void CheckpointConfigsNameTheInit_AndOlderOnesReadAsOfficial()
    {
        string json = System.Text.Json.JsonSerializer.Serialize(Config with { Init = ParameterInit.PyTorch });
        Assert.That(json, Does.Contain("\"Init\":\"PyTorch\""));
        Assert.That(System.Text.Json.JsonSerializer.Deserialize<LocalMixerConfig>(json)!.Init, Is.EqualTo(ParameterInit.PyTorch));
        string older = json.Replace(",\"Init\":\"PyTorch\"", "", StringComparison.Ordinal);
        Assert.That(older, Does.Not.Contain("Init"));
        Assert.That(System.Text.Json.JsonSerializer.Deserialize<LocalMixerConfig>(older)!.Init, Is.EqualTo(ParameterInit.Official));
    }

    [Test]
    public void AnUnknownInitIsRefusedNamingTheChoices()
    {
        var options = new TrainerOptions { Init = "xavier" };
        Assert.That(() => options.Validate(), Throws.ArgumentException.With.Message.Contains("xavier").And.Message.Contains("official or pytorch"));
        Assert.That(new TrainerOptions { Init = " PyTorch " }.Normalized().Init, Is.EqualTo("pytorch"));
    }
}
