using ForwardGrad.Data;

namespace ForwardGrad.Tests.Data;

[TestFixture]
public sealed class ShufflingTests
{
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1000)]
    public void EveryIndexAppearsOncePerEpoch(int count)
    {
        var shuffler = new EpochShuffler(count, seed: 42);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            Assert.That(shuffler.Permutation(epoch), Is.EquivalentTo(Enumerable.Range(0, count)), $"epoch {epoch}");
        }
    }

    [Test]
    public void SameSeedAndEpoch_SameOrder_OtherEpochOrSeed_OtherOrder()
    {
        var a = new EpochShuffler(500, seed: 7);
        var b = new EpochShuffler(500, seed: 7);
        var c = new EpochShuffler(500, seed: 8);
        Assert.Multiple(() =>
        {
            Assert.That(b.Permutation(3), Is.EqualTo(a.Permutation(3)));
            Assert.That(a.Permutation(4), Is.Not.EqualTo(a.Permutation(3)));
            Assert.That(c.Permutation(3), Is.Not.EqualTo(a.Permutation(3)));
            Assert.That(a.Permutation(0), Is.Not.EqualTo(Enumerable.Range(0, 500)));
        });
    }

    [Test]
    public void ValidationSplit_IsDisjoint_Complete_AndSeeded()
    {
        ImageDataset data = TestDatasets.Numbered(count: 50, height: 2, width: 2, channels: 1);
        var (train, validation) = ValidationSplit.HoldOut(data, validationCount: 10, seed: 3);
        var (train2, validation2) = ValidationSplit.HoldOut(data, validationCount: 10, seed: 3);
        var (_, validation3) = ValidationSplit.HoldOut(data, validationCount: 10, seed: 4);

        int[] trainIds = TestDatasets.Ids(train);
        int[] validationIds = TestDatasets.Ids(validation);
        Assert.Multiple(() =>
        {
            Assert.That((train.Count, validation.Count), Is.EqualTo((40, 10)));
            Assert.That(trainIds.Concat(validationIds), Is.EquivalentTo(Enumerable.Range(0, 50)));
            Assert.That(TestDatasets.Ids(train2), Is.EqualTo(trainIds));
            Assert.That(TestDatasets.Ids(validation2), Is.EqualTo(validationIds));
            Assert.That(TestDatasets.Ids(validation3), Is.Not.EqualTo(validationIds));
            Assert.That(validationIds, Is.Ordered);
            Assert.That(ValidationSplit.HoldOut(data, 0.1, seed: 3).Validation.Count, Is.EqualTo(5));
        });
    }
}
