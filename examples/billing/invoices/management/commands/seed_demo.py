"""Seed the live demo: the billing group, an administrator, a billing staff member and a
customer (passwords from the environment), the customer's wallet and quota, a few invoices
and a voucher. Idempotent: running it again resets the passwords and tops the data up."""
import os
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from invoices.models import Invoice, InvoiceQuota, Voucher, Wallet
from invoices.permissions import BILLING_GROUP

USERS = [
    # username, password variable, is_staff, is_superuser, in billing
    ("admin", "BILLING_DEMO_ADMIN_PASSWORD", True, True, False),
    ("staff", "BILLING_DEMO_STAFF_PASSWORD", False, False, True),
    ("customer", "BILLING_DEMO_CUSTOMER_PASSWORD", False, False, False),
]


class Command(BaseCommand):
    help = "Create the demo users, groups, wallet, quota, invoices and voucher."

    def handle(self, *args, **options):
        User = get_user_model()
        billing, _ = Group.objects.get_or_create(name=BILLING_GROUP)
        users = {}
        for username, variable, is_staff, is_superuser, in_billing in USERS:
            password = os.environ.get(variable)
            if not password:
                raise CommandError(f"set {variable}")
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff, user.is_superuser, user.is_active = is_staff, is_superuser, True
            user.set_password(password)
            user.save()
            if in_billing:
                user.groups.add(billing)
            users[username] = user
        customer = users["customer"]
        Wallet.objects.get_or_create(owner=customer, defaults={"balance": Decimal("100.00")})
        InvoiceQuota.objects.get_or_create(owner=customer, defaults={"max_open_invoices": 2})
        if not Invoice.objects.filter(owner=customer).exists():
            for description, amount in [("Hosting, March", "49.00"), ("Support plan", "120.00")]:
                Invoice.objects.create(owner=customer, description=description, amount=Decimal(amount))
        Voucher.objects.get_or_create(code="WELCOME5", defaults={"value": Decimal("5.00")})
        self.stdout.write(f"seeded {', '.join(users)}; group {BILLING_GROUP}: {', '.join(u.username for u in billing.user_set.order_by('username'))}")
