namespace ForwardGrad.Data;

/// <summary>
/// Random training augmentation, drawn per (seed, epoch, image index) so it is the same on every run:
/// a random crop of the image padded by <see cref="CropPadding"/> zero pixels on each side (the standard CIFAR
/// recipe; padding pixels are raw 0 before normalisation), then a horizontal flip with probability 1/2.
/// </summary>
/// <param name="CropPadding">Zero pixels added on each side before cropping back to the original size (0: no crop).</param>
/// <param name="HorizontalFlip">Mirror left-right with probability 1/2.</param>
public sealed record Augmentation(int CropPadding = 4, bool HorizontalFlip = true)
{
    /// <summary>The standard CIFAR augmentation: 4-pixel padding and random crop, horizontal flip.</summary>
    public static Augmentation Cifar { get; } = new();
}
