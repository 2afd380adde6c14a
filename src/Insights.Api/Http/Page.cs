namespace Insights.Http;

/// <summary>One page of a list: the contract's <c>{ items, nextCursor }</c>.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
