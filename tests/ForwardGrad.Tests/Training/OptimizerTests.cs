using ForwardGrad.Model;
using ForwardGrad.Optim;

namespace ForwardGrad.Tests.Training;

[TestFixture]
public sealed class OptimizerTests
{
    [TestCase(OptimizerKind.Sgd)]
    [TestCase(OptimizerKind.AdamW)]
    public void StepMatchesFloat64Reference(OptimizerKind kind)
    {
        using var context = Context.Cpu();
        using var model = new LocalMixer(context, LocalMixerConfig.S1_1);
        var data = TrainingFixtures.Synthetic("x", 16, 3);
        float[] images = [.. data.Pixels.ToArray().Select(b => b / 255f)];
        model.ComputeGradients(images, data.Labels, TrainingMethod.BP, 1, 1, 0);
        var settings = new OptimizerSettings(kind, Momentum: 0.9f, WeightDecay: 0.01f);
        using var optimizer = new Optimizer(model, settings);
        var p = model.Parameters.Select(x => x.ToArray().Select(v => (double)v).ToArray()).ToArray();
        var g = model.Parameters.Select(x => x.GradientToArray().Select(v => (double)v).ToArray()).ToArray();
        var m = p.Select(a => new double[a.Length]).ToArray();
        var s = p.Select(a => new double[a.Length]).ToArray();
        double[] rates = [0.1, 0.05, 0.02];
        for (int t = 1; t <= rates.Length; t++)
        {
            double lr = rates[t - 1];
            optimizer.Step((float)lr);
            for (int i = 0; i < p.Length; i++)
            {
                double wd = model.Parameters[i].IsWeight ? 0.01 : 0;
                for (int e = 0; e < p[i].Length; e++)
                {
                    if (kind == OptimizerKind.Sgd)
                    {
                        double grad = g[i][e] + wd * p[i][e];
                        m[i][e] = 0.9 * m[i][e] + grad;
                        p[i][e] -= lr * m[i][e];
                    }
                    else
                    {
                        p[i][e] *= 1 - lr * wd;
                        m[i][e] = 0.9 * m[i][e] + 0.1 * g[i][e];
                        s[i][e] = 0.999 * s[i][e] + 0.001 * g[i][e] * g[i][e];
                        double mh = m[i][e] / (1 - Math.Pow(0.9, t));
                        double denom = Math.Sqrt(s[i][e]) / Math.Sqrt(1 - Math.Pow(0.999, t)) + 1e-8;
                        p[i][e] -= lr * mh / denom;
                    }
                }
            }
        }

        Assert.That(optimizer.StepCount, Is.EqualTo(3));
        for (int i = 0; i < p.Length; i++)
        {
            float[] actual = model.Parameters[i].ToArray();
            double worst = 0;
            for (int e = 0; e < actual.Length; e++)
            {
                worst = Math.Max(worst, Math.Abs(actual[e] - p[i][e]) / (1e-3 + Math.Abs(p[i][e])));
            }

            Assert.That(worst, Is.LessThan(2e-4), model.Parameters[i].Name);
        }
    }

    [Test]
    public void SchedulesFollowTheirFormulas()
    {
        var constant = new LearningRateSchedule(ScheduleKind.Constant, 0.1, 100, 10);
        var linear = new LearningRateSchedule(ScheduleKind.Linear, 0.1, 110, 10);
        var cosine = new LearningRateSchedule(ScheduleKind.Cosine, 0.1, 110, 10);
        Assert.Multiple(() =>
        {
            Assert.That(constant.At(0), Is.EqualTo(0.01).Within(1e-12));
            Assert.That(constant.At(4), Is.EqualTo(0.05).Within(1e-12));
            Assert.That(constant.At(9), Is.EqualTo(0.1).Within(1e-12));
            Assert.That(constant.At(99), Is.EqualTo(0.1).Within(1e-12));
            Assert.That(linear.At(10), Is.EqualTo(0.1).Within(1e-12));
            Assert.That(linear.At(60), Is.EqualTo(0.05).Within(1e-12));
            Assert.That(linear.At(110), Is.EqualTo(0).Within(1e-12));
            Assert.That(cosine.At(10), Is.EqualTo(0.1).Within(1e-12));
            Assert.That(cosine.At(60), Is.EqualTo(0.05).Within(1e-12));
            Assert.That(cosine.At(35), Is.EqualTo(0.05 * (1 + Math.Cos(Math.PI / 4))).Within(1e-12));
            Assert.That(new LearningRateSchedule(ScheduleKind.Cosine, 0.1, 10).At(0), Is.EqualTo(0.1).Within(1e-12));
        });
    }
}
