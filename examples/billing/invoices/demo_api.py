"""Staff-only endpoints that let a race prober drive the demo: per-round setup, the
administrator's revocation (the "mutation" of the seed scenario), and read-only views of
the ledger, a user's state and the commit-ordered audit log that a round is judged by.

Mounted under /api/demo/ only when settings.BILLING_DEMO_API is on (``npm run demo`` sets
it). Each handler follows the fixed views' pattern: the caller's auth_user row is locked
and ``is_staff`` re-read under the lock, inside the transaction that does the work.
"""
import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from . import services
from .models import AuditEvent, Invoice, InvoiceQuota, Voucher, Wallet
from .permissions import BILLING_GROUP

User = get_user_model()

CUSTOMER = "customer"
STAFF = "staff"
QUOTA = 2
VOUCHER_VALUE = Decimal("5.00")
WALLET_START = Decimal("100.00")

# The commit timestamp of the transaction that inserted each audit row (audit rows are
# never updated, so xmin is the inserting transaction). Needs track_commit_timestamp = on.
COMMITTED_AT = RawSQL('pg_xact_commit_timestamp("invoices_auditevent"."xmin")', [])
# What the row triggers of migration 0002 record for an invoice and its payments (a view's
# own audit lines, such as "invoice.charged", are not among them).
TRIGGER_ACTIONS = [f"{entity}.{op}" for entity in ("invoice", "payment") for op in ("insert", "update", "delete")]


def _fresh_invoice(customer):
    return Invoice.objects.create(owner=customer, description="demo round", amount=Decimal("10.00"))


def _setup_revocation(admin):
    # The staff member back in "billing" and a fresh open invoice to read or charge.
    staff = User.objects.get(username=STAFF)
    services.grant_billing_membership(staff.pk, actor=admin)
    return {"invoice": _fresh_invoice(User.objects.get(username=CUSTOMER)).pk, "user": STAFF}


def _setup_invoice(admin):
    # A fresh open invoice, a wallet that can pay it, and a staff member who may charge it.
    customer = User.objects.get(username=CUSTOMER)
    staff = User.objects.get(username=STAFF)
    if not staff.groups.filter(name=BILLING_GROUP).exists():
        services.grant_billing_membership(staff.pk, actor=admin)
    Wallet.objects.update_or_create(owner=customer, defaults={"balance": WALLET_START})
    return {"invoice": _fresh_invoice(customer).pk}


def _setup_quota(admin):
    # No open invoice left and a quota of QUOTA: exactly QUOTA creates may succeed.
    customer = User.objects.get(username=CUSTOMER)
    Invoice.objects.filter(owner=customer, status=Invoice.Status.OPEN).update(status=Invoice.Status.VOID)
    InvoiceQuota.objects.update_or_create(owner=customer, defaults={"max_open_invoices": QUOTA})
    return {"quota": QUOTA}


def _setup_voucher(admin):
    # An empty wallet and a new single-use voucher: one redemption may credit it.
    customer = User.objects.get(username=CUSTOMER)
    Wallet.objects.update_or_create(owner=customer, defaults={"balance": Decimal("0.00")})
    voucher = Voucher.objects.create(code=f"DEMO-{uuid.uuid4().hex[:12].upper()}", value=VOUCHER_VALUE)
    return {"code": voucher.code, "value": str(voucher.value)}


SETUPS = {
    "revocation": _setup_revocation,
    "invoice": _setup_invoice,
    "quota": _setup_quota,
    "voucher": _setup_voucher,
}


@api_view(["POST"])
def setup_round(request, scenario):
    if scenario not in SETUPS:
        return Response({"detail": f"Unknown scenario; known: {', '.join(sorted(SETUPS))}."}, status=status.HTTP_404_NOT_FOUND)
    with transaction.atomic():
        admin = User.objects.select_for_update().get(pk=request.user.pk)
        if not admin.is_staff:
            return Response(status=status.HTTP_403_FORBIDDEN)
        data = SETUPS[scenario](admin)
        AuditEvent.objects.create(actor=admin, action="demo.setup", object_id=scenario)
    return Response(data, status=status.HTTP_201_CREATED)


@api_view(["POST"])
def revoke_billing(request, username):
    """The administrator removes ``username`` from the billing group."""
    with transaction.atomic():
        admin = User.objects.select_for_update().get(pk=request.user.pk)
        if not admin.is_staff:
            return Response(status=status.HTTP_403_FORBIDDEN)
        target = get_object_or_404(User, username=username)
        services.revoke_billing_membership(target.pk, actor=admin)
    return Response({"revoked": username})


@api_view(["GET"])
def invoice_ledger(request, pk):
    """An invoice with its payments; consistent: paid exactly once, or unpaid and not paid."""
    with transaction.atomic():
        admin = User.objects.select_for_update().get(pk=request.user.pk)
        if not admin.is_staff:
            return Response(status=status.HTTP_403_FORBIDDEN)
        invoice = get_object_or_404(Invoice, pk=pk)
        payments = invoice.payments.aggregate(count=Count("id"), total=Sum("amount"))
        consistent = payments["count"] == (1 if invoice.status == Invoice.Status.PAID else 0)
        return Response({
            "id": invoice.pk,
            "status": invoice.status,
            "payments": payments["count"],
            "paid_total": str(payments["total"] or Decimal("0.00")),
            "consistent": consistent,
        })


@api_view(["GET"])
def user_state(request, username):
    with transaction.atomic():
        admin = User.objects.select_for_update().get(pk=request.user.pk)
        if not admin.is_staff:
            return Response(status=status.HTTP_403_FORBIDDEN)
        user = get_object_or_404(User, username=username)
        wallet = Wallet.objects.filter(owner=user).first()
        quota = InvoiceQuota.objects.filter(owner=user).first()
        return Response({
            "username": user.username,
            "billing_member": user.groups.filter(name=BILLING_GROUP).exists(),
            "wallet": str(wallet.balance) if wallet else None,
            "open_invoices": Invoice.objects.filter(owner=user, status=Invoice.Status.OPEN).count(),
            "max_open_invoices": quota.max_open_invoices if quota else None,
        })


def _event(event):
    return {
        "committed_at": event.committed_at.isoformat() if event.committed_at else None,
        "actor": event.actor.username if event.actor else None,
        "action": event.action,
        "object_id": event.object_id,
        "detail": event.detail,
    }


@api_view(["GET"])
def audit_log(request):
    """The latest audit events (?limit=, at most 500), in commit order."""
    limit = min(int(request.query_params.get("limit", "100")), 500)
    with transaction.atomic():
        admin = User.objects.select_for_update().get(pk=request.user.pk)
        if not admin.is_staff:
            return Response(status=status.HTTP_403_FORBIDDEN)
        events = AuditEvent.objects.select_related("actor").annotate(committed_at=COMMITTED_AT)
        latest = list(events.order_by("-committed_at", "-id")[:limit])
        return Response({"events": [_event(e) for e in reversed(latest)]})


@api_view(["GET"])
def audit_since_revocation(request, username):
    """What ``username`` did after their latest billing revocation committed (by commit time).

    With ``?invoice=ID``: the changes to that invoice and its payments that committed after
    the revocation, as the row triggers recorded them, whoever made them. A charge's own
    effect, rather than the audit line a view writes about it once it has committed.
    """
    with transaction.atomic():
        admin = User.objects.select_for_update().get(pk=request.user.pk)
        if not admin.is_staff:
            return Response(status=status.HTTP_403_FORBIDDEN)
        user = get_object_or_404(User, username=username)
        events = AuditEvent.objects.select_related("actor").annotate(committed_at=COMMITTED_AT)
        revocation = events.filter(action="billing.revoked", object_id=str(user.pk)).order_by("-committed_at", "-id").first()
        if revocation is None:
            return Response({"detail": "No revocation recorded for this user."}, status=status.HTTP_404_NOT_FOUND)
        invoice = request.query_params.get("invoice")
        if invoice is None:
            done = events.filter(actor=user)
        else:
            done = events.filter(object_id=invoice, action__in=TRIGGER_ACTIONS)
        after = list(done.filter(committed_at__gt=revocation.committed_at).order_by("committed_at", "id"))
        return Response({
            "revoked_at": revocation.committed_at.isoformat(),
            "count": len(after),
            "events": [_event(e) for e in after],
        })
