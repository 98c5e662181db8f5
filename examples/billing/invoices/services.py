"""Slow collaborators of the billing views: a payment-gateway stub, plus the membership
revocation path that the fixed views' user-row lock serialises against."""
import time
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from .permissions import BILLING_GROUP


def _gateway_round_trip():
    # Stands in for an HTTPS call to the payment provider; its latency is the race window.
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


@transaction.atomic
def revoke_billing_membership(user_id):
    """Remove a user from the billing group while holding that user's row lock.

    The fixed views lock the same auth_user row before checking membership, so a
    revocation waits for any in-flight billing request of that user, and a request that
    starts after it sees the user outside the group.
    """
    user = get_user_model().objects.select_for_update().get(pk=user_id)
    user.groups.remove(Group.objects.get(name=BILLING_GROUP))
