"""The original system, played for tests: a PostgreSQL database built from the seed document's
DDL verbatim (enums, tables, functions, triggers, row-level security, policies, indexes) and
filled with realistic rows in every table, written with plain SQL as its app would."""

from __future__ import annotations

import json
import uuid

import psycopg

from tests import seed_document

# The seed's SQL blocks, in document order: exports, enums, tables, functions, triggers,
# row-level security, indexes, unique constraints, partitioning, backup query.
SCHEMA_BLOCKS = slice(1, 8)


def build(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        for block in seed_document._sql_blocks()[SCHEMA_BLOCKS]:
            connection.execute(block)


def fill(url: str) -> dict[str, int]:
    """Rows in every table; returns how many per table."""
    with psycopg.connect(url, autocommit=False) as connection:

        def insert(table: str, **values: object) -> str:
            names = ", ".join(values)
            marks = ", ".join(["%s"] * len(values))
            row = connection.execute(
                f"INSERT INTO public.{table} ({names}) VALUES ({marks}) RETURNING id",
                list(values.values()),
            ).fetchone()
            assert row is not None
            return str(row[0])

        sender = insert("sender_accounts", email="founder@original.example", display_name="Founder")
        insert(
            "email_templates",
            name="Intro",
            template_content="Write a short intro for {{name}} at {{company}}.",
        )
        audience = insert("contact_lists", name="Q1 leads", description="From the conference")
        batch = insert(
            "upload_batches",
            file_name="leads.csv",
            column_mapping=json.dumps({"email": "Email", "name": "Name"}),
            total_contacts=3,
            processed_contacts=3,
            status="completed",
        )
        people = []
        for n, (name, company) in enumerate(
            (("Ada Lovelace", "Analytical"), ("Alan Turing", "Bletchley"), ("Zoë Ümlaut", "Café"))
        ):
            raw = {
                "Email": f"person{n}@original.example",
                "Name": name,
                "Company": company,
                "Notes": "met at booth",
                "Score": n,
            }
            contact = insert(
                "contacts",
                upload_batch_id=batch,
                raw_data=json.dumps(raw),
                name=name,
                email=f"person{n}@original.example",
                company=company,
                enriched_data=json.dumps({"linkedin": f"/in/{n}"}),
            )
            insert("contact_list_members", contact_id=contact, list_id=audience)
            people.append(contact)
        campaign = insert(
            "campaigns",
            name="Spring outreach",
            description="Q1",
            status="active",
            list_id=audience,
            sender_account_id=sender,
        )
        connection.execute(
            "UPDATE public.campaign_settings SET send_days = ARRAY['monday','wednesday'], timezone = 'Europe/Berlin', daily_limit = 25 WHERE campaign_id = %s",
            [campaign],
        )
        insert(
            "campaign_sequences",
            campaign_id=campaign,
            sequence_order=1,
            name="Intro",
            subject_template="Hi {{name}}",
            body_template="Hello!",
            delay_days=0,
        )
        insert(
            "campaign_sequences",
            campaign_id=campaign,
            sequence_order=2,
            name="Bump",
            subject_template="Re: Hi",
            body_template="Any thoughts?",
            delay_days=3,
            delay_hours=4,
        )
        for position, contact in enumerate(people):
            insert(
                "campaign_contacts",
                campaign_id=campaign,
                contact_id=contact,
                status="in_progress" if position else "pending",
                current_sequence_step=1 if position else 0,
                last_email_sent_at="2026-01-05 10:00:00+00" if position else None,
            )
        drafts = [
            insert(
                "email_drafts",
                contact_id=contact,
                draft_type=kind,
                subject=f"Subject {kind}",
                body="Body",
                edited_subject="Edited" if kind == "first_outreach" else None,
                status="draft",
            )
            for contact in people
            for kind in ("first_outreach", "second_followup", "final_followup")
        ]
        connection.execute(
            "UPDATE public.email_drafts SET status = 'approved', approved_at = '2026-01-04 09:00:00+00' WHERE draft_type = 'first_outreach'"
        )
        sent = insert(
            "sent_emails",
            draft_id=drafts[3],
            contact_id=people[1],
            sender_account_id=sender,
            campaign_id=campaign,
            draft_type="first_outreach",
            subject="Hi Alan",
            body="Hello!",
            recipient_email="person1@original.example",
            sent_at="2026-01-05 10:00:00+00",
            message_id=f"<{uuid.uuid4().hex}@original.example>",
            sequence_step=1,
        )
        insert(
            "sent_emails",
            draft_id=drafts[7],
            contact_id=people[2],
            sender_account_id=sender,
            campaign_id=campaign,
            draft_type="second_followup",
            subject="Re: Hi",
            body="Any thoughts?",
            recipient_email="person2@original.example",
            sent_at="2026-01-08 14:00:00+00",
            message_id=f"<{uuid.uuid4().hex}@original.example>",
            sequence_step=2,
        )
        insert(
            "scheduled_emails",
            draft_id=drafts[0],
            contact_id=people[0],
            sender_account_id=sender,
            scheduled_for="2026-01-12 09:30:00+00",
        )
        insert(
            "email_replies",
            sent_email_id=sent,
            campaign_id=campaign,
            contact_id=people[1],
            message_id="<reply@person1>",
            received_at="2026-01-06 08:00:00+00",
            subject="Re: Hi Alan",
            snippet="Let's talk",
        )
        connection.commit()
        return {
            table: connection.execute(f"SELECT count(*) FROM public.{table}").fetchone()[0]  # type: ignore[index]
            for table in seed_document.export_order()
        }
