"""Routes of the billing API: each vulnerable endpoint next to its fixed twin."""
from django.conf import settings
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import demo_api, views

router = SimpleRouter()
router.register("wallet", views.WalletViewSet, basename="wallet")

urlpatterns = [
    path("invoices/vulnerable/", views.create_invoice_vulnerable, name="invoice-create-vulnerable"),
    path("invoices/fixed/", views.create_invoice_fixed, name="invoice-create-fixed"),
    path("invoices/<int:pk>/vulnerable/", views.invoice_detail_vulnerable, name="invoice-detail-vulnerable"),
    path("invoices/<int:pk>/fixed/", views.invoice_detail_fixed, name="invoice-detail-fixed"),
    path("invoices/<int:pk>/charge/vulnerable/", views.PayInvoiceVulnerable.as_view(), name="invoice-charge-vulnerable"),
    path("invoices/<int:pk>/charge/fixed/", views.PayInvoiceFixed.as_view(), name="invoice-charge-fixed"),
    path("invoices/<int:pk>/void/vulnerable/", views.void_invoice_vulnerable, name="invoice-void-vulnerable"),
    path("invoices/<int:pk>/void/fixed/", views.void_invoice_fixed, name="invoice-void-fixed"),
] + router.urls

if settings.BILLING_DEMO_API:
    # Staff-only helpers for the live demo and its race probes (see demo_api.py).
    urlpatterns += [
        path("demo/setup/<slug:scenario>/", demo_api.setup_round, name="demo-setup"),
        path("demo/users/<str:username>/", demo_api.user_state, name="demo-user-state"),
        path("demo/users/<str:username>/revoke-billing/", demo_api.revoke_billing, name="demo-revoke-billing"),
        path("demo/invoices/<int:pk>/", demo_api.invoice_ledger, name="demo-invoice-ledger"),
        path("demo/audit/", demo_api.audit_log, name="demo-audit"),
        path("demo/audit/since-revocation/<str:username>/", demo_api.audit_since_revocation, name="demo-audit-since-revocation"),
    ]
