using Insights.Ingestion;

namespace Insights.UnitTests.Ingestion;

/// <summary>Where a fleet sweep starts reading, by updated_at or by arrival.</summary>
public sealed class SweepReadPlanTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 8, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Week = TimeSpan.FromDays(7);

    private static IngestionRunOptions Settings(SweepReadBy readBy) => new() { SweepReadBy = readBy };

    [Fact]
    public void By_updated_at_it_reads_from_the_watermark_less_the_look_back_as_before()
    {
        var plan = FleetSweepRunner.Plan(Settings(SweepReadBy.UpdatedAt), null, Now, Now.AddHours(-1), Now.AddDays(-30), audit: false);
        Assert.Equal(new FleetSweepRunner.ReadPlan(false, Now.AddHours(-1).AddMinutes(-30), null), plan);
        Assert.Equal(Now.AddDays(-2), FleetSweepRunner.Plan(Settings(SweepReadBy.UpdatedAt), null, Now, null, null, audit: true).Since);
    }

    [Fact]
    public void By_arrival_it_reads_from_the_arrival_watermark_less_the_look_back_or_the_updated_at_one_before_the_first()
    {
        var settings = Settings(SweepReadBy.Arrival);
        Assert.Equal(new FleetSweepRunner.ReadPlan(true, Now.AddHours(-2).AddMinutes(-30), null),
            FleetSweepRunner.Plan(settings, Week, Now, Now.AddDays(-20), Now.AddHours(-2), audit: false));
        Assert.Equal(Now.AddHours(-3).AddMinutes(-30), FleetSweepRunner.Plan(settings, Week, Now, Now.AddHours(-3), null, audit: false).Since);
        Assert.Equal(Now.AddMinutes(-30), FleetSweepRunner.Plan(settings, Week, Now, null, null, audit: false).Since);
        // A source that remembers every arrival has no window.
        Assert.True(FleetSweepRunner.Plan(settings, null, Now, null, Now.AddDays(-100), audit: false).ByArrival);
    }

    [Fact]
    public void A_look_back_reaching_past_the_window_is_cut_to_it_and_a_watermark_past_it_falls_back_with_a_note()
    {
        var settings = Settings(SweepReadBy.Arrival);
        var oldest = Now - Week + FleetSweepRunner.ArrivalWindowMargin;
        var cut = FleetSweepRunner.Plan(settings, Week, Now, null, oldest.AddMinutes(1), audit: true);
        Assert.Equal(new FleetSweepRunner.ReadPlan(true, oldest, null), cut);

        var fallback = FleetSweepRunner.Plan(settings, Week, Now, Now.AddDays(-8), Now.AddDays(-8), audit: false);
        Assert.False(fallback.ByArrival);
        Assert.Equal(Now.AddDays(-10), fallback.Since);
        Assert.Contains("older than the source's change history", fallback.Note, StringComparison.Ordinal);
    }
}
