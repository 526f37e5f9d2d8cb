// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

/// @title The one ERC-20 of the stand-in tokens
/// @notice A 6-decimal ERC-20 minted by the account that deployed it (`operator`) and by `minter`:
///         the simulator's USDC.e and pUSD (SimTokens.sol; pUSD's minter is the onramp) and the custody
///         tests' collateral (TestTokens.sol). All state is in storage and the two accounts are
///         immutables, so the runtime code can be copied to another address (anvil_setCode).
///         An allowance of type(uint256).max is never decreased (as OpenZeppelin's ERC-20).
abstract contract Erc20 {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

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
        require(msg.sender == operator || msg.sender == minter, "ERC20: not minter");
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

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "ERC20: insufficient allowance");
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        require(to != address(0), "ERC20: zero recipient");
        require(balanceOf[from] >= amount, "ERC20: insufficient balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}
