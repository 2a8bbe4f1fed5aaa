namespace ForwardGrad.Tests.Support;

/// <summary>Float64 references for the linear layers, LayerNorm and the local-loss estimators, written from their definitions.</summary>
internal static class LayerOracles
{
    /// <summary>Calls <paramref name="connect"/>(y index, x index, w index) for every multiply of a linear layer.</summary>
    public static void ForEachConnection(LinearLayer layer, Action<long, long, long> connect)
    {
        var (kind, rows, n, m, groups) = layer;
        if (kind == LayerKind.Token)
        {
            long patches = groups, channels = n, samples = rows / patches;
            for (long s = 0; s < samples; s++)
            {
                for (long p = 0; p < patches; p++)
                {
                    for (long q = 0; q < patches; q++)
                    {
                        for (long c = 0; c < channels; c++)
                        {
                            connect(((s * patches) + q) * channels + c, ((s * patches) + p) * channels + c, (p * patches) + q);
                        }
                    }
                }
            }

            return;
        }

        long inPerGroup = n / groups, outPerGroup = m / groups;
        for (long r = 0; r < rows; r++)
        {
            for (long g = 0; g < groups; g++)
            {
                for (long i = 0; i < inPerGroup; i++)
                {
                    for (long j = 0; j < outPerGroup; j++)
                    {
                        connect((r * m) + (g * outPerGroup) + j, (r * n) + (g * inPerGroup) + i, (((g * inPerGroup) + i) * outPerGroup) + j);
                    }
                }
            }
        }
    }

    /// <summary>The index of the bias each output element adds.</summary>
    public static long BiasIndex(LinearLayer layer, long outputIndex) =>
        layer.Kind == LayerKind.Token ? (outputIndex / layer.Outputs) % layer.Groups : outputIndex % layer.Outputs;

    public static int WeightCount(LinearLayer layer) =>
        (int)(layer.Kind == LayerKind.Token ? layer.Groups * layer.Groups : layer.Inputs * layer.Outputs / layer.Groups);

    public static int BiasCount(LinearLayer layer) => (int)(layer.Kind == LayerKind.Token ? layer.Groups : layer.Outputs);

    /// <summary>Y = X W (+ b) for the first <c>Rows</c> rows of <paramref name="x"/>.</summary>
    public static double[] Linear(LinearLayer layer, ReadOnlySpan<float> x, ReadOnlySpan<float> w, float[]? b)
    {
        var y = new double[layer.Rows * layer.Outputs];
        float[] xs = x.ToArray(), ws = w.ToArray();
        ForEachConnection(layer, (yi, xi, wi) => y[yi] += (double)xs[xi] * ws[wi]);
        if (b is not null)
        {
            for (long i = 0; i < y.Length; i++)
            {
                y[i] += b[BiasIndex(layer, i)];
            }
        }

        return y;
    }

    /// <summary>dX = dY W^T, dW = X^T dY, db = the sums of dY per bias.</summary>
    public static (double[] Dx, double[] Dw, double[] Db) LinearBackward(LinearLayer layer, float[] x, float[] w, float[] dy)
    {
        var dx = new double[layer.Rows * layer.Inputs];
        var dw = new double[WeightCount(layer)];
        var db = new double[BiasCount(layer)];
        ForEachConnection(layer, (yi, xi, wi) =>
        {
            dx[xi] += (double)dy[yi] * w[wi];
            dw[wi] += (double)x[xi] * dy[yi];
        });
        for (long i = 0; i < dy.Length; i++)
        {
            db[BiasIndex(layer, i)] += dy[i];
        }

        return (dx, dw, db);
    }

    /// <summary>LayerNorm without affine (eps 1e-5) over rows of width <paramref name="dim"/>.</summary>
    public static (double[] Y, double[] Mean, double[] Rstd) LayerNorm(float[] x, int dim)
    {
        int rows = x.Length / dim;
        var y = new double[x.Length];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = x.AsSpan(r * dim, dim);
            double mu = 0, variance = 0;
            foreach (float v in row)
            {
                mu += v;
            }

            mu /= dim;
            foreach (float v in row)
            {
                variance += (v - mu) * (v - mu);
            }

            mean[r] = mu;
            rstd[r] = 1 / Math.Sqrt((variance / dim) + 1e-5);
            for (int i = 0; i < dim; i++)
            {
                y[(r * dim) + i] = (row[i] - mu) * rstd[r];
            }
        }

        return (y, mean, rstd);
    }

    /// <summary>
    /// rstd * (t - mean(t) - y * mean(y * t)) per row: the LayerNorm JVP of tangent t and, the map being symmetric,
    /// its VJP of cotangent t. <paramref name="t"/> may stack several tangents (rows repeat every <c>y.Length</c>).
    /// </summary>
    public static double[] LayerNormProject(double[] y, double[] rstd, float[] t, int dim)
    {
        var result = new double[t.Length];
        int rows = y.Length / dim;
        for (int start = 0; start < t.Length; start += y.Length)
        {
            for (int r = 0; r < rows; r++)
            {
                double meanT = 0, meanYT = 0;
                for (int i = 0; i < dim; i++)
                {
                    meanT += t[start + (r * dim) + i] / (double)dim;
                    meanYT += y[(r * dim) + i] * t[start + (r * dim) + i] / dim;
                }

                for (int i = 0; i < dim; i++)
                {
                    result[start + (r * dim) + i] = rstd[r] * (t[start + (r * dim) + i] - meanT - (y[(r * dim) + i] * meanYT));
                }
            }
        }

        return result;
    }

    public static float[] ToFloat(double[] values) => [.. values.Select(v => (float)v)];
}
