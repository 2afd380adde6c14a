using FluentValidation;

namespace Insights.Tenancy;

internal sealed class UpdateTenantRequestValidator : AbstractValidator<UpdateTenantRequest>
{
    public UpdateTenantRequestValidator()
    {
        RuleFor(r => r.Name).Must(n => n is null || n.Trim().Length is >= 1 and <= 200)
            .WithMessage("name must be 1–200 characters.");
        RuleFor(r => r.Status).Must(s => s is null or TenantStatus.Active or TenantStatus.Suspended)
            .WithMessage("status may only be set to 'active' (resume) or 'suspended' (suspend).");
        RuleFor(r => r.Settings).Must(TenantSettings.IsAcceptable).WithMessage(TenantSettings.Rule);
        RuleFor(r => r).Must(r => r.Name is not null || r.Status is not null || r.Settings is not null)
            .WithName("body").WithMessage("Name at least one of name, status, settings.");
    }
}
