using ForwardGrad.Tests.Support;

namespace ForwardGrad.Tests;

/// <summary>
/// Every <see cref="Ops"/> operation against a float64 reference written from its definition
/// (Support/LayerOracles, EstimatorOracles, PhiloxReference), on each backend: one fixture per backend derives from
/// this class and is ignored, with the reason, where its backend is unavailable.
/// </summary>
public abstract class OpsTestSuite : BackendFixture
{
    private const int Tangents = 2;

    private static IEnumerable<TestCaseData> Layers()
    {
        yield return new TestCaseData(new LinearLayer(LayerKind.Dense, 6, 5, 4)).SetArgDisplayNames("dense");
        yield return new TestCaseData(new LinearLayer(LayerKind.Group, 6, 6, 4, 2)).SetArgDisplayNames("group");
        yield return new TestCaseData(new LinearLayer(LayerKind.Token, 6, 4, 4, 3)).SetArgDisplayNames("token");
    }

    [TestCaseSource(nameof(Layers))]
    public void LinearJvp_StacksThePrimalAndEveryTangent(LinearLayer layer)
    {
        int rows = (int)layer.Rows, n = (int)layer.Inputs, m = (int)layer.Outputs, weights = LayerOracles.WeightCount(layer);
        float[] xx = RandomData.Uniform((Tangents + 1) * rows * n, 1), w = RandomData.Uniform(weights, 2);
        float[] b = RandomData.Uniform(LayerOracles.BiasCount(layer), 3), wdot = RandomData.Uniform(Tangents * weights, 4);
        using var xxT = Tensor.FromArray(Context, xx);
        using var wT = Tensor.FromArray(Context, w);
        using var bT = Tensor.FromArray(Context, b);
        using var wdotT = Tensor.FromArray(Context, wdot);
        using var yyT = Tensor.Full(Context, float.NaN, (Tangents + 1) * rows, m);

        Ops.LinearJvp(layer, Tangents, xxT, wT, bT, wdotT, yyT);

        var expected = new List<double>(LayerOracles.Linear(layer, xx.AsSpan(0, rows * n), w, b));
        for (int k = 1; k <= Tangents; k++)
        {
            double[] tangent = LayerOracles.Linear(layer, xx.AsSpan(k * rows * n, rows * n), w, null);
            double[] fromWeights = LayerOracles.Linear(layer, xx.AsSpan(0, rows * n), wdot.AsSpan((k - 1) * weights, weights), null);
            expected.AddRange(tangent.Select((v, i) => v + fromWeights[i]));
        }

        AssertClose(yyT.ToArray(), [.. expected], "yy");
    }

    [TestCaseSource(nameof(Layers))]
    public void LinearBackward_GivesDxDwDbAndAccumulates(LinearLayer layer)
    {
        int rows = (int)layer.Rows, n = (int)layer.Inputs, m = (int)layer.Outputs;
        float[] x = RandomData.Uniform(rows * n, 5), w = RandomData.Uniform(LayerOracles.WeightCount(layer), 6), dy = RandomData.Uniform(rows * m, 7);
        using var xT = Tensor.FromArray(Context, x);
        using var wT = Tensor.FromArray(Context, w);
        using var dyT = Tensor.FromArray(Context, dy);
        using var dxT = Tensor.Full(Context, float.NaN, rows, n);
        using var dwT = Tensor.Full(Context, float.NaN, w.Length);
        using var dbT = Tensor.Full(Context, float.NaN, LayerOracles.BiasCount(layer));
        var (dx, dw, db) = LayerOracles.LinearBackward(layer, x, w, dy);

        Ops.LinearBackward(layer, xT, wT, dyT, dxT, dwT, dbT);
        AssertClose(dxT.ToArray(), dx, "dx");
        AssertClose(dwT.ToArray(), dw, "dw");
        AssertClose(dbT.ToArray(), db, "db");

        Ops.LinearBackward(layer, xT, null, dyT, null, dwT, dbT, accumulate: true);
        AssertClose(dwT.ToArray(), [.. dw.Select(v => 2 * v)], "dw accumulated");
        AssertClose(dbT.ToArray(), [.. db.Select(v => 2 * v)], "db accumulated");
    }

    [Test]
    public void LayerNorm_ForwardJvpAndVjpMatchTheirFormulas()
    {
        const int Rows = 5, Dim = 7;
        float[] x = RandomData.Uniform(Rows * Dim, 8).Select(v => (3 * v) + 1).ToArray();
        float[] xdot = RandomData.Uniform(Tangents * Rows * Dim, 9), dy = RandomData.Uniform(Rows * Dim, 10);
        var (y, mean, rstd) = LayerOracles.LayerNorm(x, Dim);
        using var xT = Tensor.FromArray(Context, x);
        using var yT = Tensor.Full(Context, float.NaN, Rows, Dim);
        using var meanT = Tensor.Full(Context, float.NaN, Rows);
        using var rstdT = Tensor.Full(Context, float.NaN, Rows);
        using var xdotT = Tensor.FromArray(Context, xdot);
        using var ydotT = Tensor.Full(Context, float.NaN, xdot.Length);
        using var dyT = Tensor.FromArray(Context, dy);

        Ops.LayerNormForward(Rows, Dim, xT, yT, meanT, rstdT);
        Ops.LayerNormJvp(Rows, Dim, Tangents, yT, rstdT, xdotT, ydotT);
        Ops.LayerNormVjp(Rows, Dim, yT, rstdT, dyT, dyT); // dx may alias dy

        AssertClose(yT.ToArray(), y, "y");
        AssertClose(meanT.ToArray(), mean, "mean");
        AssertClose(rstdT.ToArray(), rstd, "rstd");
        AssertClose(ydotT.ToArray(), LayerOracles.LayerNormProject(y, rstd, xdot, Dim), "ydot");
        AssertClose(dyT.ToArray(), LayerOracles.LayerNormProject(y, rstd, dy, Dim), "dx");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ReluJvp_MasksTheSumOfTheTangentTerms(bool withResidual)
    {
        const int Count = 24;
        float[] z = RandomData.Uniform(Count, 11), residual = RandomData.Uniform(Count, 12);
        float[] zdot = RandomData.Uniform(Tangents * Count, 13), noise = RandomData.Uniform(Tangents * Count, 14), residualDot = RandomData.Uniform(Tangents * Count, 15);
        using var zT = Tensor.FromArray(Context, z);
        using var residualT = Tensor.FromArray(Context, residual);
        using var zdotT = Tensor.FromArray(Context, zdot);
        using var noiseT = Tensor.FromArray(Context, noise);
        using var residualDotT = Tensor.FromArray(Context, residualDot);
        using var aT = Tensor.Full(Context, float.NaN, Count);
        using var adotT = Tensor.Full(Context, float.NaN, Tangents * Count);

        Ops.ReluJvp(Count, Tangents, zT, withResidual ? residualT : null, zdotT, noiseT, withResidual ? residualDotT : null, aT, adotT);

        double[] a = [.. z.Select((v, i) => Math.Max(0, (double)v + (withResidual ? residual[i] : 0)))];
        double[] adot = [.. zdot.Select((v, i) => a[i % Count] > 0 ? (double)v + noise[i] + (withResidual ? residualDot[i] : 0) : 0)];
        AssertClose(aT.ToArray(), a, "a");
        AssertClose(adotT.ToArray(), adot, "adot");
        Assert.That(a.Count(v => v > 0), Is.InRange(1, Count - 1), "the mask must cut some units and keep others");
    }

    [Test]
    public void ReluBackward_PassesTheGradientWhereTheOutputIsPositive()
    {
        const int Count = 24;
        float[] a = [.. RandomData.Uniform(Count, 16).Select(v => Math.Max(v, 0))], da = RandomData.Uniform(Count, 17);
        using var aT = Tensor.FromArray(Context, a);
        using var daT = Tensor.FromArray(Context, da);
        using var dzT = Tensor.Full(Context, float.NaN, Count);
        Ops.ReluBackward(Count, aT, daT, dzT);
        AssertClose(dzT.ToArray(), [.. da.Select((v, i) => a[i] > 0 ? (double)v : 0)], "dz");
    }

    [Test]
    public void LocalLoss_GivesLossLogitsDirectionalDerivativesAndHeadGradients()
    {
        var g = new LossGeometry(Batch: 3, Patches: 4, Channels: 6, Groups: 2, Tangents: Tangents);
        const int Classes = 5;
        float[] x = RandomData.Uniform(3 * 4 * 6, 18), xdot = RandomData.Uniform(Tangents * 3 * 4 * 6, 19);
        float[] w = RandomData.Uniform(6 * Classes, 20), b = RandomData.Uniform(Classes, 21);
        int[] labels = [4, 0, 2];
        var expected = EstimatorOracles.LocalLoss(g, Classes, x, xdot, w, b, labels);
        using var xT = Tensor.FromArray(Context, x);
        using var xdotT = Tensor.FromArray(Context, xdot);
        using var wT = Tensor.FromArray(Context, w);
        using var bT = Tensor.FromArray(Context, b);
        using var labelsT = Tensor.FromInt32Array(Context, labels);
        using var lossT = Tensor.Full(Context, float.NaN, 3);
        using var logitsT = Tensor.Full(Context, float.NaN, 3, Classes);
        using var dT = Tensor.Full(Context, float.NaN, Tangents, 3, 4, 2);
        using var dwT = Tensor.Full(Context, float.NaN, 6, Classes);
        using var dbT = Tensor.Full(Context, float.NaN, Classes);
        using var dxT = Tensor.Full(Context, float.NaN, 3, 4, 6);

        Ops.LocalLoss(g, Classes, xT, xdotT, wT, bT, labelsT, lossT, logitsT, dT, dwT, dbT, dxT);

        AssertClose(lossT.ToArray(), expected.Loss, "loss");
        AssertClose(logitsT.ToArray(), expected.Logits, "logits");
        AssertClose(dT.ToArray(), expected.D, "d");
        AssertClose(dwT.ToArray(), expected.Dw, "dw");
        AssertClose(dbT.ToArray(), expected.Db, "db");
        AssertClose(dxT.ToArray(), expected.Dx, "dx");
    }

    [Test]
    public void LocalLoss_FloatLabels_AreRefusedWithTheFix()
    {
        var g = new LossGeometry(1, 1, 2, 1, 0);
        using var x = Tensor.Zeros(Context, 2);
        using var w = Tensor.Zeros(Context, 2, 2);
        using var b = Tensor.Zeros(Context, 2);
        using var labels = Tensor.Zeros(Context, 1);
        var error = Assert.Throws<ArgumentException>(() => Ops.LocalLoss(g, 2, x, null, w, b, labels))!;
        Assert.That(error.ParamName, Is.EqualTo("labels"));
        Assert.That(error.Message, Does.Contain(nameof(Tensor.FromInt32Array)));
    }

    [TestCase(LayerKind.Dense, ActivityScale.Group)]
    [TestCase(LayerKind.Dense, ActivityScale.Global)]
    [TestCase(LayerKind.Group, ActivityScale.Group)]
    [TestCase(LayerKind.Token, ActivityScale.Patch)]
    public void ActivityPerturbationGradient_MatchesItsDefinition(LayerKind kind, ActivityScale scale)
    {
        var g = new LossGeometry(Batch: 3, Patches: 4, Channels: 8, Groups: 2, Tangents: 3);
        int rows = 12, channels = 8;
        (int inputs, int layerGroups) = kind switch { LayerKind.Dense => (5, 1), LayerKind.Group => (6, 2), _ => (8, 4) };
        var layer = new LinearLayer(kind, rows, inputs, channels, layerGroups);
        int lnDim = kind == LayerKind.Group ? channels / layerGroups : channels;
        float[] u = RandomData.Uniform(3 * rows * channels, 22), d = RandomData.Uniform(3 * rows * 2, 24), x = RandomData.Uniform(rows * inputs, 25);
        float[] act = [.. RandomData.Uniform(rows * channels, 23).Select(v => Math.Max(v, 0))];
        var (zln, _, rstd) = LayerOracles.LayerNorm([.. RandomData.Uniform(rows * channels, 26).Select(v => 3 * v)], lnDim);
        var (dw, db) = EstimatorOracles.ActivityPerturbation(layer, scale, g, lnDim, u, act, d, zln, rstd, x);
        using var uT = Tensor.FromArray(Context, u);
        using var actT = Tensor.FromArray(Context, act);
        using var dT = Tensor.FromArray(Context, d);
        using var zlnT = Tensor.FromArray(Context, LayerOracles.ToFloat(zln));
        using var rstdT = Tensor.FromArray(Context, LayerOracles.ToFloat(rstd));
        using var xT = Tensor.FromArray(Context, x);
        using var workspace = Tensor.Full(Context, float.NaN, rows * channels);
        using var dwT = Tensor.Full(Context, float.NaN, dw.Length);
        using var dbT = Tensor.Full(Context, float.NaN, db.Length);

        Ops.ActivityPerturbationGradient(kind, scale, g, inputs, layerGroups, uT, actT, dT, zlnT, rstdT, xT, workspace, dwT, dbT);
        AssertClose(dwT.ToArray(), dw, "dw");
        AssertClose(dbT.ToArray(), db, "db");

        Ops.ActivityPerturbationGradient(kind, scale, g, inputs, layerGroups, uT, actT, dT, zlnT, rstdT, xT, workspace, dwT, null, accumulate: true);
        AssertClose(dwT.ToArray(), [.. dw.Select(v => 2 * v)], "dw accumulated");
    }

    [TestCase(WeightSlice.Columns)]
    [TestCase(WeightSlice.Leading)]
    [TestCase(WeightSlice.All)]
    public void WeightPerturbationGradient_ScalesEachSliceByItsGroupsDerivative(WeightSlice slice)
    {
        const int Count = 12, Columns = 4, Groups = 2, Rows = 5, K = 3;
        float[] v = RandomData.Uniform(K * Count, 27), d = RandomData.Uniform(K * Rows * Groups, 28), start = RandomData.Uniform(Count, 29);
        double[] expected = EstimatorOracles.WeightPerturbation(slice, Count, Columns, Groups, Rows, K, v, d);
        using var vT = Tensor.FromArray(Context, v);
        using var dT = Tensor.FromArray(Context, d);
        using var gradT = Tensor.Full(Context, float.NaN, Count);

        Ops.WeightPerturbationGradient(slice, Count, Columns, Groups, Rows, K, vT, dT, gradT);
        AssertClose(gradT.ToArray(), expected, "grad");

        gradT.Upload(start);
        Ops.WeightPerturbationGradient(slice, Count, Columns, Groups, Rows, K, vT, dT, gradT, accumulate: true);
        AssertClose(gradT.ToArray(), [.. expected.Select((e, i) => e + start[i])], "grad accumulated");
    }

    [Test]
    public void RandomNormal_FollowsTheDocumentedPhiloxBoxMullerMapping()
    {
        const ulong Seed = 0xfedcba9876543210UL;
        using var output = Tensor.Full(Context, float.NaN, 1001);
        Ops.RandomNormal(output, Seed, step: 0xdeadbeef, tensorId: 17);
        double[] expected = [.. Enumerable.Range(0, 1001).Select(i => PhiloxReference.Normal(Seed, 0xdeadbeef, 17, (ulong)i))];
        AssertClose(output.ToArray(), expected, "normal", relative: 1e-6, absolute: 1e-6);

        using var other = Tensor.Zeros(Context, 1001);
        Ops.RandomNormal(other, Seed, step: 0xdeadbeef, tensorId: 18);
        Assert.That(other.ToArray(), Is.Not.EqualTo(output.ToArray()), "another tensor id draws other numbers");
    }

    [Test]
    public void Philox4x32_GivesRandom123sKnownAnswers()
    {
        (uint[] Counter, uint[] Key, uint[] Expected)[] answers =
        [
            ([0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
            ([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
            ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
        ];
        foreach (var (counter, key, expected) in answers)
        {
            var output = new uint[4];
            Ops.Philox4x32(counter, key, output);
            Assert.That(output, Is.EqualTo(expected), "native");
            Assert.That(PhiloxReference.Block(counter, key), Is.EqualTo(expected), "the C# reference the normal test relies on");
        }

        Assert.That(Assert.Throws<ArgumentException>(() => Ops.Philox4x32(new uint[3], new uint[2], new uint[4]))!.ParamName, Is.EqualTo("counter"));
    }

    [Test]
    public void Ops_TensorOfAnotherContext_IsRefusedBeforeTheCall()
    {
        using var cpu = Context.Cpu();
        using var a = Tensor.Zeros(Context, 4);
        using var da = Tensor.Zeros(Context, 4);
        using var foreign = Tensor.Zeros(cpu, 4);
        Assert.That(Assert.Throws<ArgumentException>(() => Ops.ReluBackward(4, a, da, foreign))!.ParamName, Is.EqualTo("dz"));
    }

    [Test]
    public void Ops_ShapesTooLargeForATensor_ReportInvalidArgument()
    {
        using var a = Tensor.Zeros(Context, 4);
        using var da = Tensor.Zeros(Context, 4);
        using var dz = Tensor.Zeros(Context, 4);
        var error = Assert.Throws<ForwardGradException>(() => Ops.ReluBackward(5, a, da, dz))!;
        Assert.That(error.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
    }

    private static void AssertClose(float[] actual, double[] expected, string label, double relative = 1e-4, double absolute = 1e-5)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), label);
        for (int i = 0; i < actual.Length; i++)
        {
            if (!(Math.Abs(actual[i] - expected[i]) <= absolute + (relative * Math.Abs(expected[i]))))
            {
                Assert.Fail($"{label}[{i}] = {actual[i]}, expected {expected[i]}");
            }
        }
    }
}

[TestFixture]
public sealed class CpuOpsTests : OpsTestSuite
{
    protected override Backend Backend => Backend.Cpu;
}

[TestFixture]
public sealed class CudaOpsTests : OpsTestSuite
{
    protected override Backend Backend => Backend.Cuda;
}
