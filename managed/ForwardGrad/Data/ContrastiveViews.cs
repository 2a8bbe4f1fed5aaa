namespace ForwardGrad.Data;

/// <summary>
/// The two random views per image that the contrastive local loss compares (docs/METHOD.md section 2), drawn per
/// (seed, epoch, image index, view) so the same seed gives the same views on every run. A batch with views holds
/// view 1 of every image, then view 2 of every image in the same order, and each image's label twice.
/// </summary>
/// <param name="Name">What the recipe is for ("28x28", "CIFAR-10").</param>
/// <param name="CropPadding">28x28: the image is shifted by up to this many pixels each way (a padded random crop).</param>
/// <param name="MaxRotationDegrees">28x28: the affine jitter's largest rotation, either way.</param>
/// <param name="MaxScaleChange">28x28: the affine jitter's scale is drawn from [1 - this, 1 + this].</param>
/// <param name="MinCropArea">CIFAR-10: a random resized crop covers this fraction of the image or more.</param>
/// <param name="HorizontalFlip">CIFAR-10: mirror left-right with probability 1/2.</param>
/// <param name="ColorJitter">CIFAR-10: brightness, contrast and saturation are each scaled by a factor in [1 - this, 1 + this].</param>
public sealed record ContrastiveViews(
    string Name,
    int CropPadding = 0,
    double MaxRotationDegrees = 0,
    double MaxScaleChange = 0,
    double MinCropArea = 1,
    bool HorizontalFlip = false,
    double ColorJitter = 0)
{
    /// <summary>28x28 single-channel data (MNIST, Fashion-MNIST): a 2-pixel padded random crop, rotation up to 10 degrees, scale 0.9 to 1.1.</summary>
    public static ContrastiveViews Digits { get; } = new("28x28", CropPadding: 2, MaxRotationDegrees: 10, MaxScaleChange: 0.1);

    /// <summary>32x32 colour data (CIFAR-10): a random resized crop of 20 % to 100 % of the image, horizontal flip, colour jitter 0.4.</summary>
    public static ContrastiveViews Cifar { get; } = new("CIFAR-10", MinCropArea: 0.2, HorizontalFlip: true, ColorJitter: 0.4);

    /// <summary>Whether the recipe resamples with a random resized crop (else a jittered affine map).</summary>
    public bool ResizedCrop => MinCropArea < 1;

    /// <summary>The recipe for images of this shape; an <see cref="ArgumentException"/> naming the shapes that have one otherwise.</summary>
    public static ContrastiveViews ForImages(int height, int width, int channels) => (height, width, channels) switch
    {
        (28, 28, 1) => Digits,
        (32, 32, 3) => Cifar,
        _ => throw new ArgumentException(
            $"the contrastive loss has view augmentations for 28x28x1 images (MNIST, Fashion-MNIST) and 32x32x3 images (CIFAR-10); this data set has {height}x{width}x{channels}: pick one of those data sets."),
    };
}
