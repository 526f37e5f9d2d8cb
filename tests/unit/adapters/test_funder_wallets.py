"""The funder a signer may trade for (signature types 1 and 2), against addresses of real Polygon wallets."""

from __future__ import annotations

import pytest

from polyhunter.adapters.polymarket.funder_wallets import funder_of, proxy_wallet_of, safe_of


def test_proxy_wallet_of_a_real_magic_signer() -> None:
    # a Polymarket proxy wallet and the Magic EOA that owns it (pairs published with public tooling)
    assert (
        proxy_wallet_of("0xffbbd14951a7b48cefa73bccbf071d6a3d14eaa2")
        == "0x730ae359e9441f836022f7ec14b941fdc942a0fe"
    )


def test_safe_of_a_real_signer() -> None:
    assert (
        safe_of("0xBBc264c10F54A61607A31B53358a5A87d4B045be") == "0xefae63145ffb73ab047e578324bca9baabe5e1ad"
    )


def test_funder_of_by_signature_type() -> None:
    signer = "0x" + "12" * 20
    assert funder_of(signer, 0) is None
    assert funder_of(signer, 3) is None
    assert funder_of(signer, 1) == proxy_wallet_of(signer) != funder_of(signer, 2) == safe_of(signer)
    assert funder_of("0x" + "13" * 20, 1) != funder_of(signer, 1)


@pytest.mark.parametrize("bad", ["0x1234", "0x" + "zz" * 20, ""])
def test_not_an_address(bad: str) -> None:
    with pytest.raises(ValueError, match="not an address|non-hexadecimal"):
        proxy_wallet_of(bad)
