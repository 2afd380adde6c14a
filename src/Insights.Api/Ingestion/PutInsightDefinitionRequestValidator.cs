using FluentValidation;

namespace Insights.Ingestion;

internal sealed class PutInsightDefinitionRequestValidator : AbstractValidator<PutInsightDefinitionRequest>
{
    public PutInsightDefinitionRequestValidator()
    {
        RuleFor(r => r.Module).NotEmpty().WithMessage("module is required (the Protheus module, e.g. SIGAFIN).")
            .MaximumLength(50).WithMessage("module must be at most 50 characters.");
        RuleFor(r => r.Priority).Must(p => p is null or "normal" or "high").WithMessage("priority must be normal or high.");
        RuleFor(r => r.Source).Must(s => s is null or "store" or "live").WithMessage("source must be store or live.");
        RuleFor(r => r.Description).MaximumLength(1000).WithMessage("description must be at most 1000 characters.");
    }
}
