using Insights.SmartLink;

namespace Insights.UnitTests.SmartLink;

public sealed class QueueAckMarksTests
{
    private static readonly DateOnly Monday = new(2026, 11, 23);

    [Fact]
    public void A_tenant_needs_a_mark_once_per_day()
    {
        var marks = new QueueAckMarks(TimeProvider.System);
        Assert.True(marks.NeedsMark("acme", Monday));

        marks.Marked("acme", Monday);

        Assert.False(marks.NeedsMark("acme", Monday));
        Assert.True(marks.NeedsMark("contoso", Monday));
        Assert.True(marks.NeedsMark("acme", Monday.AddDays(1)));
    }

    [Fact]
    public void The_first_mark_of_a_new_day_forgets_the_day_before_and_a_late_mark_of_it_changes_nothing()
    {
        var marks = new QueueAckMarks(TimeProvider.System);
        marks.Marked("acme", Monday);
        marks.Marked("contoso", Monday);

        marks.Marked("acme", Monday.AddDays(1));
        marks.Marked("contoso", Monday);

        Assert.False(marks.NeedsMark("acme", Monday.AddDays(1)));
        Assert.True(marks.NeedsMark("contoso", Monday.AddDays(1)));
        Assert.True(marks.NeedsMark("acme", Monday));
    }
}
