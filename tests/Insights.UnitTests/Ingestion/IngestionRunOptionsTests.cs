using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Insights.Ingestion;

namespace Insights.UnitTests.Ingestion;

public sealed class IngestionRunOptionsTests
{
    private static List<ValidationResult> Validate(IngestionRunOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    [Fact]
    public void Finished_runs_are_kept_30_days_unless_set()
    {
        var options = new IngestionRunOptions();
        Assert.Equal(TimeSpan.FromDays(30), options.RunRetention);
        Assert.Empty(Validate(options));
    }

    [Theory]
    [InlineData("00:59:59")]
    [InlineData("3651.00:00:00")]
    public void A_run_retention_out_of_range_is_refused_naming_the_setting(string value)
    {
        var failure = Assert.Single(Validate(new IngestionRunOptions { RunRetention = TimeSpan.Parse(value, CultureInfo.InvariantCulture) }));
        Assert.Equal("Setting 'Ingestion:RunRetention' must be between 1 hour and 3650 days.", failure.ErrorMessage);
    }
}
