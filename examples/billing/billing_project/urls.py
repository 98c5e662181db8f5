"""Root URL configuration: the billing API under /api/, the admin under /admin/."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("invoices.urls")),
]
