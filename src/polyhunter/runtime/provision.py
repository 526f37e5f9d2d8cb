"""Put a run file's followers into the database: users, wallets (keys encrypted), versioned configs.

Idempotent: running the same file again changes nothing; a changed copy spec adds a config version.
Processes started together (a cluster's workers) provision one after another (a lock in the database).
The run file is the whole truth about who copies whom: a follower removed from it, or a copy removed
from a follower, has its config deactivated (it stops copying; its history stays).
Which wallet a follower gets is its custody type's (see `polyhunter.execution.registry`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from polyhunter.execution.registry import CUSTODY, CustodyRegistry
from polyhunter.log import get_logger
from polyhunter.runtime.run_file import FollowerSpec, RunFile
from polyhunter.secretbox import SecretBox
from polyhunter.store.database import unit_of_work
from polyhunter.store.locks import exclusive
from polyhunter.store.repos.accounts import UserRepository
from polyhunter.store.repos.copy_configs import CopyConfigRepository
from polyhunter.store.repos.wallets import WalletRepository, WalletSecrets
from polyhunter.store.sessions import SessionFactory

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Provisioned:
    spec: FollowerSpec
    user_id: int
    wallet: WalletSecrets
    config_ids: tuple[int, ...]


async def _wallet(
    repo: WalletRepository,
    known: dict[str, WalletSecrets],
    spec: FollowerSpec,
    user_id: int,
    custody: CustodyRegistry,
) -> WalletSecrets:
    new = custody.get(spec.custody).wallet(spec)
    existing = known.get(new.address.lower())
    if existing is None:
        await repo.create(
            new.address,
            new.kind,
            user_id=user_id,
            private_key=new.private_key,
            signature_type=spec.signature_type,
            funder_address=spec.funder,
        )
        existing = await repo.load(new.address)
    assert existing is not None
    if existing.user_id != user_id:
        raise ValueError(f"wallet {new.address} belongs to another user")
    funder = None if spec.funder is None else spec.funder.lower()
    current = None if existing.funder_address is None else existing.funder_address.lower()
    if existing.signature_type != spec.signature_type or current != funder:
        # the run file changed how the wallet signs: an own wallet's signature type or funder, a proxy
        # switched between PROXY (fleet float) and DIRECT (it makes its own orders)
        await repo.set_signing(new.address, spec.signature_type, spec.funder)
        existing = await repo.load(new.address)
        assert existing is not None
    return existing


async def provision(
    sessions: SessionFactory,
    box: SecretBox,
    run: RunFile,
    *,
    custody: CustodyRegistry = CUSTODY,
) -> list[Provisioned]:
    out = []
    async with unit_of_work(sessions) as session:
        await exclusive(session, "provision")  # workers started together provision one after another
        # what exists already, read in a few queries (a worker of a 1,000-follower run file made
        # ~6 queries per follower: over a minute at start-up on a loaded machine)
        users_repo, wallets, configs = (
            UserRepository(session),
            WalletRepository(session, box),
            CopyConfigRepository(session),
        )
        user_ids = await users_repo.ids_by_usernames([spec.name for spec in run.followers])
        known_wallets = await wallets.load_many(
            [custody.get(spec.custody).wallet(spec).address for spec in run.followers]
        )
        stored_configs = await configs.current_of_users(sorted(set(user_ids.values())))
        for spec in run.followers:
            user_id = user_ids.get(spec.name)
            existed = user_id is not None
            if user_id is None:
                user_id = await users_repo.create(spec.name)
            wallet = await _wallet(wallets, known_wallets, spec, user_id, custody)
            ids = []
            for copy in spec.copies:
                wanted = copy.to_domain(user_id, spec.custody)
                current = stored_configs.get((user_id, copy.leader))
                if current is None and existed:
                    config_id = await configs.id_for(user_id, copy.leader)
                    if config_id is not None:  # its stored version did not read as a config: replace it
                        current = await configs.update(config_id, wanted, wallet_id=wallet.id)
                if current is None:
                    stored = await configs.create(wanted, wallet_id=wallet.id)
                else:
                    same = dataclasses.replace(wanted, id=current.config.id, version=current.config.version)
                    stored = (
                        current
                        if same == current.config and current.wallet_id == wallet.id
                        else await configs.update(current.config.id, wanted, wallet_id=wallet.id)
                    )
                    if not current.active:
                        await configs.set_active(current.config.id, True)
                ids.append(stored.config.id)
            out.append(Provisioned(spec, user_id, wallet, tuple(ids)))
        kept = {i for p in out for i in p.config_ids}
        gone = await configs.deactivate_all_but(kept)
        if gone:
            log.warning("configs not in the run file deactivated", config_ids=gone)
    return out
