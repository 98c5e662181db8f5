"""Billing models: invoices and their payments, single-use vouchers, prepaid wallets,
per-user invoice quotas and an append-only audit log."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Now


class Invoice(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices"
    )
    description = models.CharField(max_length=200)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    gateway_ref = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "status"], name="invoice_owner_status_idx")]

    def __str__(self):
        return f"Invoice #{self.pk} ({self.status}, {self.amount})"


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    gateway_ref = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Payment of {self.amount} for invoice #{self.invoice_id}"


class Voucher(models.Model):
    code = models.CharField(max_length=32, unique=True)
    value = models.DecimalField(max_digits=12, decimal_places=2)
    used = models.BooleanField(default=False)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redeemed_vouchers",
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.code


class Wallet(models.Model):
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet"
    )
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [
            models.CheckConstraint(check=models.Q(balance__gte=0), name="wallet_balance_non_negative")
        ]

    def __str__(self):
        return f"Wallet of {self.owner} ({self.balance})"


class InvoiceQuota(models.Model):
    """How many open invoices a user may have at once; one row per user, which is also
    the row the fixed create endpoint locks to serialise concurrent creates."""

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invoice_quota"
    )
    max_open_invoices = models.PositiveIntegerField(default=5)

    def __str__(self):
        return f"{self.owner}: {self.max_open_invoices} open invoices"


class AuditEvent(models.Model):
    """One state change or sensitive action.

    The views record who did what (``invoice.charged``, ``invoice.viewed``,
    ``billing.revoked``); database triggers (migration 0002) add a row for every insert,
    update and delete of invoices, payments, vouchers, wallets, quotas and group
    memberships, whoever made it. Order events by the commit timestamp of the transaction
    that inserted them, ``pg_xact_commit_timestamp(xmin)`` (see demo_api.COMMITTED_AT):
    unlike ``created_at`` it says which change became visible after which.
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    action = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    # For trigger rows: the inserted or deleted row, or {column: [old, new]} for an update.
    detail = models.JSONField(null=True, blank=True)
    # Stamped by the database clock (CURRENT_TIMESTAMP in the INSERT), not the app server's,
    # so events from several web workers order consistently.
    created_at = models.DateTimeField(default=Now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.actor} {self.action} {self.object_id}"
