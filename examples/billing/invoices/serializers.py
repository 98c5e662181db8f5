from rest_framework import serializers

from .models import Invoice


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["id", "owner", "description", "amount", "status", "created_at", "paid_at", "gateway_ref"]
        read_only_fields = fields


class InvoiceCreateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        fields = ["description", "amount"]


class WalletPaymentSerializer(serializers.Serializer):
    invoice = serializers.IntegerField(min_value=1)


class VoucherRedeemSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
