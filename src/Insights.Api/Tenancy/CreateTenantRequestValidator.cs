using FluentValidation;

namespace Insights.Tenancy;

internal sealed class CreateTenantRequestValidator : AbstractValidator<CreateTenantRequest>
{
    public CreateTenantRequestValidator(TenantDatabases connections)
    {
        RuleFor(r => r.Store).Must(s => s is null || (TenantStoreSettings.IsValidName(s) && connections.HasStore(s)))
            .WithMessage(r => $"store must be one of this service's tenant stores: {string.Join(", ", connections.StoreNames)} (GET /api/v1/stores).");
        RuleFor(r => r.Id).NotEmpty().WithMessage("id is required.")
            .Must(TenantId.IsValid).WithMessage($"id must be {TenantId.Rule}.");
        RuleFor(r => r.Name).NotEmpty().WithMessage("name is required.")
            .MaximumLength(200).WithMessage("name must be at most 200 characters.");
        RuleFor(r => r.Settings).Must(TenantSettings.IsAcceptable).WithMessage(TenantSettings.Rule);
    }
}
