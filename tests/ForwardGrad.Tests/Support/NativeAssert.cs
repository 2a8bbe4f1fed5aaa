using ForwardGrad.Interop;

namespace ForwardGrad.Tests.Support;

/// <summary>Assertions on raw native calls.</summary>
internal static class NativeAssert
{
    /// <summary>Asserts that a native call failed and returns the exception <see cref="NativeStatus.Check"/> makes of it.</summary>
    public static ForwardGradException Fails(ForwardGradStatus status)
    {
        Assert.That(status, Is.Not.EqualTo(ForwardGradStatus.Ok), "the native call was expected to fail");
        return Assert.Throws<ForwardGradException>(() => NativeStatus.Check(status))!;
    }
}
