namespace Insights.Http;

public static class PageRows
{
    /// <summary>Lists read one row more than the page holds; drops it and says whether there was one.</summary>
    public static bool TrimExtra<T>(List<T> items, int limit)
    {
        if (items.Count <= limit)
        {
            return false;
        }

        items.RemoveRange(limit, items.Count - limit);
        return true;
    }
}
