namespace Insights.ServiceDefaults;

public static class ApiGroups
{
    /// <summary>
    /// A group of the API under <paramref name="prefix"/>, tagged <paramref name="tag"/> in the document, with the
    /// problems every authenticated endpoint can give. Each endpoint of it declares its own policy.
    /// </summary>
    public static RouteGroupBuilder MapApiGroup(this IEndpointRouteBuilder routes, string prefix, string tag) =>
        routes.MapGroup(prefix).WithTags(tag).WithCommonProblems();

    /// <summary>Declares an endpoint: who may call it (a <see cref="Auth.Policies"/> name), its operation id and summary.</summary>
    public static RouteHandlerBuilder Operation(this RouteHandlerBuilder endpoint, string policy, string name, string summary) =>
        endpoint.RequireAuthorization(policy).WithName(name).WithSummary(summary);
}
