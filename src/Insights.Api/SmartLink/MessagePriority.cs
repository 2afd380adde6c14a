namespace Insights.SmartLink;

public enum MessagePriority : short
{
    Normal = 0,
    High = 1,
}
