"""`polyhunter account create NAME [--admin]` and `polyhunter account role NAME ROLE`: the operator's
way to make an account (the password is read from a prompt, or from POLYHUNTER_ACCOUNT_PASSWORD)
and to make one an admin. Accounts sign up through the API too; only this command makes admins."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Annotated

import typer

from polyhunter.commands.common import CONFIG_OPTION, SET_OPTION, settings_or_exit
from polyhunter.commands.config import _with_db
from polyhunter.service.auth import AuthService
from polyhunter.service.models import USERNAME
from polyhunter.settings import DbSettings
from polyhunter.store.database import unit_of_work
from polyhunter.store.migrate import upgrade
from polyhunter.store.repos.platform import AccountRepository
from polyhunter.store.sessions import SessionFactory

app = typer.Typer(help="Accounts of the API and the dashboard.", no_args_is_help=True)
PASSWORD_ENV = "POLYHUNTER_ACCOUNT_PASSWORD"  # noqa: S105 (a variable's name)


def _name(name: str) -> str:
    if not re.match(USERNAME, name):
        typer.echo("error: NAME: 3 to 32 letters, digits, '_', '.' or '-'", err=True)
        raise typer.Exit(2)
    return name.lower()


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The username.")],
    admin: Annotated[bool, typer.Option("--admin", help="An admin account.")] = False,
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Make an account (or set its role if it exists)."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    username = _name(name)
    password = os.environ.get(PASSWORD_ENV) or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    if not 8 <= len(password) <= 128:
        typer.echo("error: the password needs 8 to 128 characters", err=True)
        raise typer.Exit(2)
    _with_db_migrated(settings.db)

    async def work(sessions: SessionFactory) -> int:
        return await AuthService(sessions).ensure_account(username, password, "admin" if admin else "user")

    account_id = _with_db(settings.db, work)
    typer.echo(f"account {username} (id {account_id}, {'admin' if admin else 'user'})")


@app.command("role")
def role(
    name: Annotated[str, typer.Argument(help="The username.")],
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="user or admin")],
    settings_file: Path | None = CONFIG_OPTION,
    set_flags: list[str] | None = SET_OPTION,
) -> None:
    """Make an account an admin, or a user again."""
    settings = settings_or_exit(settings_file, set_flags=set_flags)
    username = _name(name)
    if new_role not in ("user", "admin"):
        typer.echo("error: ROLE: user or admin", err=True)
        raise typer.Exit(2)

    async def work(sessions: SessionFactory) -> bool:
        async with unit_of_work(sessions) as session:
            repo = AccountRepository(session)
            found = await repo.by_username(username)
            if found is None:
                return False
            await repo.set_role(found.id, new_role)
            await repo.audit(None, "account.role", f"account:{found.id}", {"role": new_role})
            return True

    if not _with_db(settings.db, work):
        typer.echo(f"error: no account {username}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{username}: {new_role}")


def _with_db_migrated(db: DbSettings) -> None:
    asyncio.run(upgrade(db))
