using System.Reflection;
using System.Runtime.InteropServices;
using ForwardGrad.Interop;
using ForwardGrad.Tests.Support;

namespace ForwardGrad.Tests;

/// <summary>The header and the [LibraryImport] bindings must agree: every export declared, same arity.</summary>
[TestFixture]
public sealed class HeaderBindingsTests
{
    private string _header = string.Empty;

    [OneTimeSetUp]
    public void ReadHeader() => _header = File.ReadAllText(RepositoryPaths.Header);

    private static Dictionary<string, MethodInfo> Bindings() =>
        typeof(NativeMethods).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Import: method.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(pair => pair.Import is not null && pair.Import.LibraryName == NativeMethods.LibraryName)
            .ToDictionary(pair => pair.Import!.EntryPoint ?? pair.Method.Name, pair => pair.Method);

    [Test]
    public void HeaderParser_FindsTheExports()
    {
        var functions = HeaderParser.Functions(_header);
        Assert.That(functions, Has.Count.GreaterThanOrEqualTo(20));
        Assert.That(functions["fg_gemm"], Is.EqualTo(11));
        Assert.That(functions["fg_abi_version"], Is.Zero);
    }

    [Test]
    public void EveryExport_HasABindingWithTheSameArity()
    {
        var functions = HeaderParser.Functions(_header);
        var bindings = Bindings();
        var problems = new List<string>();
        foreach (var (name, arity) in functions)
        {
            if (!bindings.TryGetValue(name, out MethodInfo? method))
            {
                problems.Add($"{name}: declared in forwardgrad.h but has no [LibraryImport] binding");
            }
            else if (method.GetParameters().Length != arity)
            {
                problems.Add($"{name}: forwardgrad.h has {arity} parameters, the binding has {method.GetParameters().Length}");
            }
        }

        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void EveryBinding_IsAnExport()
    {
        var functions = HeaderParser.Functions(_header);
        var extra = Bindings().Keys.Where(name => !functions.ContainsKey(name)).ToList();
        Assert.That(extra, Is.Empty, "bindings with no FG_API declaration in forwardgrad.h: " + string.Join(", ", extra));
    }

    [Test]
    public void EveryBinding_IsBlittable()
    {
        var problems = new List<string>();
        foreach (var (name, method) in Bindings())
        {
            foreach (Type type in method.GetParameters().Select(p => p.ParameterType).Append(method.ReturnType))
            {
                Type element = type.IsByRef || type.IsPointer ? type.GetElementType()! : type;
                if (!(element.IsPrimitive || element.IsEnum || element == typeof(void) || (element.IsValueType && element.IsLayoutSequential)))
                {
                    problems.Add($"{name}: {type.Name} is not blittable");
                }
            }
        }

        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    [Test]
    public void AbiVersionAndConstants_MatchTheHeader()
    {
        var constants = HeaderParser.Constants(_header);
        var expected = new Dictionary<string, double>
        {
            ["FG_ABI_VERSION"] = NativeConstants.AbiVersion,
            ["FG_BACKEND_CPU"] = NativeConstants.BackendCpu,
            ["FG_BACKEND_CUDA"] = NativeConstants.BackendCuda,
            ["FG_NO_TRANS"] = NativeConstants.NoTranspose,
            ["FG_TRANS"] = NativeConstants.Transpose,
            ["FG_LAYER_DENSE"] = NativeConstants.LayerDense,
            ["FG_LAYER_GROUP"] = NativeConstants.LayerGroup,
            ["FG_LAYER_TOKEN"] = NativeConstants.LayerToken,
            ["FG_LN_EPS"] = NativeConstants.LayerNormEpsilon,
            ["FG_SCALE_GROUP"] = NativeConstants.ScaleGroup,
            ["FG_SCALE_PATCH"] = NativeConstants.ScalePatch,
            ["FG_SCALE_GLOBAL"] = NativeConstants.ScaleGlobal,
            ["FG_WSLICE_COLUMNS"] = NativeConstants.WeightSliceColumns,
            ["FG_WSLICE_LEADING"] = NativeConstants.WeightSliceLeading,
            ["FG_WSLICE_ALL"] = NativeConstants.WeightSliceAll,
            ["FG_OPT_SGD"] = NativeConstants.OptimizerSgd,
            ["FG_OPT_ADAMW"] = NativeConstants.OptimizerAdamW,
            ["FG_METHOD_BP"] = NativeConstants.MethodBackprop,
            ["FG_METHOD_LBP"] = NativeConstants.MethodLocalBackprop,
            ["FG_METHOD_LGBP"] = NativeConstants.MethodLocalGreedyBackprop,
            ["FG_METHOD_FGW"] = NativeConstants.MethodForwardGradientWeights,
            ["FG_METHOD_FGA"] = NativeConstants.MethodForwardGradientActivities,
            ["FG_METHOD_LGFGW"] = NativeConstants.MethodLocalGreedyForwardGradientWeights,
            ["FG_METHOD_LGFGA"] = NativeConstants.MethodLocalGreedyForwardGradientActivities,
            ["FG_METHOD_FA"] = NativeConstants.MethodFeedbackAlignment,
            ["FG_METHOD_LFA"] = NativeConstants.MethodLocalFeedbackAlignment,
            ["FG_METHOD_LGFA"] = NativeConstants.MethodLocalGreedyFeedbackAlignment,
            ["FG_METHOD_DFA"] = NativeConstants.MethodDirectFeedbackAlignment,
            ["FG_SLICES_SUM"] = NativeConstants.SlicesSum,
            ["FG_SLICES_GROUP"] = NativeConstants.SlicesGroup,
            ["FG_MAX_BLOCKS"] = NativeConstants.MaxBlocks,
            ["FG_LOSS_CROSS_ENTROPY"] = NativeConstants.LossCrossEntropy,
            ["FG_LOSS_CONTRASTIVE"] = NativeConstants.LossContrastive,
            ["FG_CONTRASTIVE_DIM"] = NativeConstants.ContrastiveDim,
            ["FG_CONTRASTIVE_TEMPERATURE"] = NativeConstants.ContrastiveTemperature,
        };
        // The communication statuses (100 and up) are declared in forwardgrad_comm.h: CommHeaderBindingsTests.
        foreach (ForwardGradStatus status in Enum.GetValues<ForwardGradStatus>().Where(s => (int)s < 100))
        {
            expected[status == ForwardGradStatus.Ok ? "FG_OK" : "FG_ERR_" + NativeStatus.Name(status)["FG_ERR_".Length..]] = (int)status;
        }

        var problems = expected
            .Where(pair => !constants.TryGetValue(pair.Key, out double value) || Math.Abs(value - pair.Value) > 1e-12)
            .Select(pair => $"{pair.Key}: bindings {pair.Value}, header {(constants.TryGetValue(pair.Key, out double v) ? v : "missing")}")
            .ToList();
        var unbound = constants.Keys.Where(name => !expected.ContainsKey(name)).ToList();
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
        Assert.That(unbound, Is.Empty, "constants in forwardgrad.h that NativeConstants lacks: " + string.Join(", ", unbound));
    }

    [Test]
    public void Structs_HaveTheHeadersMembers()
    {
        var structs = HeaderParser.Structs(_header);
        var problems = new List<string>();
        foreach (var (name, members) in structs)
        {
            // fg_context_options -> ForwardGrad.Interop.FgContextOptions
            string typeName = typeof(NativeMethods).Namespace + "." + string.Concat(name.Split('_').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
            Type? type = typeof(NativeMethods).Assembly.GetType(typeName);
            if (type is null)
            {
                problems.Add($"{name}: no struct {typeName} in the bindings");
                continue;
            }

            int fields = type.GetFields(BindingFlags.Public | BindingFlags.Instance).Length;
            if (fields != members)
            {
                problems.Add($"{name} has {members} members in forwardgrad.h, {type.Name} has {fields} fields");
            }

            if (!type.IsLayoutSequential || type.GetFields(BindingFlags.Public | BindingFlags.Instance)[0].FieldType != typeof(uint))
            {
                problems.Add($"{type.Name} must be a sequential struct that begins with its uint size");
            }
        }

        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }
}
