namespace ForwardGrad.Tests.Support;

/// <summary>Float64 references for the local loss and the two forward-gradient estimators, written from their definitions.</summary>
internal static class EstimatorOracles
{
    /// <summary>Every output of the local loss (see <see cref="Ops.LocalLoss"/>).</summary>
    public sealed record LocalLossResult(double[] Loss, double[] Logits, double[] D, double[] Dw, double[] Db, double[] Dx);

    public static LocalLossResult LocalLoss(LossGeometry g, int classes, float[] x, float[] xdot, float[] w, float[] b, int[] labels)
    {
        int batch = (int)g.Batch, patches = (int)g.Patches, channels = (int)g.Channels, groups = (int)g.Groups, tangents = (int)g.Tangents;
        int width = channels / groups;
        var loss = new double[batch];
        var logits = new double[batch * classes];
        var d = new double[tangents * batch * patches * groups];
        var dw = new double[channels * classes];
        var db = new double[classes];
        var dx = new double[batch * patches * channels];
        for (int n = 0; n < batch; n++)
        {
            var mean = new double[channels];
            for (int p = 0; p < patches; p++)
            {
                for (int c = 0; c < channels; c++)
                {
                    mean[c] += x[(((n * patches) + p) * channels) + c] / (double)patches;
                }
            }

            var z = new double[classes];
            for (int j = 0; j < classes; j++)
            {
                z[j] = b[j];
                for (int c = 0; c < channels; c++)
                {
                    z[j] += mean[c] * w[(c * classes) + j];
                }

                logits[(n * classes) + j] = z[j];
            }

            double top = z.Max();
            double logSum = top + Math.Log(z.Sum(v => Math.Exp(v - top)));
            loss[n] = logSum - z[labels[n]];
            var s = new double[classes];
            for (int j = 0; j < classes; j++)
            {
                s[j] = Math.Exp(z[j] - logSum) - (j == labels[n] ? 1 : 0);
                db[j] += s[j] / batch;
                for (int c = 0; c < channels; c++)
                {
                    dw[(c * classes) + j] += mean[c] * s[j] / batch;
                }
            }

            var v = new double[channels];
            for (int c = 0; c < channels; c++)
            {
                for (int j = 0; j < classes; j++)
                {
                    v[c] += w[(c * classes) + j] * s[j];
                }
            }

            for (int p = 0; p < patches; p++)
            {
                for (int c = 0; c < channels; c++)
                {
                    dx[(((n * patches) + p) * channels) + c] = v[c] / (patches * batch);
                    for (int k = 0; k < tangents; k++)
                    {
                        d[((((k * batch) + n) * patches + p) * groups) + (c / width)] +=
                            xdot[((((k * batch) + n) * patches + p) * channels) + c] * v[c] / (patches * batch);
                    }
                }
            }
        }

        return new LocalLossResult(loss, logits, d, dw, db, dx);
    }

    /// <summary>
    /// dW and db of the activity-perturbation estimate: G_Z = (1/K) sum_k scale_k * U_k * [act &gt; 0], pulled back through
    /// the LayerNorm (rows of width <paramref name="lnDim"/>) and the layer.
    /// </summary>
    public static (double[] Dw, double[] Db) ActivityPerturbation(LinearLayer layer, ActivityScale scale, LossGeometry g, int lnDim,
        float[] u, float[] act, float[] d, double[] zln, double[] rstd, float[] x)
    {
        long rows = g.Batch * g.Patches, channels = g.Channels, groups = g.Groups;
        var gz = new float[rows * channels];
        for (long r = 0; r < rows; r++)
        {
            for (long c = 0; c < channels; c++)
            {
                if (act[(r * channels) + c] <= 0)
                {
                    continue;
                }

                double sum = 0;
                for (long k = 0; k < g.Tangents; k++)
                {
                    sum += Scale(scale, d, k, r, c, g) * u[(((k * rows) + r) * channels) + c];
                }

                gz[(r * channels) + c] = (float)(sum / g.Tangents);
            }
        }

        double[] gLinear = LayerOracles.LayerNormProject(zln, rstd, gz, lnDim);
        var (_, dw, db) = LayerOracles.LinearBackward(layer, x, new float[LayerOracles.WeightCount(layer)], LayerOracles.ToFloat(gLinear));
        return (dw, db);

        static double Scale(ActivityScale mode, float[] d, long k, long r, long c, LossGeometry g)
        {
            long rows = g.Batch * g.Patches;
            if (mode == ActivityScale.Group)
            {
                return d[(((k * rows) + r) * g.Groups) + (c / (g.Channels / g.Groups))];
            }

            long first = mode == ActivityScale.Patch ? r : r / g.Patches * g.Patches;
            long last = mode == ActivityScale.Patch ? r + 1 : first + g.Patches;
            double sum = 0;
            for (long row = first; row < last; row++)
            {
                for (long group = 0; group < g.Groups; group++)
                {
                    sum += d[(((k * rows) + row) * g.Groups) + group];
                }
            }

            return sum;
        }
    }

    /// <summary>grad = (1/K) sum_k D_k(slice of e) * v[k, e], D_k(group) = sum over rows of d[k, row, group].</summary>
    public static double[] WeightPerturbation(WeightSlice slice, int count, int columns, int groups, int rows, int tangents, float[] v, float[] d)
    {
        var grad = new double[count];
        for (int k = 0; k < tangents; k++)
        {
            var perGroup = new double[groups];
            for (int r = 0; r < rows; r++)
            {
                for (int group = 0; group < groups; group++)
                {
                    perGroup[group] += d[(((k * rows) + r) * groups) + group];
                }
            }

            double all = perGroup.Sum();
            for (int e = 0; e < count; e++)
            {
                double s = slice switch
                {
                    WeightSlice.All => all,
                    WeightSlice.Leading => perGroup[e / (count / groups)],
                    _ => perGroup[e % columns / (columns / groups)],
                };
                grad[e] += s * v[(k * count) + e] / tangents;
            }
        }

        return grad;
    }
}
