from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import services
from .models import AuditEvent, Invoice, InvoiceQuota, Payment, Voucher, Wallet

User = get_user_model()


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "amount", "status", "created_at", "paid_at"]
    list_filter = ["status"]
    search_fields = ["owner__username", "description", "gateway_ref"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["id", "invoice", "amount", "gateway_ref", "created_at"]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["code", "value", "used", "redeemed_by", "redeemed_at"]
    list_filter = ["used"]


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["owner", "balance"]


@admin.register(InvoiceQuota)
class InvoiceQuotaAdmin(admin.ModelAdmin):
    list_display = ["owner", "max_open_invoices"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log is append-only: readable here, written only by the views."""

    list_display = ["created_at", "actor", "action", "object_id"]
    list_filter = ["action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.unregister(User)


@admin.register(User)
class BillingUserAdmin(UserAdmin):
    actions = ["revoke_billing"]

    @admin.action(description="Remove selected users from the billing group")
    def revoke_billing(self, request, queryset):
        # Through the service, so each removal takes the user-row lock the fixed views hold.
        for user in queryset:
            services.revoke_billing_membership(user.pk, actor=request.user)
        self.message_user(request, f"Removed {len(queryset)} user(s) from the billing group.")
