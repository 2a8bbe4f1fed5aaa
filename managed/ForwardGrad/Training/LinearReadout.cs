using System.Globalization;
using ForwardGrad.Data;
using ForwardGrad.Model;

namespace ForwardGrad.Training;

/// <summary>
/// Linear evaluation of a trained backbone: the final classifier is reset to zero and trained alone, with plain SGD
/// (momentum 0.9, constant rate) on the cross-entropy of the last block's pooled features, which stay frozen; the
/// test error it then reaches measures the features. The gradient comes from an LG-BP step, whose final classifier
/// reads the backbone through a stop-gradient; only the final classifier is updated.
/// </summary>
public static class LinearReadout
{
    /// <summary>
    /// Trains the readout of <paramref name="model"/> for <paramref name="epochs"/> epochs on the training set of
    /// <paramref name="data"/> (images normalised with <paramref name="normalization"/>, no augmentation, seeded order)
    /// and returns the test error in percent. Each epoch's line goes to <paramref name="log"/>.
    /// </summary>
    public static double Train(LocalMixer model, DatasetSplits data, ChannelStats normalization, int epochs, double learningRate,
        int batchSize, ulong seed, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        Require(epochs >= 1, "--epochs", "a positive integer", epochs);
        Require(double.IsFinite(learningRate) && learningRate > 0, "--lr", "a finite number > 0", learningRate);
        Require(batchSize >= 2 && batchSize % 2 == 0 && batchSize <= data.Train.Count, "--batch-size",
            $"an even number from 2 to the training set's {data.Train.Count} images", batchSize);
        ModelParameter[] readout = [.. model.Parameters.Where(p => p.Block < 0)];
        float[][] velocity = [.. readout.Select(p => new float[p.Elements])];
        foreach (ModelParameter p in readout)
        {
            p.Upload(new float[p.Elements]);
        }

        var loader = new BatchLoader(data.Train, new BatchLoaderOptions
        {
            BatchSize = batchSize, Shuffle = true, Seed = unchecked((int)seed), Normalization = normalization, DropLast = true,
        });
        double error = double.NaN;
        uint step = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            double lossSum = 0;
            foreach (Batch batch in loader.Epoch(epoch))
            {
                lossSum += model.ComputeGradients(batch.Images, batch.Labels, TrainingMethod.LGBP, 1, seed, step++, 1.0f, 1.0f).Loss;
                for (int i = 0; i < readout.Length; i++)
                {
                    float[] value = readout[i].ToArray(), grad = readout[i].GradientToArray(), v = velocity[i];
                    for (int j = 0; j < value.Length; j++)
                    {
                        v[j] = (0.9f * v[j]) + grad[j];
                        value[j] -= (float)learningRate * v[j];
                    }

                    readout[i].Upload(value);
                }
            }

            error = Trainer.Evaluate(model, data.Test, normalization);
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"readout epoch {epoch + 1}/{epochs}: train loss {lossSum / loader.BatchesPerEpoch:F4}, test error {error:F2}%"));
        }

        return error;
    }

    private static void Require(bool ok, string flag, string expected, double value)
    {
        if (!ok)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{flag} must be {expected}; got {value:R}."));
        }
    }
}
