namespace Insights.BigQuery;

/// <summary>On-demand query cost: bytes billed times the price per TiB.</summary>
public static class BigQueryCost
{
    public const decimal BytesPerTiB = 1024m * 1024 * 1024 * 1024;

    /// <summary>
    /// Estimated USD cost of <paramref name="bytesBilled"/> at <paramref name="pricePerTiB"/>, rounded to 6 decimals.
    /// </summary>
    public static decimal Estimate(long bytesBilled, decimal pricePerTiB) =>
        bytesBilled <= 0 ? 0m : Math.Round(bytesBilled / BytesPerTiB * pricePerTiB, 6, MidpointRounding.AwayFromZero);

    public static decimal Estimate(this BigQueryOptions options, long bytesBilled) => Estimate(bytesBilled, options.PricePerTiB);
}
