using Insights.ServiceDefaults;

namespace Insights.UnitTests.Hosting;

public sealed class RoleOptionsTests
{
    [Fact]
    public void Blank_means_every_role()
    {
        var roles = RoleOptions.Parse(null);
        Assert.True(roles.Api && roles.Worker && roles.Scheduler);
    }

    [Fact]
    public void A_list_selects_roles_in_any_case_and_spacing()
    {
        var roles = RoleOptions.Parse(" API , worker");
        Assert.True(roles.Api);
        Assert.True(roles.Worker);
        Assert.False(roles.Scheduler);
        Assert.Equal("api,worker", roles.ToString());
    }

    [Fact]
    public void An_unknown_role_names_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => RoleOptions.Parse("api,cook"));
        Assert.Contains("'Roles'", error.Message, StringComparison.Ordinal);
        Assert.Contains("cook", error.Message, StringComparison.Ordinal);
    }
}
