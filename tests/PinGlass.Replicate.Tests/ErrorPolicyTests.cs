using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Tests;

public sealed class ErrorPolicyTests
{
    [Theory]
    [InlineData(401, ErrorCategory.Authentication)]
    [InlineData(402, ErrorCategory.Billing)]
    [InlineData(404, ErrorCategory.NotFound)]
    [InlineData(408, ErrorCategory.Timeout)]
    [InlineData(413, ErrorCategory.BadRequest)]
    [InlineData(422, ErrorCategory.Validation)]
    [InlineData(429, ErrorCategory.RateLimit)]
    [InlineData(500, ErrorCategory.ServerError)]
    [InlineData(502, ErrorCategory.ServerError)]
    [InlineData(503, ErrorCategory.ModelOverloaded)]
    [InlineData(504, ErrorCategory.ServerError)]
    public void Statuses_map_to_categories(int status, ErrorCategory category) => Assert.Equal(category, ErrorPolicy.FromStatus(status));

    public static TheoryData<ErrorCategory, ErrorDisposition> Table => new()
    {
        { ErrorCategory.RateLimit, ErrorDisposition.Retry },
        { ErrorCategory.Timeout, ErrorDisposition.Retry },
        { ErrorCategory.ServerError, ErrorDisposition.Retry },
        { ErrorCategory.ModelOverloaded, ErrorDisposition.Retry },
        { ErrorCategory.NetworkError, ErrorDisposition.Retry },
        { ErrorCategory.Validation, ErrorDisposition.FallBack },
        { ErrorCategory.Authentication, ErrorDisposition.Final },
        { ErrorCategory.Billing, ErrorDisposition.Final },
        { ErrorCategory.NotFound, ErrorDisposition.FallBack },
        { ErrorCategory.Safety, ErrorDisposition.FallBack },
        { ErrorCategory.ModelError, ErrorDisposition.FallBack },
        { ErrorCategory.BadRequest, ErrorDisposition.Final },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Every_category_has_its_disposition(ErrorCategory category, ErrorDisposition disposition)
    {
        Assert.Equal(disposition, ErrorPolicy.DispositionOf(category));
        Assert.Equal(disposition == ErrorDisposition.Retry, ErrorPolicy.IsRetryable(category));
    }

    [Fact]
    public void The_table_covers_every_category() =>
        Assert.Equal(Enum.GetValues<ErrorCategory>().Order(), Table.Select(row => (ErrorCategory)row.Data.Item1).Order());

    [Theory]
    [InlineData(ErrorCategory.Validation)]
    [InlineData(ErrorCategory.Safety)]
    [InlineData(ErrorCategory.Authentication)]
    [InlineData(ErrorCategory.Billing)]
    [InlineData(ErrorCategory.RateLimit)]
    public void Causes_outside_the_model_do_not_count_against_its_circuit(ErrorCategory category) =>
        Assert.False(ErrorPolicy.CountsAgainstModel(category));

    [Theory]
    [InlineData(ErrorCategory.Timeout)]
    [InlineData(ErrorCategory.ModelOverloaded)]
    [InlineData(ErrorCategory.ModelError)]
    public void Model_failures_count_against_its_circuit(ErrorCategory category) => Assert.True(ErrorPolicy.CountsAgainstModel(category));

    [Theory]
    [InlineData("NSFW content detected. Try running it again, or try a different prompt.", ErrorCategory.Safety)]
    [InlineData("Your input or output was flagged as sensitive.", ErrorCategory.Safety)]
    [InlineData("CUDA out of memory. Tried to allocate 2.25 GiB", ErrorCategory.ModelError)]
    [InlineData("Prediction interrupted; please retry (code: PA)", ErrorCategory.ModelError)]
    [InlineData(null, ErrorCategory.ModelError)]
    public void Failed_predictions_are_categorised_by_their_error(string? error, ErrorCategory category) =>
        Assert.Equal(category, ErrorPolicy.FromPredictionError(error));
}
