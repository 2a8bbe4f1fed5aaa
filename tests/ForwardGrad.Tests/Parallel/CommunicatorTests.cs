using ForwardGrad.Parallel;

namespace ForwardGrad.Tests.Parallel;

/// <summary>
/// The <see cref="Communicator"/> in a world of one rank (this test process, started without mpirun). Several ranks are
/// tested through mpirun: the native mpi.comm.np2/np3 tests and <see cref="DataParallelTrainingTests"/>.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CommunicatorTests
{
    private Communicator _world = null!;

    [OneTimeSetUp]
    public void CreateWorld()
    {
        MpiAvailability.RequirePlugin();
        _world = Communicator.World(TimeSpan.FromSeconds(30));
    }

    [OneTimeTearDown]
    public void FreeWorld() => _world?.Dispose();

    [Test]
    public void AProcessStartedAlone_IsRankZeroOfOne()
    {
        Assert.That(_world.Rank, Is.Zero);
        Assert.That(_world.Size, Is.EqualTo(1));
        Assert.That(_world.IsRoot, Is.True);
        Assert.That(_world.Timeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(Communicator.MpiVersion, Does.Contain("MPI"));
    }

    [TestCase(ReduceMode.Deterministic)]
    [TestCase(ReduceMode.Fast)]
    public void AllReduceOverOneRank_LeavesTheBitsAlone(ReduceMode mode)
    {
        float[] values = [1.5f, -0.1f, float.Epsilon, 3e38f, 0.3f];
        float[] sum = [.. values], mean = [.. values];
        _world.AllReduceSum(sum, mode);
        _world.AllReduceMean(mean, mode);
        Assert.That(sum, Is.EqualTo(values));
        Assert.That(mean, Is.EqualTo(values));
    }

    [Test]
    public void BroadcastFromTheOnlyRank_KeepsTheData()
    {
        long[] data = [1, long.MaxValue, -7];
        _world.Broadcast<long>(data);
        Assert.That(data, Is.EqualTo(new long[] { 1, long.MaxValue, -7 }));
    }

    [Test]
    public void ARankThatIsNotThere_IsRefusedWithItsName()
    {
        var send = Assert.Throws<ForwardGradException>(() => _world.Send<float>(new float[3], destination: 1));
        Assert.That(send!.Status, Is.EqualTo(ForwardGradStatus.InvalidArgument));
        Assert.That(send.Message, Does.Contain("destination 1 is not another rank of this communicator (0..0"));
        var self = Assert.Throws<ForwardGradException>(() => _world.Receive<float>(new float[3], source: 0));
        Assert.That(self!.Message, Does.Contain("source 0 is not another rank"));
        var root = Assert.Throws<ForwardGradException>(() => _world.Broadcast<float>(new float[3], root: 2));
        Assert.That(root!.Message, Does.Contain("root 2 is not a rank of this communicator"));
    }

    [Test]
    public void ATimeLimitMustBePositive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _world.Timeout = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => Communicator.World(TimeSpan.FromSeconds(-1)));
        _world.Timeout = TimeSpan.FromSeconds(45);
        Assert.That(_world.Timeout, Is.EqualTo(TimeSpan.FromSeconds(45)));
        _world.Timeout = TimeSpan.FromSeconds(30);
    }

    [Test]
    public void StatsCountCalls_AndOneRankMovesNoBytes()
    {
        _world.ResetStats();
        _world.AllReduceSum(new float[1000]);
        _world.Barrier();
        CommunicationStats stats = _world.Stats;
        Assert.That(stats.Calls, Is.EqualTo(2));
        Assert.That(stats.BytesSent, Is.Zero);
        Assert.That(stats.BytesReceived, Is.Zero);
        Assert.That(stats.Time, Is.GreaterThanOrEqualTo(TimeSpan.Zero));
    }

    [Test]
    public void SplitOfOneRank_IsAWorldOfOne()
    {
        using Communicator part = _world.Split(color: 0, key: 0);
        Assert.That((part.Rank, part.Size), Is.EqualTo((0, 1)));
        float[] data = [2f];
        part.AllReduceSum(data);
        Assert.That(data[0], Is.EqualTo(2f));
        var negative = Assert.Throws<ForwardGradException>(() => _world.Split(color: -1, key: 0));
        Assert.That(negative!.Message, Does.Contain("color must be >= 0"));
    }

    [Test]
    public void NcclProbe_GivesAVersionOrTheReason()
    {
        bool available = Communicator.NcclAvailable(out string reason);
        Assert.That(reason, Is.Not.Empty);
        Assert.That(reason, available ? Does.StartWith("NCCL ") : Does.Contain("libnccl.so.2"));
    }

    [TestCase(ForwardGradStatus.CommTimeout, "FG_ERR_COMM_TIMEOUT")]
    [TestCase(ForwardGradStatus.CommPeer, "FG_ERR_COMM_PEER")]
    [TestCase(ForwardGradStatus.CommMismatch, "FG_ERR_COMM_MISMATCH")]
    [TestCase(ForwardGradStatus.InvalidArgument, "FG_ERR_INVALID_ARGUMENT")]
    public void ThePlugin_NamesEveryStatusItReturns(ForwardGradStatus status, string name) =>
        Assert.That(Interop.NativeText.FromPointer(Interop.CommMethods.fg_comm_status_string(status)), Is.EqualTo(name));

    [Test]
    public void ADisposedCommunicator_IsRefused()
    {
        Communicator part = _world.Split(0, 0);
        part.Dispose();
        Assert.Throws<ObjectDisposedException>(() => part.Barrier());
    }
}
