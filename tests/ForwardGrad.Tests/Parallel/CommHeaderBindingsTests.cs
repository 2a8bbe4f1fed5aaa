using System.Reflection;
using System.Runtime.InteropServices;
using ForwardGrad.Interop;
using ForwardGrad.Tests.Support;

namespace ForwardGrad.Tests.Parallel;

/// <summary>forwardgrad_comm.h and the [LibraryImport] bindings of the MPI plug-in must agree (no MPI needed).</summary>
[TestFixture]
public sealed class CommHeaderBindingsTests
{
    private string _header = string.Empty;

    // The parser knows FG_API; the plug-in's exports carry FG_COMM_API.
    [OneTimeSetUp]
    public void ReadHeader() =>
        _header = File.ReadAllText(RepositoryPaths.Find(Path.Combine("native", "include", "forwardgrad_comm.h"))).Replace("FG_COMM_API", "FG_API", StringComparison.Ordinal);

    [Test]
    public void EveryExport_HasABindingWithTheSameArity_AndNoBindingIsExtra()
    {
        var functions = HeaderParser.Functions(_header);
        var bindings = typeof(CommMethods).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(method => method.GetCustomAttribute<LibraryImportAttribute>() is { LibraryName: CommMethods.LibraryName })
            .ToDictionary(method => method.Name);
        Assert.That(functions, Has.Count.GreaterThanOrEqualTo(15));
        var problems = functions
            .Where(f => !bindings.TryGetValue(f.Key, out MethodInfo? m) || m.GetParameters().Length != f.Value)
            .Select(f => $"{f.Key}: {f.Value} parameters in the header, binding {(bindings.TryGetValue(f.Key, out MethodInfo? m) ? m.GetParameters().Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : "missing")}")
            .Concat(bindings.Keys.Where(name => !functions.ContainsKey(name)).Select(name => $"{name}: bound but not in forwardgrad_comm.h"))
            .ToList();
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void ConstantsAndStatuses_MatchTheHeader()
    {
        var constants = HeaderParser.Constants(_header);
        Assert.Multiple(() =>
        {
            Assert.That(constants["FG_COMM_ABI_VERSION"], Is.EqualTo(CommMethods.AbiVersion));
            Assert.That(constants["FG_COMM_SUM"], Is.EqualTo(CommMethods.Sum));
            Assert.That(constants["FG_COMM_MEAN"], Is.EqualTo(CommMethods.Mean));
            Assert.That(constants["FG_COMM_FAST"], Is.EqualTo(CommMethods.Fast).And.EqualTo((int)global::ForwardGrad.Parallel.ReduceMode.Fast));
            Assert.That(constants["FG_COMM_DETERMINISTIC"], Is.EqualTo(CommMethods.Deterministic).And.EqualTo((int)global::ForwardGrad.Parallel.ReduceMode.Deterministic));
            Assert.That(constants["FG_ERR_COMM_TIMEOUT"], Is.EqualTo((int)ForwardGradStatus.CommTimeout));
            Assert.That(constants["FG_ERR_COMM_PEER"], Is.EqualTo((int)ForwardGradStatus.CommPeer));
            Assert.That(constants["FG_ERR_COMM_MISMATCH"], Is.EqualTo((int)ForwardGradStatus.CommMismatch));
        });
    }

    [Test]
    public unsafe void TheStatsStruct_HasTheHeadersMembers()
    {
        Assert.That(HeaderParser.Structs(_header)["fg_comm_stats"], Is.EqualTo(typeof(FgCommStats).GetFields().Length));
        Assert.That(sizeof(FgCommStats), Is.EqualTo(40));  // uint32 + padding, three uint64, one double
    }
}
