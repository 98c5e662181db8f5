"""Slow collaborators of the billing views (payment gateway, tax service, voucher partner
stubs), plus the membership changes that the fixed views' user-row lock serialises against."""
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .models import AuditEvent
from .permissions import BILLING_GROUP

TAX_RATE = Decimal("0.20")


def _gateway_round_trip():
    # Stands in for an HTTPS call to a provider; its latency is the race window.
    time.sleep(getattr(settings, "BILLING_GATEWAY_LATENCY", 2.0))


def gateway_status(reference):
    """Ask the gateway about the charge ``reference`` (an empty reference: never charged)."""
    _gateway_round_trip()
    if not reference:
        return {"state": "not_charged"}
    return {"state": "settled", "reference": reference}


def charge(amount, description):
    """Charge the customer's card on file and return the gateway's charge reference."""
    _gateway_round_trip()
    return f"ch_{uuid.uuid4().hex[:24]}"


def cancel_payment_link(invoice_id):
    """Tell the gateway that invoice ``invoice_id`` can no longer be paid by link."""
    _gateway_round_trip()


def with_tax(amount):
    """``amount`` plus tax, as quoted by the tax service."""
    _gateway_round_trip()
    return (amount * (1 + TAX_RATE)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def confirm_voucher(code):
    """Ask the issuing partner whether ``code`` is a genuine voucher (the stub says yes)."""
    _gateway_round_trip()
    return True


@transaction.atomic
def revoke_billing_membership(user_id, actor=None):
    """Remove a user from the billing group while holding that user's row lock.

    The fixed views lock the same auth_user row before checking membership, so a
    revocation waits for any in-flight billing request of that user, and a request that
    starts after it sees the user outside the group. The audit event commits with the
    removal, so its commit timestamp is the moment the revocation took effect.
    """
    user = get_user_model().objects.select_for_update().get(pk=user_id)
    user.groups.remove(Group.objects.get(name=BILLING_GROUP))
    AuditEvent.objects.create(actor=actor, action="billing.revoked", object_id=str(user.pk))


@transaction.atomic
def grant_billing_membership(user_id, actor=None):
    """Add a user to the billing group, under the same row lock as a revocation."""
    user = get_user_model().objects.select_for_update().get(pk=user_id)
    group, _ = Group.objects.get_or_create(name=BILLING_GROUP)
    user.groups.add(group)
    AuditEvent.objects.create(actor=actor, action="billing.granted", object_id=str(user.pk))
