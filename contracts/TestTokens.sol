// SPDX-License-Identifier: MIT
pragma solidity ^0.8.22;

/// Test stand-ins on anvil: TestCollateral (an ERC-20 with 6 decimals standing in for pUSD) and
/// TestOutcomes (a minimal ERC-1155 with the ConditionalTokens surface the custody contracts use: transfers and
/// `redeemPositions`; a condition's position ids and payouts are set by the minter, and its payouts are paid
/// from the collateral the contract holds).

interface IERC1155ReceiverMin {
    function onERC1155Received(address operator, address from, uint256 id, uint256 value, bytes calldata data)
        external
        returns (bytes4);
}

contract TestCollateral {
    string public constant name = "Test pUSD";
    string public constant symbol = "pUSD";
    uint8 public constant decimals = 6;
    address public immutable minter;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() {
        minter = msg.sender;
    }

    function mint(address to, uint256 amount) external {
        require(msg.sender == minter, "ERC20: not minter");
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

    function _move(address from, address to, uint256 amount) internal {
        require(to != address(0), "ERC20: zero recipient");
        require(balanceOf[from] >= amount, "ERC20: insufficient balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

interface IERC20Pay {
    function transfer(address to, uint256 amount) external returns (bool);
}

contract TestOutcomes {
    address public immutable minter;
    mapping(uint256 => mapping(address => uint256)) internal balances;
    mapping(address => mapping(address => bool)) public isApprovedForAll;
    mapping(uint256 => uint256) public totalSupply;
    mapping(bytes32 => uint256[]) internal positions; // condition -> position id per outcome slot
    mapping(bytes32 => uint256[]) internal payouts; // condition -> payout numerator per outcome slot

    event PayoutRedemption(
        address indexed redeemer,
        address indexed collateralToken,
        bytes32 indexed parentCollectionId,
        bytes32 conditionId,
        uint256[] indexSets,
        uint256 payout
    );

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
        totalSupply[id] += amount;
        emit TransferSingle(msg.sender, address(0), to, id, amount);
    }

    /// The minter names a condition's position ids (outcome slot i is index set 1 << i) ...
    function setCondition(bytes32 conditionId, uint256[] calldata positionIds) external {
        require(msg.sender == minter, "ERC1155: not minter");
        positions[conditionId] = positionIds;
    }

    /// ... and resolves it (ConditionalTokens.reportPayouts' numerators).
    function reportPayouts(bytes32 conditionId, uint256[] calldata numerators) external {
        require(msg.sender == minter, "ERC1155: not minter");
        require(numerators.length == positions[conditionId].length, "CTF: wrong outcome count");
        payouts[conditionId] = numerators;
    }

    /// ConditionalTokens.redeemPositions for singleton index sets: the caller's positions burnt, the payout
    /// (shares times numerator over the numerators' sum) paid to the caller in `collateral`.
    function redeemPositions(address collateral, bytes32, bytes32 conditionId, uint256[] calldata indexSets)
        external
    {
        uint256[] storage num = payouts[conditionId];
        require(num.length > 0, "CTF: result for condition not received yet");
        uint256 den = 0;
        for (uint256 i = 0; i < num.length; i++) {
            den += num[i];
        }
        uint256 total = 0;
        for (uint256 k = 0; k < indexSets.length; k++) {
            for (uint256 i = 0; i < num.length; i++) {
                if (indexSets[k] != (1 << i)) continue;
                uint256 id = positions[conditionId][i];
                uint256 held = balances[id][msg.sender];
                if (held == 0) continue;
                balances[id][msg.sender] = 0;
                totalSupply[id] -= held;
                total += held * num[i] / den;
                emit TransferSingle(msg.sender, msg.sender, address(0), id, held);
            }
        }
        if (total > 0) {
            require(IERC20Pay(collateral).transfer(msg.sender, total), "CTF: payout failed");
        }
        emit PayoutRedemption(msg.sender, collateral, bytes32(0), conditionId, indexSets, total);
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
