"""Billing API, every endpoint in two versions.

A ``*_vulnerable`` handler (or a handler in a ``*Vulnerable*`` class) acts on a check that
may already be stale when the write or response happens; a trailing "stalecheck: expect"
comment names the rule that must report that line (EXPECTED.json lists them all), and
"stalecheck: also guarded" marks the other uses that finding lists. The ``*_fixed`` twin
next to it closes the window and must scan clean. README.md walks through each pair.
"""
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import AuditEvent, Invoice, InvoiceQuota, Payment, Voucher, Wallet
from .permissions import BILLING_GROUP, is_in_group
from .serializers import (
    InvoiceCreateSerializer,
    InvoiceSerializer,
    VoucherRedeemSerializer,
    WalletPaymentSerializer,
)

User = get_user_model()


def user_is_billing_member(user):
    """Membership check visible in this module (one query on auth_user_groups)."""
    return user.groups.filter(name=BILLING_GROUP).exists()


# 1. Billing staff read any invoice together with its live gateway status.
#    The membership check is one query; the gateway call that follows takes seconds,
#    and a user removed from "billing" meanwhile still receives the invoice.


@api_view(["GET"])
def invoice_detail_vulnerable(request, pk):
    if not is_in_group(request.user, BILLING_GROUP):
        return Response(status=status.HTTP_403_FORBIDDEN)
    invoice = get_object_or_404(Invoice, pk=pk)
    gateway = services.gateway_status(invoice.gateway_ref)
    AuditEvent.objects.create(actor=request.user, action="invoice.viewed", object_id=pk)
    return Response({"invoice": InvoiceSerializer(invoice).data, "gateway": gateway})  # stalecheck: expect STC101


@api_view(["GET"])
def invoice_detail_fixed(request, pk):
    with transaction.atomic():
        # Revocations lock this row too (services.revoke_billing_membership, the admin's
        # user form), so membership cannot change until this transaction ends.
        user = User.objects.select_for_update().get(pk=request.user.pk)
        if not is_in_group(user, BILLING_GROUP):
            return Response(status=status.HTTP_403_FORBIDDEN)
        invoice = get_object_or_404(Invoice, pk=pk)
        gateway = services.gateway_status(invoice.gateway_ref)
        AuditEvent.objects.create(actor=user, action="invoice.viewed", object_id=pk)
        return Response({"invoice": InvoiceSerializer(invoice).data, "gateway": gateway})


# 2. Billing staff charge an open invoice to the customer's card. Two checks go stale
#    during the charge: the caller's membership, and the invoice's "open" status (two
#    concurrent requests both see "open" and both charge and record a payment).


class PayInvoiceVulnerable(APIView):
    def post(self, request, pk):
        if not user_is_billing_member(request.user):
            return Response(status=status.HTTP_403_FORBIDDEN)
        invoice = get_object_or_404(Invoice, pk=pk)
        if invoice.status != Invoice.Status.OPEN:
            return Response({"detail": "Invoice is not open."}, status=status.HTTP_409_CONFLICT)
        reference = services.charge(invoice.amount, invoice.description)
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = timezone.now()
        invoice.gateway_ref = reference
        invoice.save(update_fields=["status", "paid_at", "gateway_ref"])  # stalecheck: expect STC101, STC102
        Payment.objects.create(invoice=invoice, amount=invoice.amount, gateway_ref=reference)  # stalecheck: also guarded (STC101, STC102)
        AuditEvent.objects.create(actor=request.user, action="invoice.charged", object_id=pk)
        return Response(InvoiceSerializer(invoice).data)


class PayInvoiceFixed(APIView):
    def post(self, request, pk):
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=request.user.pk)
            if not user_is_billing_member(user):
                return Response(status=status.HTTP_403_FORBIDDEN)
            invoice = get_object_or_404(Invoice.objects.select_for_update(), pk=pk)
            if invoice.status != Invoice.Status.OPEN:
                return Response({"detail": "Invoice is not open."}, status=status.HTTP_409_CONFLICT)
            reference = services.charge(invoice.amount, invoice.description)
            invoice.status = Invoice.Status.PAID
            invoice.paid_at = timezone.now()
            invoice.gateway_ref = reference
            invoice.save(update_fields=["status", "paid_at", "gateway_ref"])
            Payment.objects.create(invoice=invoice, amount=invoice.amount, gateway_ref=reference)
            AuditEvent.objects.create(actor=request.user, action="invoice.charged", object_id=pk)
            return Response(InvoiceSerializer(invoice).data)


# 3. A user opens a new invoice, at most InvoiceQuota.max_open_invoices at a time, priced
#    with tax from the (slow) tax service. Concurrent requests all count the same total,
#    all wait for their quote, and all create.


@api_view(["POST"])
def create_invoice_vulnerable(request):
    serializer = InvoiceCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    quota = get_object_or_404(InvoiceQuota, owner=request.user)
    if Invoice.objects.filter(owner=request.user, status=Invoice.Status.OPEN).count() >= quota.max_open_invoices:
        return Response({"detail": "Open invoice quota reached."}, status=status.HTTP_429_TOO_MANY_REQUESTS)
    amount = services.with_tax(serializer.validated_data["amount"])
    invoice = Invoice.objects.create(owner=request.user, description=serializer.validated_data["description"], amount=amount)  # stalecheck: expect STC108
    return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


@api_view(["POST"])
def create_invoice_fixed(request):
    serializer = InvoiceCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    # The slow quote first, outside the transaction: no lock is held across a network call.
    amount = services.with_tax(serializer.validated_data["amount"])
    with transaction.atomic():
        # One quota row per user: locking it queues this user's concurrent creates.
        quota = get_object_or_404(InvoiceQuota.objects.select_for_update(), owner=request.user)
        if Invoice.objects.filter(owner=request.user, status=Invoice.Status.OPEN).count() >= quota.max_open_invoices:
            return Response({"detail": "Open invoice quota reached."}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        invoice = Invoice.objects.create(owner=request.user, description=serializer.validated_data["description"], amount=amount)
    return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)


# 4. A user voids one of their own open invoices, cancelling its payment link at the
#    gateway. The vulnerable twin does take a row lock, but in an atomic block that ends
#    right after the fetch (the usual way to silence TransactionManagementError): the lock
#    is gone before the status check, and a wallet payment that lands during the gateway
#    call is overwritten, leaving a void invoice with a payment.


@api_view(["POST"])
def void_invoice_vulnerable(request, pk):
    with transaction.atomic():
        invoice = get_object_or_404(Invoice.objects.select_for_update(), pk=pk, owner=request.user)
    if invoice.status != Invoice.Status.OPEN:
        return Response({"detail": "Only open invoices can be voided."}, status=status.HTTP_409_CONFLICT)
    services.cancel_payment_link(invoice.pk)
    invoice.status = Invoice.Status.VOID
    invoice.save(update_fields=["status"])  # stalecheck: expect STC105
    return Response(InvoiceSerializer(invoice).data)


@api_view(["POST"])
@transaction.atomic
def void_invoice_fixed(request, pk):
    invoice = get_object_or_404(Invoice.objects.select_for_update(), pk=pk, owner=request.user)
    if invoice.status != Invoice.Status.OPEN:
        return Response({"detail": "Only open invoices can be voided."}, status=status.HTTP_409_CONFLICT)
    services.cancel_payment_link(invoice.pk)
    invoice.status = Invoice.Status.VOID
    invoice.save(update_fields=["status"])
    return Response(InvoiceSerializer(invoice).data)


class WalletViewSet(viewsets.ViewSet):
    # 5. A user pays their own open invoice from their wallet. The vulnerable twin locks
    #    the wallet but not the invoice, whose status it checks and writes: a concurrent
    #    void or card charge (which lock the invoice row, not the wallet) goes unnoticed,
    #    and a voided or already charged invoice is paid a second time.

    @action(detail=False, methods=["post"], url_path="pay/vulnerable")
    def pay_invoice_vulnerable(self, request):
        serializer = WalletPaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            wallet = get_object_or_404(Wallet.objects.select_for_update(), owner=request.user)
            invoice = get_object_or_404(Invoice, pk=serializer.validated_data["invoice"], owner=request.user)
            if invoice.status != Invoice.Status.OPEN:
                return Response({"detail": "Invoice is not open."}, status=status.HTTP_409_CONFLICT)
            amount = invoice.amount
            if wallet.balance < amount:
                return Response({"detail": "Insufficient balance."}, status=status.HTTP_402_PAYMENT_REQUIRED)
            wallet.balance -= amount
            wallet.save(update_fields=["balance"])
            invoice.status = Invoice.Status.PAID
            invoice.paid_at = timezone.now()
            invoice.save(update_fields=["status", "paid_at"])  # stalecheck: expect STC105
            Payment.objects.create(invoice=invoice, amount=amount, gateway_ref="wallet")  # stalecheck: also guarded (STC105)
        return Response(InvoiceSerializer(invoice).data)

    @action(detail=False, methods=["post"], url_path="pay/fixed")
    def pay_invoice_fixed(self, request):
        serializer = WalletPaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            # Invoice first, then wallet: the order every fixed endpoint uses, so no deadlock.
            invoice = get_object_or_404(Invoice.objects.select_for_update(), pk=serializer.validated_data["invoice"], owner=request.user)
            wallet = get_object_or_404(Wallet.objects.select_for_update(), owner=request.user)
            if invoice.status != Invoice.Status.OPEN:
                return Response({"detail": "Invoice is not open."}, status=status.HTTP_409_CONFLICT)
            amount = invoice.amount
            if wallet.balance < amount:
                return Response({"detail": "Insufficient balance."}, status=status.HTTP_402_PAYMENT_REQUIRED)
            wallet.balance -= amount
            wallet.save(update_fields=["balance"])
            invoice.status = Invoice.Status.PAID
            invoice.paid_at = timezone.now()
            invoice.save(update_fields=["status", "paid_at"])
            Payment.objects.create(invoice=invoice, amount=amount, gateway_ref="wallet")
        return Response(InvoiceSerializer(invoice).data)

    # 6. A user redeems a single-use voucher into their wallet, after the issuing partner
    #    confirms the code (slow). Concurrent requests with the same code all read
    #    used=False, all wait for the partner, and every one of them credits the wallet.

    @action(detail=False, methods=["post"], url_path="redeem/vulnerable")
    def redeem_voucher_vulnerable(self, request):
        serializer = VoucherRedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        voucher = get_object_or_404(Voucher, code=serializer.validated_data["code"])
        if voucher.used:
            return Response({"detail": "Voucher already used."}, status=status.HTTP_409_CONFLICT)
        services.confirm_voucher(voucher.code)
        credit = voucher.value
        voucher.used = True
        voucher.redeemed_by = request.user
        voucher.redeemed_at = timezone.now()
        voucher.save(update_fields=["used", "redeemed_by", "redeemed_at"])  # stalecheck: expect STC102
        # The credit is computed from the voucher that was checked: the wallet is credited once per racing request.
        Wallet.objects.filter(owner=request.user).update(balance=F("balance") + credit)  # stalecheck: also guarded (STC102)
        return Response({"credited": str(credit)})

    @action(detail=False, methods=["post"], url_path="redeem/fixed")
    def redeem_voucher_fixed(self, request):
        serializer = VoucherRedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = serializer.validated_data["code"]
        # The partner call first: it holds no lock, and the claim below decides alone.
        services.confirm_voucher(code)
        with transaction.atomic():
            # Compare-and-set: exactly one request turns used from False to True.
            claimed = Voucher.objects.filter(code=code, used=False).update(used=True, redeemed_by=request.user, redeemed_at=timezone.now())
            if not claimed:
                return Response({"detail": "Unknown or already used voucher."}, status=status.HTTP_409_CONFLICT)
            credit = Voucher.objects.get(code=code).value
            if not Wallet.objects.filter(owner=request.user).update(balance=F("balance") + credit):
                raise NotFound("You have no wallet.")  # rolls the claim back
        return Response({"credited": str(credit)})
