"""Database guards (PostgreSQL) for issued invoices and credit notes, their lines and payments.

Once a document leaves draft, the database itself refuses any UPDATE of its number, dates,
parties, lines or amounts, and any DELETE before its retention date: a stray query, a bulk
update or a hand-typed SQL statement cannot alter a legal record. Only the settlement columns of
an invoice (status, paid and credited totals) move, and user references may be nulled when an
account is deleted. SQLite has no such guard: the models and services refuse there.
"""

from django.db import migrations

GUARDS = """
CREATE OR REPLACE FUNCTION invoices_guard_document() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV: the columns that may still change once the document is issued.
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft'
           AND (OLD.retention_until IS NULL OR OLD.retention_until >= CURRENT_DATE) THEN
            RAISE EXCEPTION '% % is issued and kept until %: it cannot be deleted',
                TG_TABLE_NAME, OLD.number, OLD.retention_until
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' THEN
        IF NEW.status = 'draft'
           OR (to_jsonb(NEW) - TG_ARGV) IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV) THEN
            RAISE EXCEPTION '% % is issued: it cannot be changed', TG_TABLE_NAME, OLD.number
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION invoices_guard_line() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- TG_ARGV: the document table and the line's column referencing it.
    parent_ids bigint[] := ARRAY[]::bigint[];
    blocked boolean;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        parent_ids := parent_ids || (to_jsonb(OLD) ->> TG_ARGV[1])::bigint;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        parent_ids := parent_ids || (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
    END IF;
    EXECUTE format(
        'SELECT true FROM %I WHERE id = ANY($1) AND status <> ''draft'' AND ($2 <> ''DELETE'' '
        'OR retention_until IS NULL OR retention_until >= CURRENT_DATE) LIMIT 1',
        TG_ARGV[0]
    ) INTO blocked USING parent_ids, TG_OP;
    IF blocked THEN
        RAISE EXCEPTION '%: lines of an issued document cannot be changed', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION invoices_guard_payment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kept boolean;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (to_jsonb(NEW) - 'recorded_by_id') IS DISTINCT FROM (to_jsonb(OLD) - 'recorded_by_id')
        THEN
            RAISE EXCEPTION 'payment % is recorded: it cannot be changed', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END IF;
    SELECT true INTO kept FROM invoices_invoice
        WHERE id = OLD.invoice_id
          AND (retention_until IS NULL OR retention_until >= CURRENT_DATE);
    IF kept THEN
        RAISE EXCEPTION 'payment % is kept with its invoice', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER invoices_invoice_guard
    BEFORE UPDATE OR DELETE ON invoices_invoice
    FOR EACH ROW EXECUTE FUNCTION invoices_guard_document(
        'status', 'paid_total', 'credited_total', 'updated_at', 'created_by_id', 'issued_by_id'
    );
CREATE TRIGGER invoices_creditnote_guard
    BEFORE UPDATE OR DELETE ON invoices_creditnote
    FOR EACH ROW EXECUTE FUNCTION invoices_guard_document(
        'updated_at', 'created_by_id', 'issued_by_id'
    );
CREATE TRIGGER invoices_invoiceline_guard
    BEFORE INSERT OR UPDATE OR DELETE ON invoices_invoiceline
    FOR EACH ROW EXECUTE FUNCTION invoices_guard_line('invoices_invoice', 'invoice_id');
CREATE TRIGGER invoices_creditnoteline_guard
    BEFORE INSERT OR UPDATE OR DELETE ON invoices_creditnoteline
    FOR EACH ROW EXECUTE FUNCTION invoices_guard_line('invoices_creditnote', 'credit_note_id');
CREATE TRIGGER invoices_payment_guard
    BEFORE UPDATE OR DELETE ON invoices_payment
    FOR EACH ROW EXECUTE FUNCTION invoices_guard_payment();
"""

DROP_GUARDS = """
DROP TRIGGER IF EXISTS invoices_payment_guard ON invoices_payment;
DROP TRIGGER IF EXISTS invoices_creditnoteline_guard ON invoices_creditnoteline;
DROP TRIGGER IF EXISTS invoices_invoiceline_guard ON invoices_invoiceline;
DROP TRIGGER IF EXISTS invoices_creditnote_guard ON invoices_creditnote;
DROP TRIGGER IF EXISTS invoices_invoice_guard ON invoices_invoice;
DROP FUNCTION IF EXISTS invoices_guard_payment();
DROP FUNCTION IF EXISTS invoices_guard_line();
DROP FUNCTION IF EXISTS invoices_guard_document();
"""


def create_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GUARDS, params=None)


class Migration(migrations.Migration):
    dependencies = [("invoices", "0002_fiscal_rates")]

    operations = [migrations.RunPython(create_guards, drop_guards)]
