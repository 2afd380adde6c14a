using Insights.Database;
using Insights.Tenancy;

namespace Insights.UnitTests.Tenancy;

public sealed class SchemaNameTests
{
    [Theory]
    [InlineData("acme")]
    [InlineData("A")]
    [InlineData("a-b_c-D-9")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Derived_names_are_valid_identifiers_of_at_most_63_bytes(string id)
    {
        var name = SchemaName.ForTenant(id);
        Assert.Matches("^t_[a-z0-9_]+$", name.Value);
        Assert.True(name.Value.Length <= 63);
        Assert.Equal("\"" + name.Value + "\"", name.Quoted);
        Assert.Equal(name, SchemaName.Parse(name.Value));
    }

    [Fact]
    public void Ids_that_differ_only_by_case_or_dash_get_different_names()
    {
        var names = new[] { "Acme-Corp", "acme-corp", "ACME-CORP", "acme_corp", "Acme_Corp" }
            .Select(id => SchemaName.ForTenant(id).Value)
            .ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void Long_ids_sharing_a_prefix_get_different_names()
    {
        var stem = new string('x', 60);
        Assert.NotEqual(SchemaName.ForTenant(stem + "aaaa").Value, SchemaName.ForTenant(stem + "aaab").Value);
    }

    [Fact]
    public void The_name_is_stable()
    {
        Assert.Equal(SchemaName.ForTenant("acme").Value, SchemaName.ForTenant("acme").Value);
        Assert.StartsWith("t_acme_", SchemaName.ForTenant("acme").Value, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("a\"b")]
    [InlineData("a;b")]
    [InlineData("ação")]
    [InlineData("../x")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Invalid_ids_never_become_names(string id)
    {
        Assert.False(TenantId.IsValid(id));
        Assert.Throws<ArgumentException>(() => SchemaName.ForTenant(id));
    }

    [Theory]
    [InlineData("public")]
    [InlineData("t_\"; drop")]
    [InlineData("T_upper")]
    [InlineData("t_")]
    public void Parse_rejects_anything_that_is_not_a_tenant_schema(string value) =>
        Assert.Throws<FormatException>(() => SchemaName.Parse(value));
}
