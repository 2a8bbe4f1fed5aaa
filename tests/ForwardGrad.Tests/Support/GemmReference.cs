namespace ForwardGrad.Tests.Support;

/// <summary>A float64 reference GEMM and a tolerance derived from the magnitudes it sums.</summary>
internal static class GemmReference
{
    /// <summary>C = alpha op(A) op(B) + beta C in float64; also returns each element's sum of absolute terms.</summary>
    public static (double[] Result, double[] Magnitude) Compute(
        float[] a, float[] b, float[] c, int m, int n, int k, bool transposeA, bool transposeB, float alpha, float beta)
    {
        var result = new double[m * n];
        var magnitude = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, absolute = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = transposeA ? a[p * m + i] : a[i * k + p];
                    double y = transposeB ? b[j * k + p] : b[p * n + j];
                    sum += x * y;
                    absolute += Math.Abs(x * y);
                }

                double old = beta == 0 ? 0 : beta * (double)c[i * n + j];
                result[i * n + j] = alpha * sum + old;
                magnitude[i * n + j] = Math.Abs(alpha) * absolute + Math.Abs(old);
            }
        }

        return (result, magnitude);
    }
}
