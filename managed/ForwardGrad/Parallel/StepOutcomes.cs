namespace ForwardGrad.Parallel;

/// <summary>Helpers for <see cref="StepOutcome"/>.</summary>
internal static class StepOutcomes
{
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float value in values)
        {
            if (!float.IsFinite(value))
            {
                return false;
            }
        }

        return true;
    }
}
