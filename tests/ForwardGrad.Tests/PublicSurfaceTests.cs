using System.Reflection;
using ForwardGrad.Training;

namespace ForwardGrad.Tests;

/// <summary>What a package consumer can see and what the library drags into their app.</summary>
[TestFixture]
public sealed class PublicSurfaceTests
{
    [Test]
    public void BindingsAssembly_ExportsOnlyTheExceptionAndItsStatus()
    {
        Assembly bindings = typeof(ForwardGradException).Assembly;
        Assert.That(bindings.GetName().Name, Is.EqualTo("ForwardGrad.Interop"));
        Assert.That(bindings.GetExportedTypes().Select(t => t.FullName), Is.EquivalentTo(new[]
        {
            "ForwardGrad.ForwardGradException",
            "ForwardGrad.ForwardGradStatus",
        }));
    }

    [Test]
    public void CoreLibrary_ReferencesNoPlottingOrConsoleLibrary()
    {
        string[] references = [.. typeof(Trainer).Assembly.GetReferencedAssemblies().Select(a => a.Name!)];
        Assert.That(references, Does.Contain("ForwardGrad.Interop"));
        Assert.That(references.Where(n => n.StartsWith("ScottPlot", StringComparison.Ordinal) || n.StartsWith("SkiaSharp", StringComparison.Ordinal)
            || n.StartsWith("HarfBuzz", StringComparison.Ordinal) || n.StartsWith("Spectre", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public void CoreLibrary_PublicTypesLiveUnderTheForwardGradNamespace()
    {
        var outside = typeof(Trainer).Assembly.GetExportedTypes()
            .Where(t => t.Namespace is null || !(t.Namespace == "ForwardGrad" || t.Namespace.StartsWith("ForwardGrad.", StringComparison.Ordinal)))
            .Select(t => t.FullName);
        Assert.That(outside, Is.Empty);
        Assert.That(typeof(Trainer).Assembly.GetExportedTypes().Where(t => t.Namespace == "ForwardGrad.Interop"), Is.Empty);
    }
}
