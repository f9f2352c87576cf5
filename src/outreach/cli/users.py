"""`outreach users ...` and `outreach tokens ...`: who can sign in, and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from outreach.access import queries as access_queries
from outreach.access import service as access
from outreach.access.models import Role
from outreach.cli.context import console, container_for
from outreach.db import transaction
from outreach.words import time_in_zone

app = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py
tokens = typer.Typer(no_args_is_help=True)  # its help: AREAS in cli/main.py

Email = Annotated[str, typer.Option(prompt=True, help="The address to sign in with.")]
Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="OUTREACH_NEW_PASSWORD",
        help="At least 10 characters (or set OUTREACH_NEW_PASSWORD).",
    ),
]


def _create(ctx: typer.Context, email: str, password: str, role: Role) -> None:
    with container_for(ctx) as container, transaction(container.sessions) as session:
        user = access.create_user(session, email, password, role)
    console.print(f"Created {user.role} {user.email}.")


@app.command("create-admin")
def create_admin(ctx: typer.Context, email: Email, password: Password) -> None:
    """Add an admin: someone who can also manage users and settings."""
    _create(ctx, email, password, Role.admin)


@app.command("create")
def create(
    ctx: typer.Context,
    email: Email,
    password: Password,
    role: Annotated[Role, typer.Option(help="admin or member.")] = Role.member,
) -> None:
    """Add a user."""
    _create(ctx, email, password, role)


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Everyone who can sign in."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        users = access_queries.all_users(session)
    table = Table("email", "role", "active", "last sign-in")
    for user in users:
        last = time_in_zone(user.last_sign_in_at) if user.last_sign_in_at else "never"
        table.add_row(user.email, user.role, "yes" if user.is_active else "no", last)
    console.print(table)


@tokens.command("create")
def create_token(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="The email of the user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
) -> None:
    """Issue an API token and print it once."""
    with container_for(ctx) as container, transaction(container.sessions) as session:
        owner = access_queries.user_by_email(session, user.strip().lower())
        if owner is None:
            console.print(f"[red]There is no user {user}.[/red]")
            raise typer.Exit(1)
        issued = access.issue_api_token(session, owner, name, container.clock.now())
    console.print(f"Token {issued.token.name!r} for {owner.email} (shown once):")
    console.print(issued.secret, highlight=False, soft_wrap=True)
