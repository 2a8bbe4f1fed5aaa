using ForwardGrad.Cli;
using ForwardGrad.Cli.Commands;

namespace ForwardGrad.Tests;

[TestFixture]
public sealed class CliTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args) => CliRunner.Run(args);

    [Test]
    public void Info_PrintsVersionsBackendsAndGemm()
    {
        var (exitCode, output, error) = Run("info");
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain($"forwardgrad {Backends.LibraryVersion}"));
            Assert.That(output, Does.Contain($"ABI version:  {Backends.LibraryAbiVersion} (bindings: {Backends.BindingsAbiVersion})"));
            Assert.That(output, Does.Contain("cpu: available"));
            GemmProviderInfo gemm = Backends.GemmProvider;
            Assert.That(output, Does.Contain($"gemm:         {gemm.Id}: {Context.Cpu().Info.GemmName}"));
            Assert.That(output, Does.Contain($"gemm kernels: {gemm.KernelIsa} on a CPU with {gemm.CpuIsa}"));
            Assert.That(output.Contains("warning:"), Is.EqualTo(gemm.Warning.Length > 0));
        });

        var (cudaAvailable, reason) = Backends.Probe(Backend.Cuda);
        Assert.That(output, cudaAvailable
            ? Does.Contain("cuda: available")
            : Does.Contain("cuda: not available: " + reason.Split('\n')[0].Trim()));
    }

    [TestCase("S/1/1", null, "271,892")]
    [TestCase("M/1/16", null, "429,076")]
    [TestCase("m-8-16", null, "918,770")]
    [TestCase("L/8/64", "cifar10", "13,074,674")]
    [TestCase("M/8/16", "imagenet", null)]
    public void InfoModel_PrintsTheLayerTableAndTotal(string model, string? dataset, string? total)
    {
        string[] args = dataset is null ? ["info", "--model", model] : ["info", "--model", model, "--dataset", dataset];
        var (exitCode, output, error) = Run(args);
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success), error);
        string[] lines = output.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[1], Does.Contain("name").And.Contain("shape").And.Contain("elements").And.Contain("kind"));
        Assert.That(lines, Has.Some.Match(@"^\s+block0\.channel\.weight\s+\d+ x \d+\s+[\d,]+\s+weight$"));
        Assert.That(lines, Has.Some.Match(@"^\s+final\.bias\s+\d+\s+[\d,]+\s+bias$"));
        Assert.That(output, Does.Not.Contain("backends:"));
        if (total is not null)
        {
            Assert.That(lines[^1], Does.StartWith($"total: {total} parameters"));
        }
        else
        {
            Assert.That(lines[0], Does.Contain("224x224x3 images, 1000 classes"));
            Assert.That(lines, Has.Some.Match(@"^\s+final\.bias\s+1000\s+1,000\s+bias$"));
        }
    }

    [TestCase("info", "--dataset", "mnist")]
    [TestCase("info", "--model", "X/1/1")]
    [TestCase("info", "--model", "S/1/1", "--dataset", "nope")]
    public void InfoModel_BadArgumentsAreOneReadableError(params string[] args)
    {
        var (exitCode, _, error) = Run(args);
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Failure));
        Assert.That(error, Does.StartWith("fgrad: error:"));
    }

    [TestCase("--help")]
    [TestCase("info", "--help")]
    [TestCase("help", "info")]
    public void Help_GoesToOutputAndSucceeds(params string[] args)
    {
        var (exitCode, output, _) = Run(args);
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Success));
        Assert.That(output, Does.Contain("--verbose").Or.Contain("info"));
    }

    [Test]
    public void UnknownVerb_IsAUsageError()
    {
        var (exitCode, output, error) = Run("frobnicate");
        Assert.That(exitCode, Is.EqualTo(ExitCodes.Usage));
        Assert.That(error, Does.Contain("frobnicate"));
        Assert.That(output, Is.Empty);
    }

    [Test]
    public void FailingCommand_PrintsOneReadableLine_StackTraceOnlyWhenVerbose()
    {
        using var quietError = new StringWriter();
        int quiet = CommandRunner.Execute(new UnregisteredOptions(), TextWriter.Null, quietError);
        Assert.That(quiet, Is.EqualTo(ExitCodes.Failure));
        string first = quietError.ToString().Split('\n')[0];
        Assert.That(first, Does.StartWith("fgrad: error: ").And.Contain("No command is registered"));
        Assert.That(quietError.ToString(), Does.Not.Contain(" at "));

        using var verboseError = new StringWriter();
        int verbose = CommandRunner.Execute(new UnregisteredOptions { Verbose = true }, TextWriter.Null, verboseError);
        Assert.That(verbose, Is.EqualTo(ExitCodes.Failure));
        Assert.That(verboseError.ToString(), Does.Contain(" at "));
    }

    private sealed class UnregisteredOptions : CommandOptions
    {
    }
}
