namespace ForwardGrad.Data;

/// <summary>The content of an IDX image file: <see cref="Count"/> images of <see cref="Rows"/> x <see cref="Columns"/> bytes, row-major, back to back.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Columns">Image width.</param>
/// <param name="Pixels">Count * Rows * Columns bytes.</param>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);
