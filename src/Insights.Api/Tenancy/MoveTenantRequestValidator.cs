using FluentValidation;

namespace Insights.Tenancy;

internal sealed class MoveTenantRequestValidator : AbstractValidator<MoveTenantRequest>
{
    public MoveTenantRequestValidator(TenantDatabases connections)
    {
        RuleFor(r => r.Store).NotEmpty().WithMessage("store is required.")
            .Must(s => s is null || (TenantStoreSettings.IsValidName(s) && connections.HasStore(s)))
            .WithMessage(r => $"store must be one of this service's tenant stores: {string.Join(", ", connections.StoreNames)} (GET /api/v1/stores).");
    }
}
