namespace ForwardGrad.Data;

/// <summary>Turns label bytes into class indices, rejecting any label outside [0, classCount).</summary>
internal static class LabelCheck
{
    /// <summary>The labels as ints; throws a <see cref="DataFormatException"/> naming <paramref name="path"/> for a bad one.</summary>
    public static int[] ToClasses(ReadOnlySpan<byte> labels, int classCount, string path)
    {
        var classes = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
            {
                throw DataFormatException.For(
                    path,
                    $"label {labels[i]} of item {i} is out of range (this data set has {classCount} classes, 0..{classCount - 1})",
                    "the file belongs to another data set or is damaged: use the matching label file");
            }

            classes[i] = labels[i];
        }

        return classes;
    }
}
