using System.Text.Json;
using Insights.Http;

namespace Insights.UnitTests.Hosting;

public sealed class StrictJsonTests
{
    private sealed record Body(string? Id, JsonElement? Settings);

    [Theory]
    [InlineData("""{"settings":{"a":1,"a":2}}""", "'a'")]
    [InlineData("""{"settings":{"a":{"b":[1,{"c":1,"c":2}]}}}""", "'a.b[1].c'")]
    [InlineData("""{"settings":[[],{"x":1},{"y":1,"y":1}]}""", "'[2].y'")]
    [InlineData("""{"settings":{"k":[{"z":1}],"m":{"z":1,"z":1}}}""", "'m.z'")]
    public void Free_form_json_naming_a_property_twice_is_refused_saying_where(string json, string where)
    {
        var error = Assert.Throws<RejectedJsonException>(() => JsonSerializer.Deserialize<Body>(json, StrictJson.Options));
        Assert.Contains(where, error.Message, StringComparison.Ordinal);
        Assert.Equal("$.settings", error.Path);
    }

    [Theory]
    [InlineData("""{"settings":{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"A":1,"a":2}}}""")]
    [InlineData("""{"settings":[{"a":1},{"a":1}]}""")]
    [InlineData("""{"settings":{"a\u0062":1,"a":2}}""")]
    public void The_same_name_in_different_objects_or_of_another_case_is_no_duplicate(string json)
    {
        var body = JsonSerializer.Deserialize<Body>(json, StrictJson.Options)!;
        Assert.Equal(JsonDocument.Parse(json).RootElement.GetProperty("settings").GetRawText(), body.Settings!.Value.GetRawText());
    }

    [Fact]
    public void An_escaped_spelling_of_a_name_given_before_is_a_duplicate()
    {
        var error = Assert.Throws<RejectedJsonException>(() => JsonSerializer.Deserialize<Body>("""{"settings":{"ab":1,"a\u0062":2}}""", StrictJson.Options));
        Assert.Contains("'ab'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_typed_field_given_twice_is_refused()
    {
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Body>("""{"id":"a","id":"b"}""", StrictJson.Options));
        Assert.Equal("$.id", error.Path);
    }
}
