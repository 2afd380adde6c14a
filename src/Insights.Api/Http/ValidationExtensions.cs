namespace Insights.Http;

internal static class ValidationExtensions
{
    /// <summary>Validates the body of type <typeparamref name="T"/> before the handler runs.</summary>
    public static RouteHandlerBuilder Validate<T>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesValidationProblem();
}
