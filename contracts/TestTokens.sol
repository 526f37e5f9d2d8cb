// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

import {Erc20} from "./Erc20.sol";

/// Test stand-ins on anvil: TestCollateral (an ERC-20 with 6 decimals standing in for pUSD) and
/// TestOutcomes (a minimal ERC-1155 with the ConditionalTokens transfer surface the custody contracts use).

interface IERC1155ReceiverMin {
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external
        returns (bytes4);
}

/// @notice The collateral: minted only by the account that deployed it.
contract TestCollateral is Erc20 {
    string public constant name = "Test pUSD";
    string public constant symbol = "pUSD";

    constructor() Erc20(msg.sender) {}
}

contract TestOutcomes {
    address public immutable minter;
    mapping(uint256 => mapping(address => uint256)) internal balances;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    constructor() {
        minter = msg.sender;
    }

    function balanceOf(address who, uint256 id) external view returns (uint256) {
        return balances[id][who];
    }

    function mint(address to, uint256 id, uint256 amount) external {
        require(msg.sender == minter, "ERC1155: not minter");
        balances[id][to] += amount;
        emit TransferSingle(msg.sender, address(0), to, id, amount);
    }

    function setApprovalForAll(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 amount, bytes calldata data) external {
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "ERC1155: not approved");
        require(to != address(0), "ERC1155: zero recipient");
        require(balances[id][from] >= amount, "ERC1155: insufficient balance");
        balances[id][from] -= amount;
        balances[id][to] += amount;
        emit TransferSingle(msg.sender, from, to, id, amount);
        if (to.code.length > 0) {
            require(
                IERC1155ReceiverMin(to).onERC1155Received(msg.sender, from, id, amount, data) == 0xf23a6e61,
                "ERC1155: receiver refused"
            );
        }
    }
}
