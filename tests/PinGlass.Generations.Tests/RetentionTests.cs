using System.ComponentModel.DataAnnotations;
using PinGlass.Generations.Privacy;

namespace PinGlass.Generations.Tests;

public sealed class RetentionTests
{
    private static readonly DateTimeOffset Ended = new(2026, 12, 3, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void By_default_faces_go_a_day_after_the_end_and_portraits_thirty_days_after_it()
    {
        Assert.Equal(new RetentionDates(Ended.AddDays(1), Ended.AddDays(30)), RetentionDates.For(Ended, new RetentionOptions()));
    }

    [Fact]
    public void A_generation_that_has_not_ended_has_no_dates_yet()
    {
        Assert.Null(RetentionDates.For(null, new RetentionOptions()));
    }

    [Fact]
    public void Portraits_are_never_kept_shorter_than_the_faces_they_were_made_from()
    {
        Assert.Empty(Validate(new RetentionOptions { FacesAfterEnd = TimeSpan.FromDays(2), PortraitsFor = TimeSpan.FromDays(2) }));
        var error = Assert.Single(Validate(new RetentionOptions { FacesAfterEnd = TimeSpan.FromDays(2), PortraitsFor = TimeSpan.FromDays(1) }));
        Assert.Contains(nameof(RetentionOptions.PortraitsFor), error.MemberNames);
        Assert.NotEmpty(Validate(new RetentionOptions { FacesAfterEnd = TimeSpan.FromHours(-1) }));
    }

    private static List<ValidationResult> Validate(RetentionOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }
}
