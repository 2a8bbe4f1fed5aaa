namespace ForwardGrad.Data;

/// <summary>The file format of a named data set.</summary>
public enum DatasetFormat
{
    /// <summary>Four IDX files (raw or .gz): train/t10k images and labels.</summary>
    Idx,

    /// <summary>CIFAR-10 binary: data_batch_1..5.bin and test_batch.bin.</summary>
    Cifar10Binary,
}
