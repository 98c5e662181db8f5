"""Every change to billing state lands in the audit log, whoever makes it: row triggers on
invoices, payments, vouchers, wallets, quotas and group memberships insert an AuditEvent in
the same transaction as the change, so it commits (and gets its commit timestamp) with it."""
from django.db import migrations, models

AUDITED_TABLES = [
    # (table, entity name in the action, column used as object_id)
    ("invoices_invoice", "invoice", "id"),
    ("invoices_payment", "payment", "invoice_id"),
    ("invoices_voucher", "voucher", "code"),
    ("invoices_wallet", "wallet", "owner_id"),
    ("invoices_invoicequota", "quota", "owner_id"),
    ("auth_user_groups", "membership", "user_id"),
]

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION billing_audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_new jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;
    row_old jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;
    changes jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(n.key, jsonb_build_array(o.value, n.value)) INTO changes
        FROM jsonb_each(row_new) AS n JOIN jsonb_each(row_old) AS o USING (key)
        WHERE n.value IS DISTINCT FROM o.value;
        IF changes IS NULL THEN
            RETURN NULL;  -- nothing changed, nothing to record
        END IF;
    ELSE
        changes := COALESCE(row_new, row_old);
    END IF;
    INSERT INTO invoices_auditevent (action, object_id, detail, created_at)
    VALUES (TG_ARGV[0] || '.' || lower(TG_OP), COALESCE(row_new, row_old) ->> TG_ARGV[1], changes, clock_timestamp());
    RETURN NULL;
END
$$;
"""


def create_triggers():
    return "\n".join(
        f"CREATE TRIGGER billing_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION billing_audit_row_change('{entity}', '{column}');"
        for table, entity, column in AUDITED_TABLES
    )


def drop_triggers():
    return "\n".join(f"DROP TRIGGER IF EXISTS billing_audit ON {table};" for table, _, _ in AUDITED_TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("invoices", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="detail",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunSQL(
            sql=CREATE_FUNCTION + create_triggers(),
            reverse_sql=drop_triggers() + "\nDROP FUNCTION IF EXISTS billing_audit_row_change();",
        ),
    ]
