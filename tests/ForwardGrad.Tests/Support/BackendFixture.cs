namespace ForwardGrad.Tests.Support;

/// <summary>
/// A fixture run once per backend: one context of <see cref="Backend"/> shared by its tests, and the whole
/// fixture ignored, with the reason fg_backend_probe gives, where that backend is unavailable here.
/// </summary>
public abstract class BackendFixture
{
    private Context? _context;

    /// <summary>The backend under test.</summary>
    protected abstract Backend Backend { get; }

    /// <summary>A context of <see cref="Backend"/>, shared by the fixture's tests.</summary>
    protected Context Context => _context ?? throw new InvalidOperationException("The fixture has no context.");

    [OneTimeSetUp]
    public void CreateContext()
    {
        var (available, reason) = Backends.Probe(Backend);
        if (!available)
        {
            Assert.Ignore($"{Backend} backend unavailable: {reason}");
        }

        _context = Context.Create(Backend);
    }

    [OneTimeTearDown]
    public void DisposeContext() => _context?.Dispose();
}
