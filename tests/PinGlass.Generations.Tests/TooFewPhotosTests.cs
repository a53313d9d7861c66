using PinGlass.Generations.Planning;

namespace PinGlass.Generations.Tests;

/// <summary>The upload's minimum: fewer usable photos than configured, or none chosen as a reference, starts nothing.</summary>
public sealed class TooFewPhotosTests
{
    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(0, 1)]
    public void Fewer_usable_photos_than_the_minimum_are_refused_with_the_counts(int usable, int minimum) =>
        Assert.Equal($"{usable} of 16 photos can be used; at least {minimum} are needed. Each photo says why it cannot.",
            GenerationPlanner.TooFewPhotos(usable, 16, minimum, references: 1));

    [Theory]
    [InlineData(3, 3)]
    [InlineData(12, 3)]
    [InlineData(1, 1)]
    public void The_minimum_or_more_start_a_generation(int usable, int minimum) =>
        Assert.Null(GenerationPlanner.TooFewPhotos(usable, 16, minimum, references: 1));

    [Fact]
    public void Usable_photos_none_of_which_became_a_reference_are_refused() =>
        Assert.NotNull(GenerationPlanner.TooFewPhotos(3, 3, 3, references: 0));
}
