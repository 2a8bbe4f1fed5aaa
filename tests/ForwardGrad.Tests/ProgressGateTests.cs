using ForwardGrad.Cli.Commands;

namespace ForwardGrad.Tests;

[TestFixture]
public sealed class ProgressGateTests
{
    [Test]
    public void PassesTheFirstStep_ThenOnePerInterval_AndTheLastAlways()
    {
        var gate = new ProgressGate(100);
        long start = Environment.TickCount64;  // a real clock value: far from 0 and from long.MinValue
        Assert.That(gate.Admit(start, last: false), Is.True, "the first step");
        Assert.That(gate.Admit(start + 50, last: false), Is.False);
        Assert.That(gate.Admit(start + 99, last: false), Is.False);
        Assert.That(gate.Admit(start + 100, last: false), Is.True, "one interval on");
        Assert.That(gate.Admit(start + 120, last: false), Is.False);
        Assert.That(gate.Admit(start + 121, last: true), Is.True, "the last step");
    }
}
