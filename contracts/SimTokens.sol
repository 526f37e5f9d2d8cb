// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

import {Erc20} from "./Erc20.sol";

/// @title The simulator's collateral and conditional-token contracts (chain mode)
/// @notice The smallest stand-ins for what a new Polymarket wallet touches on Polygon before it trades:
///         USDC.e (the bridged stable coin), pUSD (the V2 collateral) and its CollateralOnramp
///         (`wrap(asset, to, amount)`: USDC.e in, pUSD out, 1:1). The ConditionalTokens are the real
///         Gnosis contract (npm package), the exchange `SimCtfExchange.sol`. The simulator places their runtime code at the Polygon addresses
///         (anvil_setCode), so a wallet set up against anvil calls the same addresses with the same
///         selectors as on Polygon. All state is in storage; the addresses they need are immutables
///         (baked into the runtime code, so they survive the copy).
///         Not modelled: proxies and upgrades, pausing, permit.

/// @notice USDC.e: minted only by the simulator's operator (`polyhunter sim fund --usdce`).
contract SimUsdce is Erc20 {
    constructor() Erc20(address(0)) {}

    function symbol() external pure returns (string memory) {
        return "USDC.e";
    }
}

/// @notice pUSD: minted by the onramp (wrap) and by the simulator's operator.
contract SimPusd is Erc20 {
    constructor(address onramp) Erc20(onramp) {}

    function symbol() external pure returns (string memory) {
        return "pUSD";
    }
}

interface IMintable {
    function mint(address to, uint256 amount) external;
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @notice CollateralOnramp: `wrap(asset, to, amount)` takes `amount` of USDC.e from the caller (who
///         approved this contract) and mints as much pUSD to `to`.
contract SimCollateralOnramp {
    error UnsupportedAsset();
    error TransferFailed();

    address public immutable usdce;
    address public immutable pusd;

    constructor(address usdce_, address pusd_) {
        usdce = usdce_;
        pusd = pusd_;
    }

    function wrap(address asset, address to, uint256 amount) external {
        if (asset != usdce) revert UnsupportedAsset();
        if (!IMintable(usdce).transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
        IMintable(pusd).mint(to, amount);
    }
}
