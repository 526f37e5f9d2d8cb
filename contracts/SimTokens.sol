// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

/// @title The simulator's collateral and conditional-token contracts (chain mode)
/// @notice The smallest stand-ins for what a new Polymarket wallet touches on Polygon before it trades:
///         USDC.e (the bridged stable coin), pUSD (the V2 collateral) and its CollateralOnramp
///         (`wrap(asset, to, amount)`: USDC.e in, pUSD out, 1:1). The ConditionalTokens are the real
///         Gnosis contract (npm package), the exchange `SimCtfExchange.sol`. The simulator places their runtime code at the Polygon addresses
///         (anvil_setCode), so a wallet set up against anvil calls the same addresses with the same
///         selectors as on Polygon. All state is in storage; the addresses they need are immutables
///         (baked into the runtime code, so they survive the copy).
///         Not modelled: proxies and upgrades, pausing, permit.

/// @notice A 6-decimal ERC-20 with a faucet for the simulator's operator and, for pUSD, the onramp.
abstract contract SimErc20 {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error NotMinter();
    error InsufficientBalance();
    error InsufficientAllowance();

    address public immutable operator;
    address public immutable minter;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(address minter_) {
        operator = msg.sender;
        minter = minter_;
    }

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != operator && msg.sender != minter) revert NotMinter();
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    /// @dev An allowance of type(uint256).max is never decreased (as OpenZeppelin's ERC-20).
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientAllowance();
            allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        if (balanceOf[from] < amount) revert InsufficientBalance();
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

/// @notice USDC.e: minted only by the simulator's operator (`polyhunter sim fund --usdce`).
contract SimUsdce is SimErc20 {
    constructor() SimErc20(address(0)) {}

    function symbol() external pure returns (string memory) {
        return "USDC.e";
    }
}

/// @notice pUSD: minted by the onramp (wrap) and by the simulator's operator.
contract SimPusd is SimErc20 {
    constructor(address onramp) SimErc20(onramp) {}

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
