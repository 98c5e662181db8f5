"""Routes of the billing API: each vulnerable endpoint next to its fixed twin."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

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
