namespace Insights.ServiceDefaults;

/// <summary>
/// A dependency this node reaches or not, as it last found out (read by the <c>insights.dependency.up</c> gauge).
/// </summary>
public interface IDependencyProbe
{
    /// <summary>The dependency's name in the gauge's <c>dependency</c> label.</summary>
    string Dependency { get; }

    bool IsUp { get; }
}
